//! Field formats of spec 5 (amounts, order numbers, URLs, IPv4, times) and a reader that pulls
//! typed values out of a [`Params`] map, answering with the spec's `<name> is required` /
//! `<name> is invalid` errors.

use crate::envelope::ApiError;
use crate::params::Params;
use std::net::Ipv4Addr;

/// Maximum length (characters) of an order number.
pub const ORDER_NO_MAX: usize = 64;
/// Maximum length (characters) of a URL.
pub const URL_MAX: usize = 512;

/// A positive integer written as plain digits: no sign, no leading zero, ≥ 1, fits i64.
/// `8.0`, `"8.50"`, `-1`, `08`, `0` are all rejected — never rounded.
pub fn parse_amount(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes[0] == b'0' || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.parse::<i64>().ok()
}

/// A received `reqTime`: 10 digits are seconds, 13 digits milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReqTime {
    pub millis: i64,
}

pub fn parse_req_time(text: &str) -> Option<ReqTime> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok()?;
    match text.len() {
        10 => n.checked_mul(1000).map(|millis| ReqTime { millis }),
        13 => Some(ReqTime { millis: n }),
        _ => None,
    }
}

/// A 13-digit millisecond time (`registerTime`).
pub fn parse_ms_time(text: &str) -> Option<i64> {
    (text.len() == 13 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `http://` or `https://` prefix (literal, as upstream checks it), at most 512 characters, and
/// no control characters (polypay decision: a CR or LF could never be a redirect's `Location`
/// nor a callback's URL).
pub fn is_url(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://"))
        && text.chars().count() <= URL_MAX
        && !text.chars().any(char::is_control)
}

/// Dotted-quad IPv4 (std's parser: four decimal octets, no leading zeros).
pub fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    text.parse().ok()
}

/// Whether the request time is within `window_secs` of `now` (both directions).
pub fn req_time_fresh(req: ReqTime, now: jiff::Timestamp, window_secs: u64) -> bool {
    let diff = i128::from(now.as_millisecond()) - i128::from(req.millis);
    diff.unsigned_abs() <= u128::from(window_secs) * 1000
}

/// Pulls typed fields out of a parameter map. Empty strings count as absent.
pub struct FieldReader<'a> {
    params: &'a Params,
}

impl<'a> FieldReader<'a> {
    pub fn new(params: &'a Params) -> Self {
        FieldReader { params }
    }

