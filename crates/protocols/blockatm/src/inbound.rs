//! The server's pure front door: route, authenticate (3.1–3.5), validate (section 5) and render answers.
//!
//! Check order of API endpoints: route (404) → API key present (`000112`) and known (`000105`) →
//! body is a JSON object (`000102`) → signature: present when mandatory, time header, receive
//! window header (`000102`), time window, signature value (`000105`) → fields in table order
//! (`000103` / `000102`, ownership `000105`). Rate limiting happens before all of this, in the
//! server, with [`crate::ratelimit::RateLimiter`] keyed by [`api_key_of`].

mod amount_page;
mod cashier;
mod envelope;
mod fields;
mod request;

pub use amount_page::{AMOUNT_PAGE_CSP, AmountPage};
pub use cashier::{
    AMOUNT_FORM_MAX_BYTES, AmountForm, AmountProblem, CashierPage, DEFAULT_CHAIN,
    DEFAULT_EXPIRE_MINUTES, DEFAULT_SYMBOL, LANGUAGES, WIDGET_SCRIPT, WIDGET_SCRIPT_PATH,
    typed_amount,
};
pub use envelope::{
    ApiError, HTML_CONTENT_TYPE, HttpResponse, InboundError, JSON_CONTENT_TYPE, WidgetError,
    WidgetErrorCode, code, new_trace,
};
pub use request::{CreateOrder, CreatePayout, PaymentListQuery, Request};

use crate::network::NetworkTable;
use crate::sign::window::{self, WindowError};
use crate::sign::{EcPublicKey, Json, PresentedSignature, Scheme, canonical_get, canonical_post};
use crate::wire::{
    CashierInfo, CreateOrderData, Envelope, NetworkInfo, PayOrderDetail, PayOrderListItem,
    PayoutDetail, TokenInfo,
};
use std::fmt;

/// One HTTP request as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query (after `?`, before `#`), percent-encoding untouched; `None` without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What a merchant (cashier) was given, as the server looks it up by API key.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: String,
    /// HMAC key of V2 signatures (the whole text, prefix included).
    pub secret_key: String,
    pub merchant_id: i64,
    /// The cashier this key belongs to.
    pub cashier_id: i64,
    /// The merchant's registered V1 public key, if any.
    pub ec_public_key: Option<EcPublicKey>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &redact(&self.api_key))
            .field("secret_key", &"<redacted>")
            .field("merchant_id", &self.merchant_id)
            .field("cashier_id", &self.cashier_id)
            .field(
                "ec_public_key",
                &self.ec_public_key.as_ref().map(|_| "<registered>"),
            )
            .finish()
    }
}

/// Keeps only a key's type prefix (`pk_payment_…`) so logs can tell kinds apart.
fn redact(key: &str) -> String {
    let prefix: String = key.chars().take_while(|c| *c != '_').collect();
    format!("{prefix}_…")
}

/// Server settings the parser needs.
#[derive(Debug, Clone, Default)]
pub struct InboundOptions {
    /// Tolerance for request times ahead of the server clock (ms); default 1000.
    pub skew_ms: Option<u64>,
    pub networks: NetworkTable,
}

/// The endpoints of section 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    CreateOrder,
    PaymentDetail,
    PaymentList,
    CreatePayout,
    PayoutDetail,
    CashierInfo,
    SymbolList,
    AllNetworks,
    /// W: the signed link.
    Cashier,
    /// W: the amount page's form (a link without `amount`, and the amount typed).
    CashierAmount,
}

/// Whether an endpoint needs, checks or ignores a request signature (3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRule {
    Required,
    VerifiedIfSent,
    Ignored,
}

impl Endpoint {
    pub const ALL: [Endpoint; 10] = [
        Endpoint::CreateOrder,
        Endpoint::PaymentDetail,
        Endpoint::PaymentList,
        Endpoint::CreatePayout,
        Endpoint::PayoutDetail,
        Endpoint::CashierInfo,
        Endpoint::SymbolList,
        Endpoint::AllNetworks,
        Endpoint::Cashier,
        Endpoint::CashierAmount,
    ];

