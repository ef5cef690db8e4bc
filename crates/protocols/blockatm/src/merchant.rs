//! A core merchant as BlockATM sees it: its numeric ids, its credentials for the front door,
//! and its options under `settings["blockatm"]` (absent = spec defaults).
//!
//! Options (all optional): `webhook_scheme` (`"V2"` default, or `"V1"`: ECDSA with the platform
//! key), `payment_notify_url`, `payout_notify_url` (7.2; default the payment URL, then the
//! merchant's notify URL), `merchant_id`, `contract_id` (section 8 ids; defaults below), `logo`
//! (E6), `payout_fee`, `payout_gas_amount` (decimal text, default 0, informational),
//! `confirmation_delay_ms` (section 8: a paid order is PENDING this long before SUCCESS; 5000).

use crate::amount::Amount;
use crate::inbound::Credentials;
use crate::sign::{EcPublicKey, Scheme};
use polypay_core::Merchant;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The merchant's BlockATM options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub webhook_scheme: Scheme,
    pub payment_notify_url: Option<String>,
    pub payout_notify_url: Option<String>,
    pub merchant_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub logo: Option<String>,
    pub payout_fee: Amount,
    pub payout_gas_amount: Amount,
    pub confirmation_delay_ms: i64,
}

/// Section 8's default confirmation delay.
pub const CONFIRMATION_DELAY_MS: i64 = 5_000;

impl Settings {
    pub fn of(merchant: &Merchant) -> Settings {
        let s = merchant.settings.get("blockatm").unwrap_or(&Value::Null);
        let text = |name: &str| {
            s.get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let id = |name: &str| match s.get(name) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(t)) => t.parse().ok(),
            _ => None,
        };
        let amount = |name: &str| {
            text(name)
                .and_then(|t| Amount::parse(&t).ok())
                .unwrap_or_default()
        };
        let v1 = text("webhook_scheme").is_some_and(|v| v.eq_ignore_ascii_case("V1"));
        Settings {
            webhook_scheme: if v1 { Scheme::V1Ecdsa } else { Scheme::V2Hmac },
            payment_notify_url: text("payment_notify_url"),
            payout_notify_url: text("payout_notify_url"),
            merchant_id: id("merchant_id"),
            contract_id: id("contract_id"),
            logo: text("logo"),
            payout_fee: amount("payout_fee"),
            payout_gas_amount: amount("payout_gas_amount"),
            confirmation_delay_ms: s
                .get("confirmation_delay_ms")
                .and_then(Value::as_i64)
                .filter(|ms| *ms >= 0)
                .unwrap_or(CONFIRMATION_DELAY_MS),
        }
    }
}

impl Settings {
    /// Checks a new `settings["blockatm"]` block strictly, before it is stored (the admin API
    /// and CLI): every option [`Settings::of`] reads, in the shape it reads it.
    pub fn check(value: &Value) -> Result<(), String> {
        use polypay_core::settings::{SettingsCheck, int_at_least, is_http_url};
        let positive_id = |v: &Value| match v {
            Value::Number(n) => n.as_i64().is_some_and(|n| n > 0),
            Value::String(t) => {
                t.bytes().all(|b| b.is_ascii_digit()) && t.parse::<i64>().is_ok_and(|n| n > 0)
            }
            _ => false,
        };
        let amount = |v: &Value| v.as_str().is_some_and(|t| Amount::parse(t).is_ok());
        let amount_takes = "a decimal amount as a string, e.g. \"0.5\" (at most 6 decimals)";
        SettingsCheck::new(value)
            .option("webhook_scheme", "\"V1\" or \"V2\"", |v| {
                v.as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("V1") || t.eq_ignore_ascii_case("V2"))
            })
            .option("payment_notify_url", "an http(s) URL", is_http_url)
            .option("payout_notify_url", "an http(s) URL", is_http_url)
            .option("merchant_id", "a positive integer", positive_id)
            .option("contract_id", "a positive integer", positive_id)
            .option("logo", "a non-empty string", |v| {
                v.as_str().is_some_and(|t| !t.is_empty())
            })
            .option("payout_fee", amount_takes, amount)
            .option("payout_gas_amount", amount_takes, amount)
            .option("confirmation_delay_ms", "an integer >= 0", int_at_least(0))
            .finish()
    }
}

