//! The BlockATM HTTP surface over the engine: every path of section 2, the widget loader, and the
//! notifier factory.
//!
//! One handler serves every route: rate limit (3.5) → merchant lookup by API key → the pure
//! front door ([`crate::inbound::parse`]) → the engine → the section 4 envelope. Engine storage
//! failures become `000101 system error` with nothing internal in the answer.

mod payment;
mod payout;
mod widget;

use crate::inbound::{
    self, ApiError, Endpoint, HttpResponse, InboundError, InboundOptions, RawRequest, Request,
    ResponseData, WidgetError, WidgetErrorCode, render_success,
};
use crate::merchant::{Numbers, Settings};
use crate::network::NetworkTable;
use crate::ratelimit::{RateLimitConfig, RateLimiter};
use crate::wire::CashierInfo;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use polypay_core::{Merchant, Protocol, SignatureRejected};
use polypay_engine::{Engine, EngineError, Platform};
use polypay_notify::ProtocolNotifier;
use std::sync::{Arc, Mutex};

/// Keys tracked by the rate limiter before idle ones are purged.
const LIMITER_PURGE_AT: usize = 10_000;

/// The router with its state applied: section 2 paths, unknown paths under `/order/` and
/// `/admin/api/` answered with the 404 envelope, and the widget loader.
///
/// The per-API-key limit is the spec's default (100 requests per 60 s) unless
/// `POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE` sets another; `0` turns it off (load tests).
pub fn router(engine: Engine, platform: Arc<Platform>) -> Router {
    router_with(engine, platform, limits_from_env())
}

fn limits_from_env() -> RateLimitConfig {
    let configured = std::env::var("POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE").ok();
    match configured.and_then(|v| v.trim().parse::<u32>().ok()) {
        Some(0) => RateLimitConfig {
            limit: u32::MAX,
            ..RateLimitConfig::default()
        },
        Some(limit) => RateLimitConfig {
            limit,
            ..RateLimitConfig::default()
        },
        None => RateLimitConfig::default(),
    }
}

/// [`router`] with explicit rate limits (tests, configuration).
pub fn router_with(engine: Engine, platform: Arc<Platform>, limits: RateLimitConfig) -> Router {
    let state = Shared(Arc::new(Inner {
        engine,
        platform,
        options: InboundOptions::default(),
        limiter: Mutex::new(RateLimiter::new(limits)),
    }));
    let mut router = Router::new();
    let mut paths: Vec<&str> = Vec::new();
    // `/cashier` serves two endpoints (the link's GET, the amount form's POST): routed once.
    for endpoint in Endpoint::ALL {
        let path = endpoint.route().1;
        if !paths.contains(&path) {
            paths.push(path);
            router = router.route(path, any(handle));
        }
    }
    router
        .route("/order/{*rest}", any(handle))
        .route("/admin/api/{*rest}", any(handle))
        .route(inbound::WIDGET_SCRIPT_PATH, get(widget_script))
        .with_state(state)
}

/// The webhook and redirect encoder of this protocol.
pub fn notifier(platform: Arc<Platform>) -> Arc<dyn ProtocolNotifier> {
    Arc::new(crate::callbacks::BlockAtmNotifier::new(&platform))
}

#[derive(Clone)]
struct Shared(Arc<Inner>);

struct Inner {
    engine: Engine,
    platform: Arc<Platform>,
    options: InboundOptions,
    limiter: Mutex<RateLimiter>,
}

impl Inner {
    fn networks(&self) -> &NetworkTable {
        &self.options.networks
    }

    /// The merchant's clock ([`polypay_core::Clock::wall`]): what request timestamps, signed
    /// cashier links and the per-key rate limit are judged by. Sandbox time travel does not
    /// move it.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.engine.clock().wall().millis()).unwrap_or(0)
    }
}

/// The answer of one request: an API envelope's data, or a ready response (redirects).
enum Answer {
    Data(Box<ResponseData>),
    Raw(HttpResponse),
}