    /// `(method, path)` of the endpoint.
    pub fn route(self) -> (&'static str, &'static str) {
        match self {
            Endpoint::CreateOrder => ("POST", "/order/api/v2/pay/order"),
            Endpoint::PaymentDetail => ("GET", "/order/api/v2/payorder/detail"),
            Endpoint::PaymentList => ("GET", "/order/api/v2/payorder/list"),
            Endpoint::CreatePayout => ("POST", "/order/api/v2/payout/order"),
            Endpoint::PayoutDetail => ("GET", "/order/api/v2/payout/detail"),
            Endpoint::CashierInfo => ("GET", "/admin/api/v2/pub/cashier/info"),
            Endpoint::SymbolList => ("GET", "/admin/api/v2/pub/symbolList"),
            Endpoint::AllNetworks => ("GET", "/admin/api/v2/pub/allNetworks"),
            Endpoint::Cashier => ("GET", "/cashier"),
            Endpoint::CashierAmount => ("POST", "/cashier"),
        }
    }

    /// The endpoint at `method` (case-sensitive, as HTTP says) + `path`; a known path with another
    /// method is unknown too.
    pub fn find(method: &str, path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| {
            let (m, p) = e.route();
            m == method && p == path
        })
    }

    /// Whether `BlockATM-API-Key` is required.
    pub fn keyed(self) -> bool {
        !matches!(
            self,
            Endpoint::SymbolList
                | Endpoint::AllNetworks
                | Endpoint::Cashier
                | Endpoint::CashierAmount
        )
    }

    pub fn signature_rule(self) -> SignatureRule {
        match self {
            Endpoint::CreateOrder | Endpoint::CreatePayout | Endpoint::PayoutDetail => {
                SignatureRule::Required
            }
            Endpoint::PaymentDetail | Endpoint::PaymentList | Endpoint::CashierInfo => {
                SignatureRule::VerifiedIfSent
            }
            Endpoint::SymbolList
            | Endpoint::AllNetworks
            | Endpoint::Cashier
            | Endpoint::CashierAmount => SignatureRule::Ignored,
        }
    }
}

/// A request that passed every check of the front door.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub request: Request,
    /// The caller (absent on E7/E8).
    pub credentials: Option<Credentials>,
    /// The signature scheme that verified, if one was checked.
    pub scheme: Option<Scheme>,
}

/// The `BlockATM-API-Key` header (empty counts as absent).
pub fn api_key_of(headers: &[(String, String)]) -> Option<&str> {
    crate::header(headers, crate::HEADER_API_KEY).filter(|k| !k.is_empty())
}

/// Parses, authenticates and validates one request; `now_ms` is the server clock (Unix ms).
pub fn parse(
    req: &RawRequest<'_>,
    lookup: impl Fn(&str) -> Option<Credentials>,
    opts: &InboundOptions,
    now_ms: u64,
) -> Result<Inbound, InboundError> {
    let endpoint = Endpoint::find(req.method, req.path).ok_or_else(ApiError::unknown_path)?;
    if endpoint == Endpoint::Cashier {
        let (page, credentials) = cashier::parse(req.query.unwrap_or(""), &lookup, opts, now_ms)?;
        let scheme = Some(page.scheme);
        return Ok(Inbound {
            request: Request::Cashier(page),
            credentials: Some(credentials),
            scheme,
        });
    }
    if endpoint == Endpoint::CashierAmount {
        let content_type = crate::header(req.headers, "Content-Type");
        let (form, credentials) =
            cashier::parse_form(content_type, req.body, &lookup, opts, now_ms)?;
        let scheme = Some(form.page.scheme);
        return Ok(Inbound {
            request: Request::CashierAmount(form),
            credentials: Some(credentials),
            scheme,
        });
    }
    let credentials = match endpoint.keyed() {
        true => {
            let key = api_key_of(req.headers).ok_or_else(ApiError::api_key_required)?;
            Some(lookup(key).ok_or_else(|| ApiError::illegal_request("unknown API key"))?)
        }
        false => None,
    };
    let body = match endpoint.route().0 {
        "POST" => Some(
            crate::sign::parse_body(req.body).map_err(|_| ApiError::illegal_parameter("body"))?,
        ),
        _ => None,
    };
    let scheme = match (&credentials, endpoint.signature_rule()) {
        (Some(creds), SignatureRule::Required | SignatureRule::VerifiedIfSent) => {
            check_signature(endpoint, req, body.as_ref(), creds, opts, now_ms)?
        }
        _ => None,
    };
    let request = request::validate(
        endpoint,
        req.query,
        body.as_ref(),
        credentials.as_ref(),
        opts,
    )?;
    Ok(Inbound {
        request,
        credentials,
        scheme,
    })
}