/// The integer ids BlockATM shows (section 8: set at onboarding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    /// Core credentials' `cashier_id` (digits); a hash of it if it is not an integer.
    pub cashier_id: i64,
    /// `settings.blockatm.merchant_id`, else `2` followed by the cashier id's digits.
    pub merchant_id: i64,
    /// `settings.blockatm.contract_id`, else `3` followed by the cashier id's digits.
    pub contract_id: i64,
}

impl Numbers {
    pub fn of(merchant: &Merchant) -> Numbers {
        let settings = Settings::of(merchant);
        let cashier_id = cashier_id(&merchant.credentials.blockatm.cashier_id);
        let prefixed = |p: char| format!("{p}{cashier_id}").parse().unwrap_or(cashier_id);
        Numbers {
            cashier_id,
            merchant_id: settings.merchant_id.unwrap_or_else(|| prefixed('2')),
            contract_id: settings.contract_id.unwrap_or_else(|| prefixed('3')),
        }
    }
}

fn cashier_id(text: &str) -> i64 {
    match text.parse::<i64>() {
        Ok(id) if id > 0 && id < 1_000_000_000_000 => id,
        _ => {
            let digest = Sha256::digest(text.as_bytes());
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&digest[..8]);
            (u64::from_be_bytes(eight) % 90_000_000 + 10_000_000) as i64
        }
    }
}

/// The front door's view of the merchant's key. An unparsable registered EC key is dropped
/// (V1 requests then fail as "no V1 public key registered") and logged without its value.
pub fn credentials(merchant: &Merchant) -> Credentials {
    let c = &merchant.credentials.blockatm;
    let numbers = Numbers::of(merchant);
    let ec_public_key = c
        .ec_public_key
        .as_deref()
        .and_then(|text| match EcPublicKey::parse(text) {
            Ok(key) => Some(key),
            Err(_) => {
                tracing::warn!(merchant = %merchant.id, "blockatm: registered EC key does not parse");
                None
            }
        });
    Credentials {
        api_key: c.api_key.clone(),
        secret_key: c.secret_key.expose().to_owned(),
        merchant_id: numbers.merchant_id,
        cashier_id: numbers.cashier_id,
        ec_public_key,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_settings_are_checked_strictly() {
        let all = serde_json::json!({"webhook_scheme": "v1",
            "payment_notify_url": "https://shop.example/pay", "payout_notify_url": null,
            "merchant_id": "2001", "contract_id": 3001, "logo": "https://shop.example/l.png",
            "payout_fee": "0.5", "payout_gas_amount": "1"});
        assert_eq!(Settings::check(&all), Ok(()));
        let err = Settings::check(&serde_json::json!({"webhook_scheme": "V3",
            "payment_notify_url": "shop.example", "merchant_id": "12a", "contract_id": -3,
            "payout_fee": 0.5, "payout_gas_amount": "0.0000001"}))
        .unwrap_err();
        for problem in [
            "webhook_scheme must be \"V1\" or \"V2\" (got \"V3\")",
            "payment_notify_url must be an http(s) URL (got \"shop.example\")",
            "merchant_id must be a positive integer (got \"12a\")",
            "contract_id must be a positive integer (got -3)",
            "payout_fee must be a decimal amount as a string, e.g. \"0.5\" (at most 6 decimals) (got 0.5)",
            "payout_gas_amount must be a decimal amount",
        ] {
            assert!(err.contains(problem), "{problem} not in {err}");
        }
    }

    use super::*;

    #[test]
    fn ids_and_defaults() {
        assert_eq!(cashier_id("86100021"), 86_100_021);
        let hashed = cashier_id("not-digits");
        assert!((10_000_000..100_000_000).contains(&hashed));
        assert_eq!(hashed, cashier_id("not-digits"));
    }
}