async fn handle(
    State(Shared(inner)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let trace = inbound::new_trace();
    // A body the HTTP layer refused (too large, broken stream) still gets the envelope, or the
    // amount form its error page.
    let Ok(body) = body else {
        if Endpoint::find(method.as_str(), uri.path()) == Some(Endpoint::CashierAmount) {
            let refused = WidgetError::new(WidgetErrorCode::Parameter, "body");
            return into_response(refused.render());
        }
        return into_response(ApiError::illegal_parameter("body").render(&trace));
    };
    let headers = header_pairs(&headers);
    let error = match serve(&inner, &method, &uri, &headers, &body).await {
        Ok(Answer::Data(data)) => return into_response(render_success(&data, &trace)),
        Ok(Answer::Raw(response)) => return into_response(response),
        Err(error) => error,
    };
    let mut response = into_response(error.render(&trace));
    if matches!(&error, InboundError::Api(e) if e.signature_rejected) {
        let mark = SignatureRejected(Protocol::Blockatm);
        response.extensions_mut().insert(mark);
    }
    response
}

async fn serve(
    inner: &Inner,
    method: &Method,
    uri: &Uri,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Answer, InboundError> {
    let now = inner.now_ms();
    let endpoint = Endpoint::find(method.as_str(), uri.path());
    let key = endpoint.and_then(|e| key_of(e, headers, uri.query(), body));
    let merchant = match &key {
        Some(key) => lookup(&inner.engine, key).await?,
        None => None,
    };
    let creds = merchant.as_ref().map(crate::merchant::credentials);
    let raw = RawRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers,
        body,
    };
    let parsed = inbound::parse(
        &raw,
        |key| creds.clone().filter(|c| c.api_key == key),
        &inner.options,
        now,
    )?;
    // Counted only once the key is known to be a merchant's and the request authenticated:
    // a request naming an unknown key (any string) leaves no trace in the limiter, and a
    // request that proved nothing but the key (an unsigned detail, list or cashier info: the
    // API key is public, it is in every widget link) counts in a window of its own, so
    // whoever holds a link cannot exhaust, or block, the merchant's signed traffic.
    // (A keyed endpoint's key is its header's; the cashier link's, in its query or in the
    // amount form's `link`, is not limited: the form's POST counts as its link's GET does.)
    if let Some(key) = key.filter(|_| endpoint.is_some_and(Endpoint::keyed)) {
        match parsed.scheme {
            Some(_) => rate_limit(inner, &key, now)?,
            None => rate_limit(inner, &format!("{key} unsigned"), now)?,
        }
    }
    dispatch(inner, merchant.as_ref(), parsed.request).await
}

fn rate_limit(inner: &Inner, key: &str, now: u64) -> Result<(), ApiError> {
    let mut limiter = match inner.limiter.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if limiter.tracked_keys() >= LIMITER_PURGE_AT {
        limiter.purge(now);
    }
    match ApiError::rate_limited(limiter.check(key, now)) {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

/// The API key a request names: the header on API endpoints, `apiKey` on the cashier link
/// (the query of the GET, the `link` field of the amount form's POST).
fn key_of(
    endpoint: Endpoint,
    headers: &[(String, String)],
    query: Option<&str>,
    body: &[u8],
) -> Option<String> {
    use crate::sign::widget::url_search_params;
    let api_key = |link: &str| {
        url_search_params(link)
            .into_iter()
            .find(|(name, _)| name == "apiKey")
            .map(|(_, value)| value)
    };
    match endpoint {
        Endpoint::Cashier => api_key(query.unwrap_or("")),
        Endpoint::CashierAmount => {
            if body.len() > inbound::AMOUNT_FORM_MAX_BYTES {
                return None;
            }
            let form = std::str::from_utf8(body).ok()?;
            let link = url_search_params(form)
                .into_iter()
                .find(|(name, _)| name == "link")?
                .1;
            api_key(&link)
        }
        e if e.keyed() => inbound::api_key_of(headers).map(str::to_owned),
        _ => None,
    }
}

async fn lookup(engine: &Engine, key: &str) -> Result<Option<Merchant>, ApiError> {
    match engine.merchant_by_key(Protocol::Blockatm, key).await {
        Ok(merchant) => Ok(Some(merchant)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(internal(&error, "merchant lookup")),
    }
}

async fn dispatch(
    inner: &Inner,
    merchant: Option<&Merchant>,
    request: Request,
) -> Result<Answer, InboundError> {
    let data = match request {
        Request::SymbolList { chain_id, symbol } => {
            let chain = chain_id
                .as_deref()
                .and_then(|c| inner.networks().by_chain_id(c));
            ResponseData::SymbolList(inner.networks().symbol_list(chain, symbol.as_deref()))
        }
        Request::AllNetworks => ResponseData::AllNetworks(inner.networks().all_networks()),
        Request::Cashier(page) => {
            let merchant = merchant.ok_or_else(ApiError::system_error)?;
            return widget::open(inner, merchant, page).await.map(Answer::Raw);
        }
        Request::CashierAmount(form) => {
            let merchant = merchant.ok_or_else(ApiError::system_error)?;
            return widget::submit(inner, merchant, form).await.map(Answer::Raw);
        }
        keyed => {
            let merchant = merchant.ok_or_else(ApiError::system_error)?;
            keyed_request(inner, merchant, keyed).await?
        }
    };
    Ok(Answer::Data(Box::new(data)))
}

async fn keyed_request(
    inner: &Inner,
    merchant: &Merchant,
    request: Request,
) -> Result<ResponseData, ApiError> {
    match request {
        Request::CreateOrder(order) => payment::create(inner, merchant, order).await,
        Request::PaymentDetail { order_no } => payment::detail(inner, merchant, &order_no).await,
        Request::PaymentList(query) => payment::list(inner, merchant, &query).await,
        Request::CreatePayout(order) => payout::create(inner, merchant, order).await,
        Request::PayoutDetail { biz_order_no } => {
            payout::detail(inner, merchant, &biz_order_no).await
        }
        Request::CashierInfo { .. } => Ok(ResponseData::CashierInfo(cashier_info(
            merchant,
            inner.networks(),
        ))),
        _ => Err(ApiError::system_error()),
    }
}

fn cashier_info(merchant: &Merchant, networks: &NetworkTable) -> CashierInfo {
    CashierInfo {
        logo: Settings::of(merchant).logo,
        merchant_id: Numbers::of(merchant).merchant_id,
        name: merchant.name.clone(),
        network_detail: networks.network_detail(),
        pay_qr: 1,
        pay_wallet: 1,
    }
}

/// Logs an unexpected engine failure (no secrets: engine errors carry none) and hides it.
fn internal(error: &EngineError, operation: &str) -> ApiError {
    tracing::error!(%error, operation, "blockatm: engine failure");
    ApiError::system_error()
}

async fn widget_script() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/javascript;charset=UTF-8",
        )],
        inbound::WIDGET_SCRIPT,
    )
        .into_response()
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect()
}

fn into_response(rendered: HttpResponse) -> Response {
    let mut response = Response::new(Body::from(rendered.body));
    *response.status_mut() =
        StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in rendered.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