/// 3.1–3.5: returns the verified scheme, `None` when an optional signature was not sent.
fn check_signature(
    endpoint: Endpoint,
    req: &RawRequest<'_>,
    body: Option<&Json>,
    creds: &Credentials,
    opts: &InboundOptions,
    now_ms: u64,
) -> Result<Option<Scheme>, ApiError> {
    let Some(presented) = PresentedSignature::from_headers(req.headers) else {
        return match endpoint.signature_rule() {
            SignatureRule::Required => Err(ApiError::illegal_request("missing signature")),
            _ => Ok(None),
        };
    };
    let time = crate::header(req.headers, crate::HEADER_REQUEST_TIME)
        .ok_or_else(|| ApiError::illegal_request("missing BlockATM-Request-Time"))?;
    let t = window::parse_request_time(time)
        .map_err(|_| ApiError::illegal_request("malformed BlockATM-Request-Time"))?;
    let (window_header, window_value) = recv_window_header(req.headers);
    let window_ms = window::parse_recv_window(window_value)
        .map_err(|_| ApiError::illegal_parameter(window_header))?;
    let skew = opts.skew_ms.unwrap_or(window::DEFAULT_SKEW_MS);
    window::check_window(t, now_ms, window_ms, skew).map_err(|e| match e {
        WindowError::Future => ApiError::bad_signature("request time in the future"),
        _ => ApiError::bad_signature("request time outside the receive window"),
    })?;
    let canonical = match body {
        Some(json) => canonical_post(json, time),
        None => canonical_get(req.query, time),
    };
    if presented.scheme == Scheme::V1Ecdsa && creds.ec_public_key.is_none() {
        return Err(ApiError::bad_signature("no V1 public key registered"));
    }
    if !presented.verify(&canonical, &creds.secret_key, creds.ec_public_key.as_ref()) {
        return Err(ApiError::bad_signature("signature mismatch"));
    }
    Ok(Some(presented.scheme))
}

/// `BlockATM-Rec_Window` wins over `BlockATM-RECV_WINDOW` when both are sent.
fn recv_window_header(headers: &[(String, String)]) -> (&'static str, Option<&str>) {
    match crate::header(headers, crate::HEADER_REC_WINDOW) {
        Some(value) => (crate::HEADER_REC_WINDOW, Some(value)),
        None => (
            crate::HEADER_RECV_WINDOW_ALT,
            crate::header(headers, crate::HEADER_RECV_WINDOW_ALT),
        ),
    }
}

/// The `data` of a successful answer, one variant per API endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseData {
    CreateOrder(CreateOrderData),
    PaymentDetail(PayOrderDetail),
    PaymentList(Vec<PayOrderListItem>),
    /// E4 answers `data: null`.
    CreatePayout,
    PayoutDetail(PayoutDetail),
    CashierInfo(CashierInfo),
    SymbolList(Vec<TokenInfo>),
    AllNetworks(Vec<NetworkInfo>),
}

/// Renders `{"code":"200","success":true,"data":…,"trace":…,"msg":"success"}` (HTTP 200).
/// BlockATM does not sign responses.
pub fn render_success(data: &ResponseData, trace: &str) -> HttpResponse {
    fn env<'a, T: serde::Serialize>(data: Option<&'a T>, trace: &'a str) -> HttpResponse {
        let envelope = Envelope {
            code: code::SUCCESS,
            success: true,
            data,
            trace,
            msg: "success",
        };
        envelope::json_response(200, &envelope)
    }
    match data {
        ResponseData::CreateOrder(d) => env(Some(d), trace),
        ResponseData::PaymentDetail(d) => env(Some(d), trace),
        ResponseData::PaymentList(d) => env(Some(d), trace),
        ResponseData::CreatePayout => env::<()>(None, trace),
        ResponseData::PayoutDetail(d) => env(Some(d), trace),
        ResponseData::CashierInfo(d) => env(Some(d), trace),
        ResponseData::SymbolList(d) => env(Some(d), trace),
        ResponseData::AllNetworks(d) => env(Some(d), trace),
    }
}
