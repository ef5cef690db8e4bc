//! The server's pure request handling: routing, token and Bearer checks, and the §3.4 verification order.
//!
//! [`parse_request`] does everything up to the business logic in one call. The steps are also
//! public ([`parse_token_request`], [`parse_bearer`], [`check_grant`], [`parse_pay_body`]) so a
//! caller whose credential lookup is async can run them around its own lookups.

use jiff::Timestamp;
use std::borrow::Cow;
use std::sync::Arc;

use crate::render;
use crate::sign::{self, OpenError, PlatformKeys};
use crate::validate::{BusinessError, JsonObject, validate_service};
use crate::wire::{PayEnvelope, Service, TokenRequest};

pub use crate::credentials::{
    CredentialLookup, Credentials, TOKEN_TTL_SECS, TokenGrant, generate_token, token_expiry,
};
pub use crate::render::HttpResponse;
pub use crate::validate::ServiceRequest;

pub const TOKEN_PATH: &str = "/api/v2/auth/token";
pub const PAY_PATH: &str = "/api/v2/pay";
/// Body limit [polypay].
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A request that passed every check before the business logic.
// One value per request, moved straight into the handler: boxing the large variant would only
// add an allocation and make matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Inbound {
    /// `appId`/`appSecret` verified: issue a token and answer with [`render::render_token_response`].
    Token { credentials: Arc<Credentials> },
    /// A decrypted, verified and validated service call.
    Pay {
        credentials: Arc<Credentials>,
        request: ServiceRequest,
    },
}

/// The envelope-level outcomes of §4.1 (no `bizContent`, no `sign`), plus routing misses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    TokenBody,
    TokenCredentials,
    MissingBearer,
    InvalidToken,
    Body,
    Decrypt,
    Signature,
    NotJsonObject,
    UnknownService(String),
    Internal,
    /// [polypay] any path other than the two of §2.
    NotFound,
    /// [polypay] a method other than POST on a known path.
    MethodNotAllowed,
}

impl EnvelopeError {
    pub fn http_status(&self) -> u16 {
        match self {
            EnvelopeError::TokenBody => 400,
            EnvelopeError::TokenCredentials
            | EnvelopeError::MissingBearer
            | EnvelopeError::InvalidToken => 401,
            EnvelopeError::Internal => 500,
            EnvelopeError::NotFound => 404,
            EnvelopeError::MethodNotAllowed => 405,
            _ => 200,
        }
    }

    pub fn status_code(&self) -> i64 {
        match self {
            EnvelopeError::TokenBody => 400,
            EnvelopeError::TokenCredentials
            | EnvelopeError::MissingBearer
            | EnvelopeError::InvalidToken => 401,
            EnvelopeError::Body => 4000,
            EnvelopeError::Decrypt => 4001,
            EnvelopeError::Signature => 4002,
            EnvelopeError::NotJsonObject => 4003,
            EnvelopeError::UnknownService(_) => 4004,
            EnvelopeError::Internal => 5000,
            EnvelopeError::NotFound => 404,
            EnvelopeError::MethodNotAllowed => 405,
        }
    }

    pub fn message(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            EnvelopeError::TokenBody | EnvelopeError::Body => "invalid request body",
            EnvelopeError::TokenCredentials => "invalid appId or appSecret",
            EnvelopeError::MissingBearer => "missing bearer token",
            EnvelopeError::InvalidToken => "invalid or expired token",
            EnvelopeError::Decrypt => "bizContent decryption failed",
            EnvelopeError::Signature => "signature verification failed",
            EnvelopeError::NotJsonObject => "bizContent is not a JSON object",
            EnvelopeError::UnknownService(s) => return Cow::Owned(format!("unknown service: {s}")),
            EnvelopeError::Internal => "internal error",
            EnvelopeError::NotFound => "not found",
            EnvelopeError::MethodNotAllowed => "method not allowed",
        })
    }

    /// `{"statusCode":…,"message":…}` with the row's HTTP status.
    pub fn render(&self) -> HttpResponse {
        render::render_envelope_error(self)
    }
}

/// Why a request did not reach the business logic.
#[derive(Debug)]
pub enum InboundError {
    Envelope(EnvelopeError),
    /// Authenticated and decrypted, but a field failed §5 validation: answered in the merchant's
    /// encrypted, signed envelope with `status` −1.
    Business {
        credentials: Arc<Credentials>,
        error: BusinessError,
    },
}

