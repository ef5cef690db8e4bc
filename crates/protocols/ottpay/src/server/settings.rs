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
