//! Field readers and format rules of spec section 5, each failing with the section 4 envelope.

use super::ApiError;
use crate::amount::Amount;
use crate::sign::Json;
use crate::sign::widget::url_search_params;

/// Decoded GET parameters (`+` = space); for a repeated name the first occurrence wins.
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        Query {
            pairs: url_search_params(raw.unwrap_or("")),
        }
    }

    /// The value of `name`; an empty value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if v.contains('\0') => Err(ApiError::illegal_parameter(name)),
            Some(v) => Ok(v),
            None => Err(ApiError::missing_parameter(name)),
        }
    }
}

/// A string member: `None` when absent, `null` or `""`; `000102` when not a string.
pub(crate) fn text<'a>(body: &'a Json, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s.is_empty() => Ok(None),
        // A polypay decision (`polypay_core::text`): text holding a NUL is illegal.
        Some(Json::String(s)) if s.contains('\0') => Err(ApiError::illegal_parameter(name)),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::illegal_parameter(name)),
    }
}

/// A required string member (`000103` when absent or empty).
pub(crate) fn required_text<'a>(body: &'a Json, name: &str) -> Result<&'a str, ApiError> {
    text(body, name)?.ok_or_else(|| ApiError::missing_parameter(name))
}

/// An id member written as a JSON integer or a string of digits.
pub(crate) fn id(body: &Json, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s.is_empty() => Ok(None),
        Some(Json::String(s) | Json::Number(s)) => parse_id(s)
            .map(Some)
            .ok_or_else(|| ApiError::illegal_parameter(name)),
        Some(_) => Err(ApiError::illegal_parameter(name)),
    }
}

/// Digits only (no sign, fraction or exponent), fitting an i64.
pub(crate) fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A required positive amount: JSON number or decimal string, at most 6 significant decimals.
pub(crate) fn amount(body: &Json, name: &str) -> Result<Amount, ApiError> {
    let value = match body.get(name) {
        None | Some(Json::Null) => return Err(ApiError::missing_parameter(name)),
        Some(Json::String(s)) if s.is_empty() => return Err(ApiError::missing_parameter(name)),
        Some(value) => value,
    };
    positive_amount(Amount::from_json(value).ok(), name)
}

/// A required positive amount from query text.
pub(crate) fn amount_text(text: &str, name: &str) -> Result<Amount, ApiError> {
    positive_amount(Amount::parse(text).ok(), name)
}

fn positive_amount(amount: Option<Amount>, name: &str) -> Result<Amount, ApiError> {
    amount
        .filter(|a| !a.is_zero())
        .ok_or_else(|| ApiError::illegal_parameter(name))
}

/// An order number: 1–64 characters.
pub(crate) fn order_no(text: &str, name: &str) -> Result<String, ApiError> {
    within(text, 64, name)
}

/// A customer number: 1–64 characters, no `.`.
pub(crate) fn cust_no(text: &str, name: &str) -> Result<String, ApiError> {
    if text.contains('.') {
        return Err(ApiError::illegal_parameter(name));
    }
    within(text, 64, name)
}

/// Text of at most `max` characters.
pub(crate) fn within(text: &str, max: usize, name: &str) -> Result<String, ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::illegal_parameter(name));
    }
    Ok(text.to_owned())
}

/// An absolute `http`/`https` URL with a host and no blanks or control characters.
pub(crate) fn is_http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return false;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    host_end > 0 && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A redirect URL member or parameter.
pub(crate) fn http_url(text: &str, name: &str) -> Result<String, ApiError> {
    if text.len() > 2048 || !is_http_url(text) {
        return Err(ApiError::illegal_parameter(name));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(is_http_url("https://shop.example/return?x=1"));
        assert!(is_http_url("HTTP://shop.example"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("ftp://shop.example"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("https://shop.example/a b"));
    }

    #[test]
    fn query_first_wins_and_empty_is_absent() {
        let q = Query::parse(Some("a=1&a=2&b=&c=x+y%21"));
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), None);
        assert_eq!(q.get("c"), Some("x y!"));
        assert_eq!(q.required("b").unwrap_err().code, "000103");
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("286000260"), Some(286_000_260));
        assert_eq!(parse_id("-1"), None);
        assert_eq!(parse_id("1.0"), None);
        assert_eq!(parse_id("99999999999999999999"), None);
    }
}
