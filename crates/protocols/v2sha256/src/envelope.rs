//! The error envelope of §4: every failure the server can answer, with its HTTP status, `code`
//! and `errorMessage`, and the plain (unsigned) rendering used before authentication succeeds.

use serde::Serialize;
use serde_json::value::RawValue;
use std::fmt;

/// The `Content-Type` of every response and webhook.
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// A rendered HTTP answer: status, headers (name, value) and the exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The `code` values of §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound,
    ParamError,
    Unauthorized,
    DuplicateTradeNo,
    InsufficientBalance,
    StatusError,
    SystemError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ParamError => "PARAM_ERROR",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::DuplicateTradeNo => "DUPLICATE_TRADE_NO",
            ErrorCode::InsufficientBalance => "INSUFFICIENT_BALANCE",
            ErrorCode::StatusError => "STATUS_ERROR",
            ErrorCode::SystemError => "SYSTEM_ERROR",
        }
    }
}

/// The authentication failures of §4, each a 401 with its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    MalformedHeader,
    UnknownAppId,
    TimestampOutOfWindow,
    BadSignature,
    NonceInvalidOrReused,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::MalformedHeader => "missing or malformed Authorization header",
            AuthFailure::UnknownAppId => "unknown appId",
            AuthFailure::TimestampOutOfWindow => "timestamp out of window",
            AuthFailure::BadSignature => "signature verification failed",
            AuthFailure::NonceInvalidOrReused => "nonce invalid or reused",
        }
    }
}

/// One row of the error table of §4. Render it with [`ApiError::render`] before authentication
/// (or for a 401), or with [`crate::Authenticated::render_error`] after it, which signs 200/5xx.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    status: u16,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404: no such path.
    pub fn unknown_endpoint() -> ApiError {
        ApiError::new(404, ErrorCode::NotFound, "unknown endpoint")
    }

    /// 405: not a POST.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(405, ErrorCode::ParamError, "method not allowed")
    }

    /// 413: body over 1 MiB.
    pub fn too_large() -> ApiError {
        ApiError::new(413, ErrorCode::ParamError, "request too large")
    }

    /// 401 for one of the authentication checks.
    pub fn unauthorized(why: AuthFailure) -> ApiError {
        ApiError::new(401, ErrorCode::Unauthorized, why.message())
    }

    /// 401 for a replayed nonce: what the caller answers when the nonce store refuses the claim.
    pub fn nonce_reused() -> ApiError {
        ApiError::unauthorized(AuthFailure::NonceInvalidOrReused)
    }

    /// 200 PARAM_ERROR `<field>: <reason>`.
    pub fn param(field: &str, reason: impl fmt::Display) -> ApiError {
        ApiError::new(200, ErrorCode::ParamError, format!("{field}: {reason}"))
    }

    /// 200 DUPLICATE_TRADE_NO: merchantTradeNo already used for this kind of object.
    pub fn duplicate_trade_no() -> ApiError {
        ApiError::new(
            200,
            ErrorCode::DuplicateTradeNo,
            "duplicate merchantTradeNo",
        )
    }

    /// 200 NOT_FOUND `<object> not found`, `object` being `payment`, `payout` or `refund`.
    pub fn object_not_found(object: &str) -> ApiError {
        ApiError::new(200, ErrorCode::NotFound, format!("{object} not found"))
    }

    /// 200 INSUFFICIENT_BALANCE: payout or refund above the available balance.
    pub fn insufficient_balance() -> ApiError {
        ApiError::new(200, ErrorCode::InsufficientBalance, "insufficient balance")
    }

    /// 200 STATUS_ERROR: refund of a payment that is not PAID / PARTIALLY_REFUNDED.
    pub fn refund_not_allowed() -> ApiError {
        ApiError::new(
            200,
            ErrorCode::StatusError,
            "payment status does not allow refund",
        )
    }

    /// 500 SYSTEM_ERROR. The cause is for the server's log, never for the body.
    pub fn internal() -> ApiError {
        ApiError::new(500, ErrorCode::SystemError, "internal error")
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for the statuses §3.3 signs once the request was authenticated (200 and 5xx).
    pub fn is_signed(&self) -> bool {
        self.status == 200 || self.status >= 500
    }

    /// The body `{"code":…,"errorMessage":…,"data":null}`.
    pub fn body(&self) -> Vec<u8> {
        envelope_bytes(self.code.as_str(), Some(&self.message), None)
    }

    /// The unsigned answer (404/405/413/401, or anything before authentication).
    pub fn render(&self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            headers: vec![("Content-Type".to_owned(), CONTENT_TYPE.to_owned())],
            body: self.body(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ApiError({} {} {:?})",
            self.status,
            self.code.as_str(),
            self.message
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// `{"code":…,"errorMessage":…,"data":…}` with `data` given as already-serialised JSON.
pub(crate) fn envelope_bytes(
    code: &str,
    message: Option<&str>,
    data: Option<&RawValue>,
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope<'a> {
        code: &'a str,
        error_message: Option<&'a str>,
        data: Option<&'a RawValue>,
    }
    let envelope = Envelope {
        code,
        error_message: message,
        data,
    };
    // Serialising strings and a RawValue into a Vec cannot fail; the fallback keeps the
    // signature path panic-free anyway.
    serde_json::to_vec(&envelope).unwrap_or_else(|_| {
        br#"{"code":"SYSTEM_ERROR","errorMessage":"internal error","data":null}"#.to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_401_body_of_section_4() {
        let e = ApiError::unauthorized(AuthFailure::BadSignature);
        let r = e.render();
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(
            r.body,
            br#"{"code":"UNAUTHORIZED","errorMessage":"signature verification failed","data":null}"#
        );
        assert!(!e.is_signed());
    }

    #[test]
    fn messages_are_json_escaped() {
        let e = ApiError::param("payer.name", "must not contain \"quotes\"");
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["errorMessage"], "payer.name: must not contain \"quotes\"");
        assert!(e.is_signed() && ApiError::internal().is_signed());
    }
}
