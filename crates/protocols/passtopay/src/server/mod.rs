//! The HTTP glue: PassToPay's nine endpoints on the engine, the spec 8 cashier/QR redirects,
//! and the callback encoder ([`notifier`]).
//!
//! Every request goes: route → method → body → merchant lookup → authentication and fields
//! (the spec's check order, [`crate::inbound`]) → rate limit → one engine call → signed
//! envelope. Every failure is
//! the provider's envelope; engine/store failures are `system error` with nothing internal.

pub mod attrs;
mod cashier;
mod checkout;
mod notifier;
mod payment;
mod rate;
mod refund;
mod transfer;
pub mod view;

pub use cashier::{cashier_url, qr_png_url, wap_form};
pub use notifier::PassToPayNotifier;

use crate::credentials::Credentials;
use crate::envelope::{ApiError, HttpResponse, TraceId, render_success};
use crate::inbound::{HttpRequest, Inbound, Request, authenticate_and_validate, route_and_parse};
use crate::params::Params;
use crate::wire::Endpoint;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use polypay_core::{Merchant, Protocol, SignatureRejected};
use polypay_engine::{Engine, EngineError, Platform};
use polypay_notify::ProtocolNotifier;
use rate::RateLimiter;
use serde::Serialize;
use std::sync::Arc;

/// Shared by every request of this router.
pub(crate) struct Ctx {
    engine: Engine,
    platform: Arc<Platform>,
    limiter: RateLimiter,
}

/// Every PassToPay path (spec 2) plus the sandbox cashier and QR redirects (spec 8).
pub fn router(engine: Engine, platform: Arc<Platform>) -> Router {
    let ctx = Arc::new(Ctx {
        engine,
        platform,
        limiter: RateLimiter::default(),
    });
    let mut r = Router::new();
    for endpoint in Endpoint::ALL {
        r = r.route(endpoint.path(), any(api));
    }
    r.route(cashier::CASHIER_PATH, any(cashier::cashier))
        .route(&format!("{}{{file}}", cashier::QR_PREFIX), any(cashier::qr))
        .with_state(ctx)
}

/// PassToPay's callback and redirect encoder.
pub fn notifier(platform: Arc<Platform>) -> Arc<dyn ProtocolNotifier> {
    // Notifications carry no platform URL or key; the platform is taken for symmetry with
    // the other protocols.
    let _ = platform;
    Arc::new(PassToPayNotifier)
}

/// One authenticated request on its way through a handler.
pub(crate) struct Call<'a> {
    ctx: &'a Ctx,
    merchant: &'a Merchant,
    inbound: &'a Inbound,
    trace: TraceId,
}

impl Call<'_> {
    fn engine(&self) -> &Engine {
        &self.ctx.engine
    }

    fn credentials(&self) -> &Credentials {
        &self.inbound.credentials
    }

    /// Signs `data` with the requesting app's secret.
    fn ok<T: Serialize>(&self, data: &T) -> Result<HttpResponse, ApiError> {
        Ok(render_success(
            data,
            &self.credentials().app_secret,
            self.trace,
        ))
    }

    fn base_url(&self) -> &str {
        &self.ctx.platform.public_base_url
    }
}

/// Anything the spec has no row for: logged without detail a merchant could see, answered
/// with `system error`.
pub(crate) fn internal(e: EngineError, during: &'static str) -> ApiError {
    tracing::error!(error = %e, during, "passtopay request failed");
    ApiError::System
}

async fn api(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let trace = TraceId::random();
    // A body the HTTP layer refused (over the node's body limit, a broken stream).
    let Ok(body) = body else {
        return into_axum(ApiError::InvalidBody.render(trace));
    };
    let e = match handle(&ctx, &method, &uri, &headers, &body, trace).await {
        Ok(r) => return into_axum(r),
        Err(e) => e,
    };
    let mut response = into_axum(e.render(trace));
    // `request expired` is only reached with a valid signature: not marked.
    if e == ApiError::SignatureMismatch {
        let mark = SignatureRejected(Protocol::Passtopay);
        response.extensions_mut().insert(mark);
    }
    response
}

async fn handle(
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    trace: TraceId,
) -> Result<HttpResponse, ApiError> {
    let header_pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let http = HttpRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &header_pairs,
        body,
    };
    let (endpoint, params) = route_and_parse(&http)?;
    let merchant = lookup_merchant(ctx, &params).await?;
    // reqTime is checked against the merchant's clock, which time travel does not move.
    let now = jiff::Timestamp::from_millisecond(ctx.engine.clock().wall().millis())
        .map_err(|_| ApiError::System)?;
    let lookup = |_: &str, app_id: &str| credentials_of(&merchant, app_id);
    let inbound = authenticate_and_validate(endpoint, params, lookup, now)?;
    // parse_request only succeeds with credentials, which only exist with a merchant.
    let merchant = merchant.ok_or(ApiError::MerchantNotFound)?;
    if let Some(limit) = inbound.credentials.settings.rate_limit_per_minute {
        let now_ms = ctx.engine.clock().wall().millis();
        if !ctx
            .limiter
            .allow(merchant.id.as_str(), endpoint, limit, now_ms)
        {
            return Err(ApiError::RateLimited);
        }
    }
    let call = Call {
        ctx,
        merchant: &merchant,
        inbound: &inbound,
        trace,
    };
    dispatch(&call).await
}

async fn dispatch(call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    match &call.inbound.request {
        Request::UnifiedOrder(o) => payment::unified_order(call, o).await,
        Request::CashierOrder(o) => payment::cashier_order(call, o).await,
        Request::CryptoOrder(o) => payment::crypto_order(call, o).await,
        Request::PayQuery(r) => payment::query(call, r).await,
        Request::PayClose(r) => payment::close(call, r).await,
        Request::RefundOrder(o) => refund::refund_order(call, o).await,
        Request::RefundQuery(r) => refund::query(call, r).await,
        Request::TransferOrder(o) => transfer::transfer_order(call, o).await,
        Request::TransferQuery(r) => transfer::query(call, r).await,
    }
}

/// The merchant named by `mchNo`, read before authentication because the lookup is async and
/// the inbound checks are not. No `mchNo`, no lookup: the checks then answer with the spec's
/// error.
async fn lookup_merchant(ctx: &Ctx, params: &Params) -> Result<Option<Merchant>, ApiError> {
    let Some(mch_no) = params.text("mchNo") else {
        return Ok(None);
    };
    match ctx
        .engine
        .merchant_by_key(Protocol::Passtopay, mch_no)
        .await
    {
        Ok(m) => Ok(Some(m)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(internal(e, "merchant lookup")),
    }
}

/// The app's credentials if the merchant is enabled and owns `app_id`.
fn credentials_of(merchant: &Option<Merchant>, app_id: &str) -> Option<Credentials> {
    merchant
        .as_ref()
        .filter(|m| m.enabled && m.credentials.passtopay.app_id == app_id)
        .map(Credentials::of_merchant)
}

fn into_axum(r: HttpResponse) -> Response {
    let mut response = Response::new(Body::from(r.body));
    *response.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in r.headers {
        // from_bytes lower-cases; our names and values are static ASCII, so this never skips.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
