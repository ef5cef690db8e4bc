//! The crate's error type for everything outside the server's HTTP edge: the client SDK, the
//! notification encoders and the wire parsers. (The server edge uses [`crate::ApiError`].)
//!
//! No variant carries a secret: messages name the failed check, never the compared values.

use crate::amount::AmountError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A URL (base URL, notifyUrl, returnUrl, redirect) that is not an absolute http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(&'static str),
    /// No `Authorization` header, or more than one.
    #[error("expected exactly one Authorization header")]
    MissingAuthorization,
    /// The `Authorization` header does not follow §3.1.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    /// The signed message names another application.
    #[error("appId does not match the configured credentials")]
    AppIdMismatch,
    /// A signed webhook whose timestamp is outside the §3.1 window of the receiver's clock,
    /// `ms` from it (negative: in the past): a replay, or a clock to fix.
    #[error(
        "timestamp is {}.{:03} s {}, outside the ±300 s window",
        .ms.unsigned_abs() / 1000,
        .ms.unsigned_abs() % 1000,
        if *.ms < 0 { "old" } else { "ahead" }
    )]
    Stale { ms: i64 },
    /// A nonce that does not follow §3.1 (16–64 printable ASCII characters).
    #[error("nonce does not follow §3.1 (16-64 printable ASCII characters)")]
    BadNonce,
    /// The digest does not match: wrong secret, or the message was altered.
    #[error("signature verification failed")]
    BadSignature,
    /// A redirect lacks a parameter it must carry.
    #[error("redirect parameter {0} is missing")]
    MissingParameter(&'static str),
    /// A redirect parameter has an invalid value.
    #[error("redirect parameter {0} is invalid")]
    InvalidParameter(&'static str),
    /// The peer answered something that is not the protocol's JSON envelope.
    #[error("unexpected response (HTTP {status}): {reason}")]
    UnexpectedResponse { status: u16, reason: String },
    /// JSON (de)serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A wire amount did not parse.
    #[error("amount: {0}")]
    Amount(#[from] AmountError),
    /// A wire timestamp did not parse.
    #[error("time: {0}")]
    Time(#[from] jiff::Error),
    /// The HTTP transport failed (connect, TLS, timeout, body read).
    #[error("HTTP transport: {0}")]
    Http(#[from] reqwest::Error),
}
