//! The crate's error type (signing, parsing, client transport); the HTTP-edge envelope error lives in `inbound`.

/// What went wrong in a pure helper or in the client SDK.
///
/// Messages never contain secrets, keys or signature values: they name the field or step only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not valid JSON (the source says where, never what).
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body parsed, but is not a JSON object (or `null` / empty) as 3.2 requires.
    #[error("body is not a JSON object")]
    NotAnObject,
    /// A key could not be parsed or is not a P-256 key.
    #[error("invalid {0} key")]
    Key(&'static str),
    /// A V1 (ECDSA) signature arrived, and the client was given no key to verify it with.
    #[error("no {0} key to verify a V1 (ECDSA) signature with")]
    NoKey(&'static str),
    /// A signature was malformed or did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but malformed.
    #[error("invalid header {0}")]
    InvalidHeader(&'static str),
    /// A field is malformed (name only).
    #[error("invalid field {0}")]
    InvalidField(&'static str),
    /// The cryptographic library refused an operation.
    #[error("cryptographic operation failed")]
    Crypto,
    /// The base URL or a redirect URL cannot be used.
    #[error("invalid URL")]
    Url,
    /// Transport failure talking to the server.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with a BlockATM error envelope (or `success != true`).
    #[error("BlockATM error {code} (HTTP {status}): {msg}")]
    Api {
        status: u16,
        code: String,
        msg: String,
    },
    /// The server's answer is not a BlockATM envelope.
    #[error("unexpected response (HTTP {status})")]
    Response { status: u16 },
}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Error::Crypto
    }
}
