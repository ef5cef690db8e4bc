//! Typed reads of one JSON object's fields, each failure a PARAM_ERROR naming the field by its
//! dotted path (`payer.userId`).

use super::CurrencyRule;
use crate::envelope::ApiError;
use serde_json::{Map, Value};

/// Longest `notifyUrl` / `returnUrl` (§5.1).
const MAX_URL: usize = 255;

pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            map,
            prefix: String::new(),
        }
    }

    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub fn error(&self, key: &str, reason: &str) -> ApiError {
        ApiError::param(&self.name(key), reason)
    }

    /// The value of `key`; JSON `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    /// A required string of `min..=max` characters.
    pub fn req_text(&self, key: &str, min: usize, max: usize) -> Result<&'a str, ApiError> {
        let text = self
            .string(key)?
            .ok_or_else(|| self.error(key, "is required"))?;
        let len = text.chars().count();
        if len < min || len > max {
            return Err(self.error(key, &format!("must be {min}-{max} characters")));
        }
        Ok(text)
    }

    /// An optional string of at most `max` characters; empty counts as absent.
    pub fn opt_text(&self, key: &str, max: usize) -> Result<Option<&'a str>, ApiError> {
        match self.string(key)? {
            Some("") | None => Ok(None),
            Some(text) if text.chars().count() > max => {
                Err(self.error(key, &format!("must be at most {max} characters")))
            }
            Some(text) => Ok(Some(text)),
        }
    }

    pub fn opt_owned(&self, key: &str, max: usize) -> Result<Option<String>, ApiError> {
        Ok(self.opt_text(key, max)?.map(str::to_owned))
    }

    /// A merchant order number: 1–50 printable ASCII characters (§5.1).
    pub fn trade_no(&self, key: &str) -> Result<String, ApiError> {
        let text = self.req_text(key, 1, 50)?;
        self.printable(key, text)
    }

    pub fn opt_trade_no(&self, key: &str) -> Result<Option<String>, ApiError> {
        self.opt_text(key, 50)?
            .map(|t| self.printable(key, t))
            .transpose()
    }

    fn printable(&self, key: &str, text: &str) -> Result<String, ApiError> {
        if text.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            Ok(text.to_owned())
        } else {
            Err(self.error(key, "must be printable ASCII without spaces"))
        }
    }

    /// A polypay number (`paymentNo`, `payoutNo`, `refundNo`): 1–32 `[A-Za-z0-9]`.
    pub fn opt_number(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.opt_text(key, 32)? {
            Some(t) if t.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(Some(t.to_owned())),
            Some(_) => Err(self.error(key, "must be letters and digits only")),
            None => Ok(None),
        }
    }

    /// The required `currency`, which must be enabled for the merchant.
    pub fn currency<'c>(
        &self,
        currencies: &'c [CurrencyRule],
    ) -> Result<&'c CurrencyRule, ApiError> {
        let code = self.req_text("currency", 1, 16)?;
        self.currency_rule(code, currencies)
    }

    pub fn currency_rule<'c>(
        &self,
        code: &str,
        currencies: &'c [CurrencyRule],
    ) -> Result<&'c CurrencyRule, ApiError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(self.error("currency", "must be an upper-case ISO 4217 code"));
        }
        currencies
            .iter()
            .find(|c| c.code == code)
            .ok_or_else(|| self.error("currency", "is not enabled for this merchant"))
    }

    /// A required nested object.
    pub fn object(&self, key: &str) -> Result<Obj<'a>, ApiError> {
        self.opt_object(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj {
                map,
                prefix: self.name(key),
            })),
            Some(_) => Err(self.error(key, "must be an object")),
        }
    }

    /// A required absolute http(s) URL of at most 255 characters.
    pub fn url(&self, key: &str) -> Result<String, ApiError> {
        self.opt_url(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    pub fn opt_url(&self, key: &str) -> Result<Option<String>, ApiError> {
        let Some(text) = self.opt_text(key, MAX_URL)? else {
            return Ok(None);
        };
        if is_http_url(text) {
            Ok(Some(text.to_owned()))
        } else {
            Err(self.error(key, "must be an absolute http or https URL"))
        }
    }
}

/// Absolute, `http`/`https`, with a host, and no whitespace or control characters (which a URL
/// parser would silently strip or escape, so the stored URL would not be the one called).
pub(crate) fn is_http_url(text: &str) -> bool {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match reqwest::Url::parse(text) {
        Ok(url) => {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}
