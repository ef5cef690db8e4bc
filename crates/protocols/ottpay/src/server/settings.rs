//! Per-merchant OTT Pay options, read from `merchant.settings["ottpay"]` (absent = spec defaults):
//!
//! ```json
//! {"currencies": ["CAD","USD","CNY"], "default_currency": "CAD", "operator_ids": null,
//!  "time_zone": "Asia/Shanghai", "payment_lifetime_seconds": 7200,
//!  "exchange_rates": {"CAD": 505703000, "USD": 710000000, "CNY": 100000000},
//!  "refund_delay_seconds": 0}
//! ```
//!
//! A malformed option falls back to its default (with a warning) rather than locking the
//! merchant out: the settings are operator-written, not request input.

use crate::inbound::Credentials;
use crate::sign::SignKey;
use crate::wire::{Currency, DEFAULT_TIME_ZONE, RateTable};
use jiff::tz::TimeZone;
use polypay_core::{Merchant, Protocol};
use serde_json::Value;

/// ACTIVEPAY/H5PAY payment lifetime when the merchant sets none (spec §8): 2 h.
pub const DEFAULT_PAYMENT_LIFETIME_SECS: i64 = 2 * 60 * 60;

/// Every option of one merchant, resolved.
#[derive(Debug, Clone)]
pub struct MerchantSettings {
    pub currencies: Vec<Currency>,
    pub default_currency: Currency,
    pub operator_ids: Option<Vec<String>>,
    /// IANA name, as H5PAY's `time_zone_id` shows it.
    pub time_zone_id: String,
    pub time_zone: TimeZone,
    pub payment_lifetime_secs: i64,
    pub rates: RateTable,
    /// 0: sandbox refunds succeed at once; otherwise they stay pending for the sandbox API.
    pub refund_delay_secs: i64,
}

impl MerchantSettings {
    /// The options of `merchant`; anything absent or malformed takes the spec default.
    pub fn of(merchant: &Merchant) -> MerchantSettings {
        let raw = merchant
            .settings
            .get(Protocol::Ottpay.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        let (time_zone_id, time_zone) = time_zone(raw.get("time_zone"));
        MerchantSettings {
            currencies: currencies(raw.get("currencies")),
            default_currency: one_currency(raw.get("default_currency")).unwrap_or(Currency::Cad),
            operator_ids: operator_ids(raw.get("operator_ids")),
            time_zone_id,
            time_zone,
            payment_lifetime_secs: positive(raw.get("payment_lifetime_seconds"))
                .unwrap_or(DEFAULT_PAYMENT_LIFETIME_SECS),
            rates: rates(raw.get("exchange_rates")),
            refund_delay_secs: raw
                .get("refund_delay_seconds")
                .and_then(Value::as_i64)
                .filter(|s| *s >= 0)
                .unwrap_or(0),
        }
    }

    /// Checks a new `settings["ottpay"]` block strictly, before it is stored (the admin API and
    /// CLI): every option [`MerchantSettings::of`] reads, in the shape it reads it (where that
    /// reader would fall back to the default, this refuses the value).
    pub fn check(value: &Value) -> Result<(), String> {
        use polypay_core::settings::{SettingsCheck, int_at_least, non_empty_array_of};
        let code = |v: &Value| v.as_str().and_then(Currency::parse).is_some();
        let codes: Vec<&str> = Currency::ALL.iter().map(|c| c.as_str()).collect();
        let one_of = format!("one of {}", codes.join(", "));
        let list_of = format!("a non-empty array of {}", codes.join(", "));
        let listed = value.get("currencies").and_then(Value::as_array);
        let default = value.get("default_currency").and_then(Value::as_str);
        let unlisted = match (listed, default) {
            (Some(list), Some(d)) if list.iter().all(code) && Currency::parse(d).is_some() => {
                (!list.iter().any(|c| c.as_str() == Some(d)))
                    .then(|| format!("default_currency {d} must be one of currencies"))
            }
            _ => None,
        };
        SettingsCheck::new(value)
            .option("currencies", &list_of, non_empty_array_of(code))
            .option("default_currency", &one_of, code)
            .option(
                "operator_ids",
                "an array of operator id strings, or null",
                |v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            )
            .option(
                "time_zone",
                "an IANA time zone name, e.g. \"Asia/Shanghai\"",
                |v| v.as_str().is_some_and(|name| TimeZone::get(name).is_ok()),
            )
            .option(
                "payment_lifetime_seconds",
                "an integer > 0",
                int_at_least(1),
            )
            .option(
                "exchange_rates",
                &format!(
                    "an object from currency ({}) to a rate > 0",
                    codes.join(", ")
                ),
                |v| {
                    v.as_object().is_some_and(|m| {
                        m.iter().all(|(c, r)| {
                            Currency::parse(c).is_some() && r.as_u64().is_some_and(|r| r > 0)
                        })
                    })
                },
            )
            .option("refund_delay_seconds", "an integer >= 0", int_at_least(0))
            .rule(unlisted)
            .finish()
    }

    /// What the inbound validation needs: the merchant's issued credentials plus these options.
    pub fn credentials(&self, merchant: &Merchant) -> Credentials {
        let ott = &merchant.credentials.ottpay;
        Credentials {
            merchant_id: ott.merchant_id.clone(),
            sign_key: SignKey::new(ott.sign_key.expose()),
            currencies: self.currencies.clone(),
            default_currency: self.default_currency,
            operator_ids: self.operator_ids.clone(),
        }
    }
}

fn warn(option: &str) {
    tracing::warn!(
        option,
        "ottpay: malformed merchant setting, using the default"
    );
}

fn one_currency(value: Option<&Value>) -> Option<Currency> {
    let text = value?.as_str();
    let parsed = text.and_then(Currency::parse);
    if parsed.is_none() {
        warn("currency");
    }
    parsed
}

fn currencies(value: Option<&Value>) -> Vec<Currency> {
    let Some(value) = value else {
        return Currency::ALL.to_vec();
    };
    let parsed: Option<Vec<Currency>> = value.as_array().and_then(|list| {
        list.iter()
            .map(|v| v.as_str().and_then(Currency::parse))
            .collect()
    });
    parsed.unwrap_or_else(|| {
        warn("currencies");
        Currency::ALL.to_vec()
    })
}

fn operator_ids(value: Option<&Value>) -> Option<Vec<String>> {
    let value = value.filter(|v| !v.is_null())?;
    let parsed: Option<Vec<String>> = value
        .as_array()
        .and_then(|list| list.iter().map(|v| v.as_str().map(str::to_owned)).collect());
    if parsed.is_none() {
        warn("operator_ids");
    }
    parsed
}

fn time_zone(value: Option<&Value>) -> (String, TimeZone) {
    let named = value.and_then(Value::as_str).and_then(|name| {
        let tz = TimeZone::get(name).ok();
        if tz.is_none() {
            warn("time_zone");
        }
        tz.map(|tz| (name.to_owned(), tz))
    });
    named.unwrap_or_else(|| {
        // The bundled tzdb always has Asia/Shanghai; UTC+8 (no DST there) is the same clock.
        let tz = TimeZone::get(DEFAULT_TIME_ZONE)
            .unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)));
        (DEFAULT_TIME_ZONE.to_owned(), tz)
    })
}

