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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials::new("M1", "A1", AppSecret::new("top-secret-value"));
        let text = format!("{c:?} {} {:?}", c.app_secret, c.app_secret);
        assert!(!text.contains("top-secret-value"), "{text}");
        assert!(text.contains("M1"));
    }
}
