//! Per-merchant options of this protocol, read from `merchant.settings["v2sha256"]`; every key is
//! optional and an absent or unusable value means the spec's default:
//!
//! | key | type | default | spec |
//! |---|---|---|---|
//! | `currencies` | array of ISO codes | `["INR"]` | §5.1 currencies enabled for the merchant |
//! | `utc_offset` | `"+hh:mm"` / `"-hh:mm"` | `"+00:00"` | §2 the offset wire times are rendered in |
//! | `payment_ttl_seconds` | integer > 0 | `1800` | §8 payment lifetime (30 min) |
//! | `refund_delay_ms` | integer ≥ 0 | `0` | §8 refund delay; 0 = REFUNDED in the create response |
//! | `time_window` | boolean | `true` | §8 `false` switches the ±5 min timestamp check off |

use crate::inbound::MerchantProfile;
use crate::sign::Credentials;
use crate::validate::CurrencyRule;
use jiff::tz::Offset;
use polypay_core::{Currency, Merchant};
use serde_json::Value;

/// The §8 default payment lifetime.
pub const DEFAULT_PAYMENT_TTL_SECONDS: i64 = 30 * 60;

/// A merchant's options, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub currencies: Vec<CurrencyRule>,
    pub offset: Offset,
    pub payment_ttl_seconds: i64,
    /// 0: the sandbox settles a refund inside refund/create.
    pub refund_delay_ms: i64,
    pub check_time_window: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            currencies: vec![CurrencyRule::new("INR", 2)],
            offset: Offset::UTC,
            payment_ttl_seconds: DEFAULT_PAYMENT_TTL_SECONDS,
            refund_delay_ms: 0,
            check_time_window: true,
        }
    }
}

impl Settings {
    /// The options of `merchant` (its `settings["v2sha256"]` object).
    pub fn of(merchant: &Merchant) -> Settings {
        Settings::from_json(&merchant.settings["v2sha256"])
    }

    /// Parses the protocol's settings object; unusable values keep their defaults.
    pub fn from_json(value: &Value) -> Settings {
        let mut s = Settings::default();
        if let Some(codes) = value["currencies"].as_array() {
            let rules: Vec<CurrencyRule> = codes
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|c| Currency::from_code(c).filter(|k| k.code() == c))
                .map(|c| CurrencyRule::new(c.code(), c.exponent()))
                .collect();
            if !rules.is_empty() {
                s.currencies = rules;
            }
        }
        if let Some(offset) = value["utc_offset"].as_str().and_then(parse_offset) {
            s.offset = offset;
        }
        if let Some(ttl) = value["payment_ttl_seconds"].as_i64().filter(|t| *t > 0) {
            s.payment_ttl_seconds = ttl;
        }
        if let Some(delay) = value["refund_delay_ms"].as_i64().filter(|d| *d >= 0) {
            s.refund_delay_ms = delay;
        }
        if let Some(check) = value["time_window"].as_bool() {
            s.check_time_window = check;
        }
        s
    }

    /// Checks a new `settings["v2sha256"]` block strictly, before it is stored (the admin API
    /// and CLI): every option [`Settings::from_json`] reads, in the shape it reads it (where
    /// that reader would skip a value or fall back to the default, this refuses it).
    pub fn check(value: &Value) -> Result<(), String> {
        use polypay_core::settings::{SettingsCheck, int_at_least, is_bool, non_empty_array_of};
        let code = |v: &Value| {
            v.as_str()
                .is_some_and(|c| Currency::from_code(c).is_some_and(|k| k.code() == c))
        };
        SettingsCheck::new(value)
            .option(
                "currencies",
                "a non-empty array of ISO 4217 codes, e.g. [\"INR\"]",
                non_empty_array_of(code),
            )
            .option("utc_offset", "\"+hh:mm\" or \"-hh:mm\"", |v| {
                v.as_str().and_then(parse_offset).is_some()
            })
            .option("payment_ttl_seconds", "an integer > 0", int_at_least(1))
            .option("refund_delay_ms", "an integer >= 0", int_at_least(0))
            .option("time_window", "true or false", is_bool)
            .finish()
    }

    /// What the pure front door needs to authenticate and validate this merchant's requests.
    pub fn profile(&self, merchant: &Merchant) -> MerchantProfile {
        let c = &merchant.credentials.v2sha256;
        MerchantProfile {
            credentials: Credentials::new(c.app_id.clone(), c.app_secret.expose()),
            currencies: self.currencies.clone(),
            check_time_window: self.check_time_window,
        }
    }
}

