//! The server's pure request handling (§2–§4): route, method, size, the `Authorization` check in
//! the spec's order, body validation — and the signed renderers of every answer sent after
//! authentication (§3.3). No clock reads: `now` comes in through [`ServerContext`].

use crate::envelope::{ApiError, AuthFailure, CONTENT_TYPE, HttpResponse, envelope_bytes};
use crate::sign::{
    AuthorizationHeader, Credentials, is_valid_nonce, parse_timestamp, single_authorization,
};
use crate::validate::{ApiRequest, CurrencyRule, validate};
use crate::wire::{Endpoint, ResponseData};
use serde_json::value::RawValue;

/// Largest accepted body (§2); larger → 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Accepted clock skew between the request's `timestamp` and now (§3.1).
pub const TIME_WINDOW_MS: u64 = 300_000;
/// How long a claimed (appId, nonce) is remembered: twice the window (§3.1), and a second more.
/// Both ends of the window are inside it, so a request stamped a whole window ahead is still
/// accepted exactly two windows after it arrived; a claim of exactly two windows would have
/// lapsed by then, and the same request been taken again.
pub const NONCE_TTL_MS: u64 = 2 * TIME_WINDOW_MS + 1_000;

/// One HTTP request as the server received it, before any decoding.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The connection's scheme (`http`/`https`), used when `X-Forwarded-Proto` is absent.
    pub scheme: &'a str,
    /// The raw path of the request target, not percent-decoded.
    pub path: &'a str,
    /// The raw query after `?`, if the target had one.
    pub query: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What the pure handler needs from its environment.
#[derive(Debug, Clone, Copy)]
pub struct ServerContext<'a> {
    pub now_ms: u64,
    /// polypay's merchant-facing base URL (`scheme://host[:port]`, no trailing slash): the third
    /// URL candidate of §3.2.
    pub public_base_url: Option<&'a str>,
}

/// A merchant as the server sees it: credentials plus the settings validation depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantProfile {
    pub credentials: Credentials,
    /// Currencies enabled for the merchant, with their exponents (sandbox default: INR, 2).
    pub currencies: Vec<CurrencyRule>,
    /// §8: may be switched off per merchant to replay fixtures; on by default.
    pub check_time_window: bool,
}

impl MerchantProfile {
    /// A merchant with the sandbox defaults: INR enabled, time window checked.
    pub fn new(credentials: Credentials) -> MerchantProfile {
        MerchantProfile {
            credentials,
            currencies: vec![CurrencyRule::new("INR", 2)],
            check_time_window: true,
        }
    }
}

/// The replay-protection claim the caller must make in its nonce store once the signature has
/// verified: unique per (appId, nonce) for [`NONCE_TTL_MS`]. If the store refuses it, answer
/// [`ApiError::nonce_reused`] (rendered unsigned: it is a 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceClaim {
    pub app_id: String,
    /// Exactly as sent; compared case-sensitively.
    pub nonce: String,
    pub timestamp_ms: u64,
}

/// A request whose signature verified: who sent it, where, and how to sign the answer.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub endpoint: Endpoint,
    pub merchant: MerchantProfile,
    pub nonce: NonceClaim,
    /// URL candidate 1 (raw path `?` raw query): the `REQUEST_PATH` of the response signature.
    pub request_path: String,
}

/// The outcome of [`handle`] for an authenticated request. Claim `auth.nonce` first; then answer
/// `request`'s error (signed, via [`Authenticated::render_error`]) or run the business logic.
#[derive(Debug)]
pub struct Inbound {
    pub auth: Authenticated,
    pub request: Result<ApiRequest, ApiError>,
}

/// Route → method → size → authentication → JSON → validation (§4). An `Err` is answered with
/// [`ApiError::render`] (unsigned: 404/405/413/401).
pub fn handle<F>(req: &HttpRequest, ctx: &ServerContext, lookup: F) -> Result<Inbound, ApiError>
where
    F: Fn(&str) -> Option<MerchantProfile>,
{
    let endpoint = Endpoint::from_path(req.path).ok_or_else(ApiError::unknown_endpoint)?;
    if req.method != "POST" {
        return Err(ApiError::method_not_allowed());
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large());
    }
    let auth = authenticate(endpoint, req, ctx, lookup)?;
    let request = validate(endpoint, req.body, &auth.merchant.currencies);
    Ok(Inbound { auth, request })
}

