//! The HTTP glue (§2–§5): the axum router at the spec's paths, which runs the pure front door
//! ([`crate::inbound::handle`]), claims the nonce in the shared store, calls the engine, and
//! renders the signed answer. [`notifier`] gives the dispatcher this protocol's webhook rules.

mod balance;
mod errors;
mod payment;
mod payout;
mod refund;

use crate::callbacks::Notifier;
use crate::envelope::{ApiError, AuthFailure, HttpResponse};
use crate::inbound::{Inbound, MAX_BODY_BYTES, NONCE_TTL_MS, ServerContext, handle};
use crate::settings::Settings;
use crate::sign::{AuthorizationHeader, fresh_nonce, single_authorization};
use crate::validate::ApiRequest;
use crate::wire::{Endpoint, ResponseData};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::any;
use polypay_core::{Merchant, Protocol, SignatureRejected};
use polypay_engine::{Engine, EngineError, NonceClaim, Platform};
use polypay_notify::ProtocolNotifier;
use std::sync::Arc;

/// Every endpoint of §2, with and without `/pg`. The catch-alls make any other path under
/// `/v2/` and `/pg/` answer the spec's 404 envelope.
pub fn router(engine: Engine, platform: Arc<Platform>) -> Router {
    let gateway = Arc::new(Gateway { engine, platform });
    Router::new()
        .route("/v2/{*rest}", any(serve))
        .route("/pg/{*rest}", any(serve))
        .with_state(gateway)
}

/// The webhook encoder, ack rule, retry schedule and sync redirect of §7.
/// Needs nothing from the platform: webhooks are signed with the merchant's own secret.
pub fn notifier(platform: Arc<Platform>) -> Arc<dyn ProtocolNotifier> {
    let _ = platform;
    Arc::new(Notifier)
}

/// What every handler shares.
pub(crate) struct Gateway {
    pub(crate) engine: Engine,
    pub(crate) platform: Arc<Platform>,
}

/// An authenticated merchant, with its options.
pub(crate) struct Caller {
    pub(crate) merchant: Merchant,
    pub(crate) settings: Settings,
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let refused = match gateway.answer(request).await {
        Ok(answer) => return to_axum(answer),
        Err(refused) => refused,
    };
    let mut response = to_axum(refused.render());
    let failed = |why| refused == ApiError::unauthorized(why);
    if failed(AuthFailure::BadSignature) || failed(AuthFailure::TimestampOutOfWindow) {
        let mark = SignatureRejected(Protocol::V2sha256);
        response.extensions_mut().insert(mark);
    }
    response
}