/// The protocol credentials of a merchant, as the signing code takes them.
pub fn credentials(merchant: &Merchant) -> Credentials {
    let c = &merchant.credentials.v2sha256;
    Credentials::new(c.app_id.clone(), c.app_secret.expose())
}

/// `+hh:mm` / `-hh:mm` (hours ≤ 23, minutes ≤ 59).
pub fn parse_offset(text: &str) -> Option<Offset> {
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let num = |s: &str| {
        s.parse::<i32>()
            .ok()
            .filter(|_| s.bytes().all(|c| c.is_ascii_digit()))
    };
    let (hh, mm) = (num(text.get(1..3)?)?, num(text.get(4..6)?)?);
    if hh > 23 || mm > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hh * 3600 + mm * 60)).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_settings_are_checked_and_what_passes_is_read() {
        let all = json!({"currencies": ["INR", "USD"], "utc_offset": "+05:30",
            "payment_ttl_seconds": 60, "refund_delay_ms": 5000, "time_window": false});
        assert_eq!(Settings::check(&all), Ok(()));
        let s = Settings::from_json(&all);
        assert_eq!(s.currencies.len(), 2);
        assert_eq!(s.offset, parse_offset("+05:30").unwrap());
        assert_eq!(
            (
                s.payment_ttl_seconds,
                s.refund_delay_ms,
                s.check_time_window
            ),
            (60, 5000, false)
        );
        // What the lenient reader would skip or replace by the default is refused here.
        let err = Settings::check(&json!({"currencies": ["INR", "inr"], "utc_offset": "Z",
            "payment_ttl_seconds": 0, "refund_delay_ms": "0", "time_window": "no"}))
        .unwrap_err();
        assert_eq!(err.matches(" must be ").count(), 5, "{err}");
        assert!(err.starts_with("currencies must be a non-empty array of ISO 4217 codes"));
        assert!(Settings::check(&json!({"currencies": []})).is_err());
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_when_absent_or_unusable() {
        assert_eq!(Settings::from_json(&Value::Null), Settings::default());
        let junk = json!({"currencies": ["XXX", 5], "utc_offset": "Z", "payment_ttl_seconds": -1,
            "refund_delay_ms": "0", "time_window": "no"});
        assert_eq!(Settings::from_json(&junk), Settings::default());
    }

    #[test]
    fn reads_every_key() {
        let s = Settings::from_json(
            &json!({"currencies": ["USD", "INR"], "utc_offset": "+05:30",
            "payment_ttl_seconds": 60, "refund_delay_ms": 5000, "time_window": false}),
        );
        assert_eq!(
            s.currencies,
            [CurrencyRule::new("USD", 2), CurrencyRule::new("INR", 2)]
        );
        assert_eq!(s.offset.seconds(), 5 * 3600 + 1800);
        assert_eq!((s.payment_ttl_seconds, s.refund_delay_ms), (60, 5000));
        assert!(!s.check_time_window);
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("-03:00").map(|o| o.seconds()), Some(-10800));
        assert_eq!(parse_offset("+00:00"), Some(Offset::UTC));
        for bad in [
            "+24:00", "+05:60", "05:30", "+5:30", "+05-30", "+0a:00", "+-1:00",
        ] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }
}