impl From<EnvelopeError> for InboundError {
    fn from(e: EnvelopeError) -> Self {
        InboundError::Envelope(e)
    }
}

impl InboundError {
    pub fn render(&self, platform: &PlatformKeys) -> HttpResponse {
        match self {
            InboundError::Envelope(e) => e.render(),
            InboundError::Business { credentials, error } => {
                render::render_business_error(credentials, platform, error)
            }
        }
    }
}

/// Routes, authenticates, decrypts and validates one request. `now` judges token expiry;
/// the query string is ignored (neither endpoint takes one).
pub fn parse_request(
    method: &str,
    path: &str,
    _query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    now: Timestamp,
    lookup: &impl CredentialLookup,
) -> Result<Inbound, InboundError> {
    let is_post = method.eq_ignore_ascii_case("POST");
    match path {
        TOKEN_PATH if is_post => {
            let req = parse_token_request(body)?;
            let credentials = lookup.by_app_id(&req.app_id);
            let credentials = check_app_secret(&req, credentials)?;
            Ok(Inbound::Token { credentials })
        }
        PAY_PATH if is_post => {
            let token = parse_bearer(headers)?;
            let credentials = check_grant(lookup.by_token(token), now)?;
            let request = parse_pay_body(body, &credentials)?;
            Ok(Inbound::Pay {
                credentials,
                request,
            })
        }
        TOKEN_PATH | PAY_PATH => Err(EnvelopeError::MethodNotAllowed.into()),
        _ => Err(EnvelopeError::NotFound.into()),
    }
}

/// The token call's body: a JSON object with string `appId` and `appSecret`.
pub fn parse_token_request(body: &[u8]) -> Result<TokenRequest, EnvelopeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::TokenBody);
    }
    serde_json::from_slice(body).map_err(|_| EnvelopeError::TokenBody)
}

/// Checks the secret of the merchant found by `appId` (unknown app and wrong secret look alike).
pub fn check_app_secret(
    req: &TokenRequest,
    credentials: Option<Arc<Credentials>>,
) -> Result<Arc<Credentials>, EnvelopeError> {
    match credentials {
        Some(c) if c.secret_matches(&req.app_secret) => Ok(c),
        _ => Err(EnvelopeError::TokenCredentials),
    }
}

/// The token of `Authorization: Bearer <token>`: scheme case-insensitive, exactly one space.
pub fn parse_bearer<'h>(headers: &[(&str, &'h str)]) -> Result<&'h str, EnvelopeError> {
    let value = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| *value)
        .ok_or(EnvelopeError::MissingBearer)?;
    let (scheme, token) = value
        .split_at_checked(7)
        .ok_or(EnvelopeError::MissingBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer ") || token.is_empty() || token.starts_with(' ') {
        return Err(EnvelopeError::MissingBearer);
    }
    Ok(token)
}

/// A looked-up token is valid strictly before its expiry.
pub fn check_grant(
    grant: Option<TokenGrant>,
    now: Timestamp,
) -> Result<Arc<Credentials>, EnvelopeError> {
    match grant {
        Some(g) if now < g.expires_at => Ok(g.credentials),
        _ => Err(EnvelopeError::InvalidToken),
    }
}

/// §3.4 steps 2–7 for an authenticated merchant.
pub fn parse_pay_body(
    body: &[u8],
    credentials: &Arc<Credentials>,
) -> Result<ServiceRequest, InboundError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::Body.into());
    }
    let envelope: PayEnvelope = serde_json::from_slice(body).map_err(|_| EnvelopeError::Body)?;
    let plaintext = sign::open(
        &envelope.biz_content,
        &envelope.sign,
        &credentials.cipher,
        &credentials.merchant_key,
        credentials.sign_hash,
    )
    .map_err(|e| match e {
        OpenError::Decrypt => EnvelopeError::Decrypt,
        OpenError::Signature => EnvelopeError::Signature,
    })?;
    let object = JsonObject::parse(&plaintext).ok_or(EnvelopeError::NotJsonObject)?;
    let service = Service::parse(&envelope.service)
        .ok_or_else(|| EnvelopeError::UnknownService(envelope.service.clone()))?;
    validate_service(service, &object).map_err(|error| InboundError::Business {
        credentials: Arc::clone(credentials),
        error,
    })
}
