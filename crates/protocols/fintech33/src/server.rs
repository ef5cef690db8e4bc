//! The HTTP front door: `POST /api/v2/auth/token` and `POST /api/v2/pay` on the engine (§2–§5).
//!
//! Each request runs the phase-1 steps of [`crate::inbound`] around async lookups ([`auth`]),
//! then the service ([`payer`], [`order`]), then renders the sealed answer. Signing costs a few
//! tenths of a millisecond of CPU, so sealed responses are rendered on the signing pool
//! ([`crate::cpu`]), never on the async core threads.

mod auth;
mod order;
mod payer;

pub use auth::purge_expired_tokens;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use polypay_core::{Merchant, Protocol, SignatureRejected};
use polypay_engine::{Engine, EngineError, Platform};
use polypay_notify::ProtocolNotifier;
use std::sync::Arc;

use crate::callbacks::Fintech33Notifier;
use crate::inbound::{
    EnvelopeError, HttpResponse, InboundError, MAX_BODY_BYTES, PAY_PATH, ServiceRequest,
    TOKEN_PATH, parse_bearer, parse_pay_body,
};
use crate::render::{render_business_error, render_success};
use crate::sign::PlatformKeys;
use crate::validate::{BusinessError, ErrorCode};
use crate::wire::ResponseData;

/// Everything a handler needs, shared by both routes.
pub(crate) struct Ctx {
    pub engine: Engine,
    pub platform: Arc<Platform>,
    /// The platform key pair parsed once; `None` if it did not parse (every call answers 5000).
    pub keys: Option<Arc<PlatformKeys>>,
    pub credentials: auth::CredentialCache,
    pub tokens: auth::TokenCache,
}

/// The two endpoints of §2 with their state applied. Other methods on those paths get the
/// 405 envelope; other paths belong to the rest of the server.
pub fn router(engine: Engine, platform: Arc<Platform>) -> Router {
    let ctx = Arc::new(Ctx {
        engine,
        keys: platform_keys(&platform),
        platform,
        credentials: auth::CredentialCache::default(),
        tokens: auth::TokenCache::default(),
    });
    Router::new()
        .route(TOKEN_PATH, any(token))
        .route(PAY_PATH, any(pay))
        .with_state(ctx)
}

/// The webhook encoder of §7.
pub fn notifier(platform: Arc<Platform>) -> Arc<dyn ProtocolNotifier> {
    Arc::new(Fintech33Notifier::new(platform_keys(&platform)))
}

fn platform_keys(platform: &Platform) -> Option<Arc<PlatformKeys>> {
    match PlatformKeys::from_text(&platform.rsa_key.private_pem) {
        Ok(keys) => Some(Arc::new(keys)),
        Err(e) => {
            tracing::error!(error = %e, "fintech33: the platform RSA key does not parse");
            None
        }
    }
}

async fn token(State(ctx): State<Arc<Ctx>>, method: Method, body: Body) -> Response {
    if method != Method::POST {
        return to_axum(EnvelopeError::MethodNotAllowed.render());
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return to_axum(EnvelopeError::TokenBody.render());
    };
    to_axum(auth::issue_token(&ctx, &body).await)
}

async fn pay(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != Method::POST {
        return to_axum(EnvelopeError::MethodNotAllowed.render());
    }
    let e = match handle_pay(&ctx, &headers, body).await {
        Ok(response) => return to_axum(response),
        Err(e) => e,
    };
    let mut response = to_axum(e.render());
    // 4001 too: bizContent sealed under another AES key fails to decrypt before any signature.
    if matches!(e, EnvelopeError::Signature | EnvelopeError::Decrypt) {
        let mark = SignatureRejected(Protocol::Fintech33);
        response.extensions_mut().insert(mark);
    }
    response
}

/// §3.4 in order: token, body, decryption, signature, JSON, service, then the business logic.
async fn handle_pay(
    ctx: &Arc<Ctx>,
    headers: &HeaderMap,
    body: Body,
) -> Result<HttpResponse, EnvelopeError> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let token = parse_bearer(&pairs)?;
    let merchant = auth::merchant_for_token(ctx, token).await?;
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| EnvelopeError::Body)?;
    let Some(credentials) = ctx.credentials.get(&merchant)? else {
        return Err(auth::unkeyed_failure(&body, &merchant));
    };
    let keys = ctx.keys.clone().ok_or(EnvelopeError::Internal)?;
    let request = match parse_pay_body(&body, &credentials) {
        Ok(request) => request,
        Err(InboundError::Envelope(e)) => return Err(e),
        Err(InboundError::Business { error, .. }) => {
            return Ok(seal(move || render_business_error(&credentials, &keys, &error)).await);
        }
    };
    let outcome = serve(ctx, &merchant, request).await;
    Ok(seal(move || match outcome {
        Ok(data) => render_success(&credentials, &keys, &data),
        Err(error) => render_business_error(&credentials, &keys, &error),
    })
    .await)
}

/// Runs one validated service call; unexpected failures become `SYSTEM_ERROR` (logged).
async fn serve(
    ctx: &Ctx,
    merchant: &Merchant,
    request: ServiceRequest,
) -> Result<ResponseData, BusinessError> {
    let service = request.service();
    let result = match request {
        ServiceRequest::CreatePayer(p) => payer::create(ctx, merchant, p).await,
        ServiceRequest::GetPayer(g) => payer::get(ctx, merchant, &g.email).await,
        ServiceRequest::UpdatePayer(u) => payer::update(ctx, merchant, u).await,
        ServiceRequest::CreateOrder(o) => order::create(ctx, merchant, o).await,
        ServiceRequest::QueryOrder(r) => order::query(ctx, merchant, &r).await,
        ServiceRequest::RefundOrder(r) => order::refund(ctx, merchant, &r).await,
    };
    result.map_err(|failure| match failure {
        Failure::Business(e) => e,
        Failure::System(detail) => {
            tracing::error!(service = service.as_str(), merchant = %merchant.id, error = %detail,
                "fintech33 service failed");
            BusinessError::new(ErrorCode::SystemError)
        }
    })
}

/// Why a service call did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A §4.2 outcome for the merchant.
    Business(BusinessError),
    /// Unexpected (store, corrupt record): logged, answered as `SYSTEM_ERROR`. Never a secret.
    System(String),
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::System(e.to_string())
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure::System(e.to_string())
    }
}

impl From<ErrorCode> for Failure {
    fn from(code: ErrorCode) -> Self {
        Failure::Business(BusinessError::new(code))
    }
}

/// Renders a signed response on the signing pool ([`crate::cpu`]).
async fn seal<F>(render: F) -> HttpResponse
where
    F: FnOnce() -> HttpResponse + Send + 'static,
{
    match crate::cpu::run(render).await {
        Some(response) => response,
        None => {
            tracing::error!("fintech33: response rendering task failed");
            EnvelopeError::Internal.render()
        }
    }
}

fn to_axum(r: HttpResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, r.body).into_response();
    for (name, value) in r.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