/// §3.2 verification order: header parse → appId → timestamp window → signature → nonce format.
fn authenticate<F>(
    endpoint: Endpoint,
    req: &HttpRequest,
    ctx: &ServerContext,
    lookup: F,
) -> Result<Authenticated, ApiError>
where
    F: Fn(&str) -> Option<MerchantProfile>,
{
    let fail = ApiError::unauthorized;
    let value =
        single_authorization(req.headers).ok_or_else(|| fail(AuthFailure::MalformedHeader))?;
    let header =
        AuthorizationHeader::parse(value).map_err(|_| fail(AuthFailure::MalformedHeader))?;
    // A timestamp that is not 1–15 digits is a malformed header, not merely a stale one.
    let timestamp_ms =
        parse_timestamp(&header.timestamp).ok_or_else(|| fail(AuthFailure::MalformedHeader))?;
    let merchant = lookup(&header.app_id)
        .filter(|m| m.credentials.app_id == header.app_id)
        .ok_or_else(|| fail(AuthFailure::UnknownAppId))?;
    if merchant.check_time_window && ctx.now_ms.abs_diff(timestamp_ms) > TIME_WINDOW_MS {
        return Err(fail(AuthFailure::TimestampOutOfWindow));
    }
    let request_path = request_target(req.path, req.query);
    let mut verified = false;
    for url in url_candidates(req, ctx, &request_path) {
        // No early exit: every candidate costs the same whichever one matches.
        verified |= merchant
            .credentials
            .verify(&header, req.method, &url, req.body);
    }
    if !verified {
        return Err(fail(AuthFailure::BadSignature));
    }
    if !is_valid_nonce(&header.nonce) {
        return Err(fail(AuthFailure::NonceInvalidOrReused));
    }
    let nonce = NonceClaim {
        app_id: header.app_id,
        nonce: header.nonce,
        timestamp_ms,
    };
    Ok(Authenticated {
        endpoint,
        merchant,
        nonce,
        request_path,
    })
}

/// URL candidate 1: raw path, plus `?` and the raw query if one was sent.
pub fn request_target(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    }
}

/// The URL lines the server accepts (§3.2): the target, the absolute URL as the client reached
/// us (forwarded headers first), and the configured public base URL + target.
fn url_candidates(req: &HttpRequest, ctx: &ServerContext, target: &str) -> Vec<String> {
    let mut urls = vec![target.to_owned()];
    let scheme = first_value(req.headers, "x-forwarded-proto").unwrap_or(req.scheme);
    let host =
        first_value(req.headers, "x-forwarded-host").or_else(|| first_value(req.headers, "host"));
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        urls.push(format!("{scheme}://{host}{target}"));
    }
    if let Some(base) = ctx.public_base_url {
        urls.push(format!("{}{target}", base.trim_end_matches('/')));
    }
    urls
}

/// The first value of a header: its first occurrence, up to the first comma, trimmed.
fn first_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let (_, value) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
    value.split(',').next().map(str::trim)
}

impl Authenticated {
    /// The HTTP 200 `OK` answer with `data`, signed per §3.3 at `timestamp_ms` with `nonce`
    /// (pass [`crate::sign::fresh_nonce`]).
    pub fn render_ok(&self, data: &ResponseData, timestamp_ms: u64, nonce: &str) -> HttpResponse {
        let raw = serde_json::to_string(data).and_then(RawValue::from_string);
        match raw {
            Ok(raw) => self.signed(
                200,
                envelope_bytes("OK", None, Some(&raw)),
                timestamp_ms,
                nonce,
            ),
            Err(_) => self.render_error(&ApiError::internal(), timestamp_ms, nonce),
        }
    }

    /// An error answer after authentication: signed when its status is 200 or 5xx (§3.3),
    /// unsigned otherwise (a 401 for a replayed nonce).
    pub fn render_error(&self, error: &ApiError, timestamp_ms: u64, nonce: &str) -> HttpResponse {
        if error.is_signed() {
            self.signed(error.status(), error.body(), timestamp_ms, nonce)
        } else {
            error.render()
        }
    }

    fn signed(&self, status: u16, body: Vec<u8>, timestamp_ms: u64, nonce: &str) -> HttpResponse {
        let credentials = &self.merchant.credentials;
        let header = credentials.authorize(
            &status.to_string(),
            &self.request_path,
            timestamp_ms,
            nonce,
            &body,
        );
        HttpResponse {
            status,
            headers: vec![
                ("Content-Type".to_owned(), CONTENT_TYPE.to_owned()),
                ("Authorization".to_owned(), header.value()),
            ],
            body,
        }
    }
}