fn positive(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64).filter(|s| *s > 0)
}

fn rates(value: Option<&Value>) -> RateTable {
    let Some(map) = value.and_then(Value::as_object) else {
        if value.is_some() {
            warn("exchange_rates");
        }
        return RateTable::default();
    };
    let parsed: Option<Vec<(String, u64)>> = map
        .iter()
        .map(|(code, rate)| rate.as_u64().map(|r| (code.clone(), r)))
        .collect();
    parsed.map(RateTable::new).unwrap_or_else(|| {
        warn("exchange_rates");
        RateTable::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_settings_are_checked_strictly() {
        let all = json!({"currencies": ["CAD", "USD"], "default_currency": "USD",
            "operator_ids": ["1", "2"], "time_zone": "America/Toronto",
            "payment_lifetime_seconds": 600, "exchange_rates": {"CAD": 505703000},
            "refund_delay_seconds": 3});
        assert_eq!(MerchantSettings::check(&all), Ok(()));
        assert_eq!(
            MerchantSettings::check(&json!({"operator_ids": null})),
            Ok(())
        );
        let err =
            MerchantSettings::check(&json!({"currencies": ["CAD"], "default_currency": "USD",
            "time_zone": "Mars/Base", "exchange_rates": {"XXX": 1}, "refund_delay_seconds": -1}))
            .unwrap_err();
        for problem in [
            "time_zone must be an IANA time zone name",
            "exchange_rates must be an object from currency",
            "refund_delay_seconds must be an integer >= 0 (got -1)",
            "default_currency USD must be one of currencies",
        ] {
            assert!(err.contains(problem), "{problem} not in {err}");
        }
        let err = MerchantSettings::check(&json!({"currencies": "CAD"})).unwrap_err();
        assert!(
            err.starts_with("currencies must be a non-empty array of CAD, "),
            "{err}"
        );
    }
}