impl Gateway {
    /// §4 order: route → method → size → authentication → JSON → validation → business.
    /// `Err` is a refusal before authentication completed, answered unsigned.
    async fn answer(&self, request: Request) -> Result<HttpResponse, ApiError> {
        let (parts, body) = request.into_parts();
        if Endpoint::from_path(parts.uri.path()).is_none() {
            return Err(ApiError::unknown_endpoint());
        }
        if parts.method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        // A read error is (almost always) the limit: ours, or the server's global one.
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return Err(ApiError::too_large());
        };
        let headers = header_pairs(&parts.headers);
        let caller = self.caller(&headers).await?;
        let profile = caller.as_ref().map(|c| {
            let mut profile = c.settings.profile(&c.merchant);
            // The switch is for replaying sandbox fixtures (§8): a gateway always checks the
            // window, or a request captured once could be replayed after its nonce's claim
            // (ten minutes) has lapsed.
            profile.check_time_window |= !self.platform.sandbox;
            profile
        });
        let http = crate::inbound::HttpRequest {
            method: parts.method.as_str(),
            scheme: "http",
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &headers,
            body: &body,
        };
        let ctx = ServerContext {
            now_ms: self.now_ms(),
            public_base_url: Some(&self.platform.public_base_url),
        };
        let inbound = handle(&http, &ctx, |_| profile.clone())?;
        match caller {
            Some(caller) => Ok(self.authenticated(inbound, caller).await),
            // handle() accepted a signature, so the lookup found the merchant.
            None => Err(ApiError::internal()),
        }
    }

    /// Claims the nonce (cross-node replay protection), then runs the request. A payment
    /// create claims it in the commit that writes the payment (one commit, not two); when
    /// that create is refused, the nonce is claimed on its own before the refusal is sent, so
    /// every request with a valid signature consumes its nonce (§3.3), whatever its outcome.
    async fn authenticated(&self, inbound: Inbound, caller: Caller) -> HttpResponse {
        let Inbound { auth, request } = inbound;
        let claim = NonceClaim {
            scope: format!("v2sha256:{}", auth.nonce.app_id),
            nonce: auth.nonce.nonce.clone(),
            ttl_ms: NONCE_TTL_MS as i64,
            at: self.engine.clock().wall(),
        };
        let result = match request {
            Ok(ApiRequest::PaymentCreate(r)) => {
                match self.create_payment(&caller, r, Some(claim.clone())).await {
                    Err(e) if e != ApiError::nonce_reused() => self.claim(&claim).await.and(Err(e)),
                    done => done,
                }
            }
            request => {
                let claimed = self.claim(&claim).await;
                match claimed.and(request) {
                    Ok(request) => self.business(&caller, request).await,
                    Err(e) => Err(e),
                }
            }
        };
        let (now, nonce) = (self.now_ms(), fresh_nonce());
        match result {
            Ok(data) => auth.render_ok(&data, now, &nonce),
            Err(e) => auth.render_error(&e, now, &nonce),
        }
    }

    /// Claims the request's nonce on its own.
    async fn claim(&self, claim: &NonceClaim) -> Result<(), ApiError> {
        match self
            .engine
            .claim_nonce(&claim.scope, &claim.nonce, claim.ttl_ms)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::nonce_reused()),
            Err(e) => Err(errors::internal(&e)),
        }
    }

    async fn business(
        &self,
        caller: &Caller,
        request: ApiRequest,
    ) -> Result<ResponseData, ApiError> {
        match request {
            ApiRequest::PaymentCreate(r) => self.create_payment(caller, r, None).await,
            ApiRequest::PaymentQuery(l) => self.query_payment(caller, &l).await,
            ApiRequest::PayoutCreate(r) => self.create_payout(caller, r).await,
            ApiRequest::PayoutQuery(l) => self.query_payout(caller, &l).await,
            ApiRequest::RefundCreate(r) => self.create_refund(caller, r).await,
            ApiRequest::RefundQuery(l) => self.query_refund(caller, &l).await,
            ApiRequest::BalanceQuery(r) => self.query_balance(caller, r).await,
        }
    }

    /// The merchant named by the `Authorization` header's appId, if any. Only a store failure
    /// is an error (answered unsigned: nobody is authenticated yet).
    async fn caller(&self, headers: &[(String, String)]) -> Result<Option<Caller>, ApiError> {
        let header = single_authorization(headers).and_then(|v| AuthorizationHeader::parse(v).ok());
        let Some(header) = header else {
            return Ok(None);
        };
        match self
            .engine
            .merchant_by_key(Protocol::V2sha256, &header.app_id)
            .await
        {
            Ok(merchant) if merchant.enabled => {
                let settings = Settings::of(&merchant);
                Ok(Some(Caller { merchant, settings }))
            }
            Ok(_) | Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(errors::internal(&e)),
        }
    }

    /// The merchant's clock ([`polypay_core::Clock::wall`]): what the request's timestamp is
    /// checked against and the response's is set to. Sandbox time travel does not move it.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.engine.clock().wall().millis()).unwrap_or(0)
    }

    /// A provider-style number: prefix, UTC date `yyyyMMdd`, a shared sequence (unique across
    /// nodes) padded to 10 digits — e.g. `PAY202405140000000001`.
    pub(crate) async fn next_number(&self, prefix: &str) -> Result<String, ApiError> {
        let seq = self
            .engine
            .next_sequence(&number_sequence(prefix), 1)
            .await
            .map_err(|e| errors::internal(&e))?;
        Ok(self.numbering(prefix)(seq))
    }

    /// Formats a drawn value of `prefix`'s sequence as [`Gateway::next_number`] does (the date
    /// is today's, taken now).
    pub(crate) fn numbering(&self, prefix: &str) -> impl Fn(i64) -> String + Send + 'static {
        let now = self.engine.clock().now();
        let date = jiff::Timestamp::from_millisecond(now.millis())
            .map(|t| t.strftime("%Y%m%d").to_string())
            .unwrap_or_else(|_| "19700101".to_owned());
        let prefix = prefix.to_owned();
        move |seq| format!("{prefix}{date}{seq:010}")
    }
}

/// The sequence behind `prefix`'s numbers.
pub(crate) fn number_sequence(prefix: &str) -> String {
    format!("v2sha256:{prefix}")
}

/// Header (name, value) pairs; a value that is not UTF-8 is kept (lossily) so that a repeated
/// `Authorization` header is still seen as repeated.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), value)
        })
        .collect()
}

fn to_axum(r: HttpResponse) -> Response {
    let mut builder = Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(r.body)).unwrap_or_else(|e| {
        tracing::error!(error = %e, "v2sha256: response could not be built");
        let mut fallback = Response::new(Body::empty());
        *fallback.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