    /// A scalar text field; objects/arrays are `invalid` (only `channelExtra` may be JSON), and
    /// so is text holding a NUL character (a polypay decision: PostgreSQL's text cannot store
    /// one, and both backends answer alike).
    pub fn opt_str(&self, name: &'static str) -> Result<Option<&'a str>, ApiError> {
        match self.params.get(name).filter(|p| !p.text.is_empty()) {
            None => Ok(None),
            Some(p) if p.kind.is_structured() || p.text.contains('\0') => {
                Err(ApiError::Invalid(name))
            }
            Some(p) => Ok(Some(p.text.as_str())),
        }
    }

    pub fn str(&self, name: &'static str) -> Result<&'a str, ApiError> {
        self.opt_str(name)?.ok_or(ApiError::Required(name))
    }

    /// A text field of at most `max` characters.
    pub fn opt_str_max(&self, name: &'static str, max: usize) -> Result<Option<String>, ApiError> {
        match self.opt_str(name)? {
            Some(t) if t.chars().count() > max => Err(ApiError::Invalid(name)),
            other => Ok(other.map(str::to_owned)),
        }
    }

    pub fn str_max(&self, name: &'static str, max: usize) -> Result<String, ApiError> {
        self.opt_str_max(name, max)?.ok_or(ApiError::Required(name))
    }

    /// Required when `required`, else optional — for the v1.1 fields `lenient_v10` relaxes.
    pub fn str_max_if(
        &self,
        name: &'static str,
        max: usize,
        required: bool,
    ) -> Result<Option<String>, ApiError> {
        let value = self.opt_str_max(name, max)?;
        if required && value.is_none() {
            return Err(ApiError::Required(name));
        }
        Ok(value)
    }

    /// An order number: 1–64 characters.
    pub fn order_no(&self, name: &'static str) -> Result<String, ApiError> {
        self.str_max(name, ORDER_NO_MAX)
    }

    pub fn amount(&self, name: &'static str) -> Result<i64, ApiError> {
        parse_amount(self.str(name)?).ok_or(ApiError::Invalid(name))
    }

    pub fn opt_positive_int(&self, name: &'static str) -> Result<Option<i64>, ApiError> {
        self.opt_str(name)?
            .map(|t| parse_amount(t).ok_or(ApiError::Invalid(name)))
            .transpose()
    }

    pub fn opt_url(&self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.opt_str(name)? {
            Some(t) if !is_url(t) => Err(ApiError::Invalid(name)),
            other => Ok(other.map(str::to_owned)),
        }
    }

    pub fn ipv4_if(
        &self,
        name: &'static str,
        required: bool,
    ) -> Result<Option<Ipv4Addr>, ApiError> {
        match self.opt_str(name)? {
            None if required => Err(ApiError::Required(name)),
            None => Ok(None),
            Some(t) => parse_ipv4(t).map(Some).ok_or(ApiError::Invalid(name)),
        }
    }

    pub fn ms_time_if(&self, name: &'static str, required: bool) -> Result<Option<i64>, ApiError> {
        match self.opt_str(name)? {
            None if required => Err(ApiError::Required(name)),
            None => Ok(None),
            Some(t) => parse_ms_time(t).map(Some).ok_or(ApiError::Invalid(name)),
        }
    }

    /// JSON text that must be an object: accepted as a JSON string holding an object or as an
    /// object itself (its raw bytes are what was signed; [`Self::opt_raw`] returns them).
    pub fn opt_json_object(
        &self,
        name: &'static str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ApiError> {
        let Some(text) = self.params.text(name) else {
            return Ok(None);
        };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
            _ => Err(ApiError::Invalid(name)),
        }
    }

    /// Raw text of a field kept as-is (signed, stored, not interpreted).
    pub fn opt_raw(&self, name: &'static str) -> Option<String> {
        self.params.text(name).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("100"), Some(100));
        assert_eq!(parse_amount("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "0",
            "08",
            "8.0",
            "8.50",
            "-1",
            "+1",
            "1e3",
            " 1",
            "9223372036854775808",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn req_times() {
        assert_eq!(
            parse_req_time("1622016572190"),
            Some(ReqTime {
                millis: 1622016572190
            })
        );
        assert_eq!(
            parse_req_time("1622016572"),
            Some(ReqTime {
                millis: 1622016572000
            })
        );
        for bad in [
            "",
            "162201657219",
            "16220165721900",
            "-622016572",
            "16220165721.0",
        ] {
            assert_eq!(parse_req_time(bad), None, "{bad}");
        }
        let now = jiff::Timestamp::from_millisecond(1622016572190 + 300_000).unwrap();
        assert!(req_time_fresh(
            ReqTime {
                millis: 1622016572190
            },
            now,
            300
        ));
        assert!(!req_time_fresh(
            ReqTime {
                millis: 1622016572189
            },
            now,
            300
        ));
        let before = jiff::Timestamp::from_millisecond(1622016572190 - 300_001).unwrap();
        assert!(!req_time_fresh(
            ReqTime {
                millis: 1622016572190
            },
            before,
            300
        ));
    }

    #[test]
    fn urls_and_ips() {
        assert!(is_url("https://a.example/n"));
        assert!(is_url("http://x"));
        assert!(!is_url("https://a.example/n\r\nSet-Cookie: x=1"));
        assert!(!is_url("https://a.example/\tn"));
        assert!(!is_url("ftp://x"));
        assert!(!is_url("HTTPS://x"));
        assert!(!is_url(&format!("https://{}", "a".repeat(505))));
        assert!(is_url(&format!("https://{}", "a".repeat(504))));
        assert!(parse_ipv4("210.73.10.148").is_some());
        for bad in ["210.73.10", "256.1.1.1", "::1", "01.2.3.4", "1.2.3.4 "] {
            assert!(parse_ipv4(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_ms_time("1622016572190"), Some(1622016572190));
        assert_eq!(parse_ms_time("1622016572"), None);
    }
}
