//! A merchant application's credentials and per-merchant protocol settings, with a Debug that
//! never shows the secret.

use crate::wire::NotifyFormat;
use std::fmt;

/// An `appSecret` (the docs' "private key"). Debug and Display are redacted; use
/// [`AppSecret::expose`] only where the secret goes into a signature.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret(String);

impl AppSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        AppSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(<redacted>)")
    }
}

impl fmt::Display for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Per-merchant options the spec leaves to polypay [D].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSettings {
    /// Makes `custNo`, `registerTime`, `clientIp` optional for pre-v1.1 Jeepay clients.
    pub lenient_v10: bool,
    /// Rejects requests whose `reqTime` is more than `req_time_window_secs` from now.
    pub enforce_req_time: bool,
    pub req_time_window_secs: u64,
    /// Encoding of asynchronous notifications.
    pub notify_format: NotifyFormat,
    /// Requests per minute per endpoint; `None` = unlimited (the default). Enforced by the
    /// server, which owns the counters; this crate only renders the 429.
    pub rate_limit_per_minute: Option<u32>,
}

impl Default for MerchantSettings {
    fn default() -> Self {
        MerchantSettings {
            lenient_v10: false,
            enforce_req_time: false,
            req_time_window_secs: 300,
            notify_format: NotifyFormat::Form,
            rate_limit_per_minute: None,
        }
    }
}

impl MerchantSettings {
    /// Reads `merchant.settings["passtopay"]`: `lenient_v10`, `enforce_req_time`,
    /// `req_time_window_secs`, `notify_format` (`form`/`query`/`json`), `rate_limit_per_minute`.
    /// Absent or malformed members keep the spec default (an operator typo never locks a
    /// merchant out).
    pub fn from_json(value: &serde_json::Value) -> Self {
        let defaults = MerchantSettings::default();
        let flag = |name: &str, default: bool| {
            value.get(name).and_then(|v| v.as_bool()).unwrap_or(default)
        };
        let notify_format = value
            .get("notify_format")
            .and_then(|v| v.as_str())
            .and_then(NotifyFormat::parse)
            .unwrap_or(defaults.notify_format);
        MerchantSettings {
            lenient_v10: flag("lenient_v10", defaults.lenient_v10),
            enforce_req_time: flag("enforce_req_time", defaults.enforce_req_time),
            req_time_window_secs: value
                .get("req_time_window_secs")
                .and_then(|v| v.as_u64())
                .unwrap_or(defaults.req_time_window_secs),
            notify_format,
            rate_limit_per_minute: value
                .get("rate_limit_per_minute")
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0),
        }
    }

    /// Checks a new `settings["passtopay"]` block strictly, before it is stored (the admin API
    /// and CLI): every option [`MerchantSettings::from_json`] reads, in the shape it reads it.
    pub fn check(value: &serde_json::Value) -> Result<(), String> {
        use polypay_core::settings::{SettingsCheck, int_at_least, is_bool};
        SettingsCheck::new(value)
            .option("lenient_v10", "true or false", is_bool)
            .option("enforce_req_time", "true or false", is_bool)
            .option("req_time_window_secs", "an integer > 0", int_at_least(1))
            .option("notify_format", "\"form\", \"query\" or \"json\"", |v| {
                v.as_str().and_then(NotifyFormat::parse).is_some()
            })
            .option(
                "rate_limit_per_minute",
                "an integer from 1 to 4294967295",
                |v| {
                    v.as_u64()
                        .is_some_and(|n| n > 0 && u32::try_from(n).is_ok())
                },
            )
            .finish()
    }

    /// The settings of a core merchant (`settings["passtopay"]`, absent = defaults).
    pub fn of_merchant(merchant: &polypay_core::Merchant) -> Self {
        match merchant.settings.get("passtopay") {
            Some(v) => MerchantSettings::from_json(v),
            None => MerchantSettings::default(),
        }
    }
}

/// One application of a merchant: what a request's `mchNo` + `appId` resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub mch_no: String,
    pub app_id: String,
    pub app_secret: AppSecret,
    pub settings: MerchantSettings,
}

impl Credentials {
    pub fn new(mch_no: impl Into<String>, app_id: impl Into<String>, secret: AppSecret) -> Self {
        Credentials {
            mch_no: mch_no.into(),
            app_id: app_id.into(),
            app_secret: secret,
            settings: MerchantSettings::default(),
        }
    }

    /// The merchant's PassToPay application (polypay issues one per merchant) with its settings.
    pub fn of_merchant(merchant: &polypay_core::Merchant) -> Self {
        let c = &merchant.credentials.passtopay;
        Credentials {
            mch_no: c.mch_no.clone(),
            app_id: c.app_id.clone(),
            app_secret: AppSecret::new(c.app_secret.expose()),
            settings: MerchantSettings::of_merchant(merchant),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_settings_are_checked_and_what_passes_is_read() {
        let all = serde_json::json!({"lenient_v10": true, "enforce_req_time": true,
            "req_time_window_secs": 60, "notify_format": "json", "rate_limit_per_minute": 600});
        assert_eq!(MerchantSettings::check(&all), Ok(()));
        assert_eq!(
            MerchantSettings::from_json(&all),
            MerchantSettings {
                lenient_v10: true,
                enforce_req_time: true,
                req_time_window_secs: 60,
                notify_format: NotifyFormat::Json,
                rate_limit_per_minute: Some(600),
            }
        );
        let err = MerchantSettings::check(&serde_json::json!({"notify_format": "xml",
            "rate_limit_per_minute": 0, "lenientV10": true, "enforce_req_time": null}))
        .unwrap_err();
        assert_eq!(
            err,
            "notify_format must be \"form\", \"query\" or \"json\" (got \"xml\"); \
             rate_limit_per_minute must be an integer from 1 to 4294967295 (got 0); \
             unknown option lenientV10 (options: lenient_v10, enforce_req_time, \
             req_time_window_secs, notify_format, rate_limit_per_minute)"
        );
    }

    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials::new("M1", "A1", AppSecret::new("top-secret-value"));
        let text = format!("{c:?} {} {:?}", c.app_secret, c.app_secret);
        assert!(!text.contains("top-secret-value"), "{text}");
        assert!(text.contains("M1"));
    }

    #[test]
    fn settings_from_json_with_defaults() {
        let s = MerchantSettings::from_json(&serde_json::json!({
            "notify_format": "json", "lenient_v10": true, "rate_limit_per_minute": 5
        }));
        assert_eq!(s.notify_format, NotifyFormat::Json);
        assert!(s.lenient_v10 && !s.enforce_req_time);
        assert_eq!(
            (s.req_time_window_secs, s.rate_limit_per_minute),
            (300, Some(5))
        );
        let junk = MerchantSettings::from_json(&serde_json::json!({"notify_format": 3}));
        assert_eq!(junk, MerchantSettings::default());
    }
}
