//! The HTTP front door (spec §2-§5): `POST /processV2` and its alias `/process` on the engine.
//!
//! Each request runs phase 1's pure [`crate::inbound::parse_request`] around one async merchant
//! lookup, then the action's service ([`create`], [`query`], [`refund`]), then renders the
//! encrypted answer with the merchant's signKey. Every failure is the spec's own envelope.

mod attrs;
pub mod checkout;
mod create;
mod query;
mod refund;
mod settings;

pub use attrs::{
    PaymentAttrs, PrepayAttrs, RefundAttrs, bizpay_order_id, public_id, settlement_marks,
};
pub use settings::MerchantSettings;

use crate::envelope::{HttpResponse, OttError, ResponseData, render_success};
use crate::inbound::{Authenticated, InboundRequest, OttRequest, parse_request};
use crate::wire::{MAX_BODY_BYTES, PATHS, RateTable};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use polypay_core::{Merchant, Protocol, SignatureRejected};
use polypay_engine::{Engine, EngineError, Platform};
use polypay_notify::ProtocolNotifier;
use std::cell::RefCell;
use std::sync::Arc;

/// What every handler shares.
pub(crate) struct Ctx {
    pub engine: Engine,
    pub platform: Arc<Platform>,
}

/// One authenticated request's merchant context.
pub(crate) struct Call<'a> {
    pub ctx: &'a Ctx,
    pub merchant: Merchant,
    pub settings: MerchantSettings,
}

/// Both paths of spec §2 with their state applied; any method other than POST answers 405.
/// Other paths belong to the rest of the server.
pub fn router(engine: Engine, platform: Arc<Platform>) -> Router {
    let ctx = Arc::new(Ctx { engine, platform });
    let mut router = Router::new();
    for path in PATHS {
        router = router.route(path, any(process));
    }
    router.with_state(ctx)
}

/// The callback and redirect encoder of spec §7.
pub fn notifier(platform: Arc<Platform>) -> Arc<dyn ProtocolNotifier> {
    Arc::new(crate::callbacks::OttNotifier::new(platform))
}

async fn process(State(ctx): State<Arc<Ctx>>, request: Request) -> Response {
    if request.method() != Method::POST {
        return into_response(OttError::MethodNotAllowed.render());
    }
    // Any read failure is treated as over the limit: the only error a complete body can have.
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await else {
        return into_response(OttError::TooLarge.render());
    };
    let err = match handle(&ctx, &body).await {
        Ok(answer) => return into_response(answer),
        Err(err) => err,
    };
    let mut response = into_response(err.render());
    // The AES key derives from the md5 and the signKey: a wrong signKey fails decryption.
    if matches!(err, OttError::Md5Mismatch | OttError::Undecryptable) {
        let mark = SignatureRejected(Protocol::Ottpay);
        response.extensions_mut().insert(mark);
    }
    response
}

async fn handle(ctx: &Ctx, body: &[u8]) -> Result<HttpResponse, OttError> {
    let inbound = InboundRequest {
        method: "POST",
        path: PATHS[0],
        query: "",
        headers: &[],
        body,
    };
    let (call, auth) = authenticate(ctx, &inbound).await?;
    let data = dispatch(&call, auth.request).await?;
    Ok(render_success(&data, &auth.merchant.sign_key))
}

/// Runs the pure checks up to the merchant lookup (spec §4 rows 1-6), looks the merchant up,
/// then runs them all with its credentials and options (rows 7-13).
async fn authenticate<'a>(
    ctx: &'a Ctx,
    inbound: &InboundRequest<'_>,
) -> Result<(Call<'a>, Authenticated), OttError> {
    let merchant_id = requested_merchant(inbound)?;
    let merchant = match ctx
        .engine
        .merchant_by_key(Protocol::Ottpay, &merchant_id)
        .await
    {
        Ok(merchant) if merchant.enabled => merchant,
        Ok(_) | Err(EngineError::NotFound(_)) => return Err(OttError::UnknownMerchant),
        Err(err) => return Err(internal(err)),
    };
    let settings = MerchantSettings::of(&merchant);
    let credentials = settings.credentials(&merchant);
    let lookup = |id: &str| (id == credentials.merchant_id).then(|| credentials.clone());
    let auth = parse_request(inbound, lookup, &settings.rates)?;
    let call = Call {
        ctx,
        merchant,
        settings,
    };
    Ok((call, auth))
}

/// The level-1 `merchant_id` of a request that passes every check before the lookup.
fn requested_merchant(inbound: &InboundRequest<'_>) -> Result<String, OttError> {
    let wanted = RefCell::new(None);
    let probe = |id: &str| {
        *wanted.borrow_mut() = Some(id.to_owned());
        None
    };
    match parse_request(inbound, probe, &RateTable::default()) {
        Err(OttError::UnknownMerchant) => wanted.into_inner().ok_or(OttError::UnknownMerchant),
        Err(err) => Err(err),
        // The probe knows no merchant, so parsing cannot succeed.
        Ok(_) => Err(OttError::System),
    }
}

async fn dispatch(call: &Call<'_>, request: OttRequest) -> Result<ResponseData, OttError> {
    match request {
        OttRequest::ActivePay(req) => create::active_pay(call, req).await,
        OttRequest::H5Pay(req) => create::h5_pay(call, req).await,
        OttRequest::PrepayInit(req) => create::prepay_init(call, req).await,
        OttRequest::PrepayQuery(req) => query::prepay_query(call, req).await,
        OttRequest::StatusQuery(req) => query::status_query(call, req).await,
        OttRequest::Refund(req) => refund::refund(call, req).await,
        OttRequest::ExRateQuery(req) => Ok(query::ex_rate(req)),
    }
}

/// Spec §4 row 19: logged without detail that could carry secrets, answered as `system error`.
pub(crate) fn internal(err: EngineError) -> OttError {
    tracing::error!(error = %err, "ottpay: engine failure");
    OttError::System
}

fn into_response(answer: HttpResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(answer.body)).into_response();
    for (name, value) in answer.headers {
        // `from_bytes` normalises `Content-Type` to lower case; both parts are our own text.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
