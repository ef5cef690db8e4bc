//! The merchant-side SDK: builds signed requests (pure `build_*`, so requests can be pre-signed
//! and checked byte for byte), sends them, and verifies the signed answers (§3.3); webhook and
//! redirect verification live in `client/verify.rs`. It follows the spec, not polypay's server.

use crate::envelope::CONTENT_TYPE;
use crate::error::Error;
use crate::sign::{AuthorizationHeader, Credentials, fresh_nonce, single_authorization};
use crate::wire::{
    BalanceData, BalanceQueryRequest, Endpoint, Envelope, PaymentCreateData, PaymentCreateRequest,
    PaymentData, PaymentQueryRequest, PayoutCreateData, PayoutCreateRequest, PayoutData,
    PayoutQueryRequest, RefundCreateRequest, RefundData, RefundQueryRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod verify;
pub use verify::VerifiedCallback;

/// A signed request, ready to send (or to inspect in tests and load generators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    /// The absolute URL requested — also the URL line signed, as the live client does (§3.2).
    pub url: String,
    /// The request target (path and query): the `REQUEST_PATH` of the response signature.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A parsed answer. `data` is present only for `code` = `OK`. Trust nothing in it unless
/// `signature_verified` (see [`ApiResponse::into_verified`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse<T> {
    pub http_status: u16,
    pub code: String,
    pub error_message: Option<String>,
    pub data: Option<T>,
    /// The `Authorization` response header named our appId and its sign matched (§3.3).
    /// 401/404/405/413 answers are unsigned, so this is false for them.
    pub signature_verified: bool,
}

impl<T> ApiResponse<T> {
    /// HTTP 200 and `code` = `OK` (§4: read both).
    pub fn is_ok(&self) -> bool {
        self.http_status == 200 && self.code == "OK"
    }

    /// The response, or [`Error::BadSignature`] if its signature did not verify.
    pub fn into_verified(self) -> Result<ApiResponse<T>, Error> {
        if self.signature_verified {
            Ok(self)
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// A merchant's connection to one gateway.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl Client {
    /// `base_url` is `scheme://host[:port]` plus an optional prefix such as `/pg`
    /// (e.g. `https://gateway-sandbox.eanishop.com/pg`); endpoint paths `/v2/...` are appended.
    pub fn new(base_url: &str, credentials: Credentials) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        Client::with_http_client(base_url, credentials, http)
    }

    /// As [`Client::new`], with a caller-configured reqwest client (proxies, timeouts, pools).
    pub fn with_http_client(
        base_url: &str,
        credentials: Credentials,
        http: reqwest::Client,
    ) -> Result<Client, Error> {
        let url = reqwest::Url::parse(base_url)
            .map_err(|_| Error::InvalidUrl("base URL does not parse"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::InvalidUrl(
                "base URL must be an absolute http(s) URL",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::InvalidUrl(
                "base URL must not have a query or fragment",
            ));
        }
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Client {
            base_url,
            credentials,
            http,
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Signs `body` (exact bytes) for `endpoint` at `timestamp_ms` with `nonce`.
    pub fn build(
        &self,
        endpoint: Endpoint,
        body: Vec<u8>,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        let joined = format!("{}{}", self.base_url, endpoint.path());
        let url = reqwest::Url::parse(&joined)
            .map_err(|_| Error::InvalidUrl("endpoint URL does not parse"))?;
        // Sign the URL in the form reqwest will put on the wire, so the server's absolute-URL
        // candidate (built from the Host header it receives) sees the same bytes.
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let header = self
            .credentials
            .authorize("POST", url.as_str(), timestamp_ms, nonce, &body);
        Ok(PreparedRequest {
            method: "POST",
            url: url.to_string(),
            path,
            headers: vec![
                ("Content-Type".to_owned(), CONTENT_TYPE.to_owned()),
                ("Authorization".to_owned(), header.value()),
            ],
            body,
        })
    }

    fn build_json<B: Serialize>(
        &self,
        endpoint: Endpoint,
        body: &B,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build(endpoint, serde_json::to_vec(body)?, timestamp_ms, nonce)
    }

    pub fn build_payment_create(
        &self,
        req: &PaymentCreateRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::PaymentCreate, req, timestamp_ms, nonce)
    }

    pub fn build_payment_query(
        &self,
        req: &PaymentQueryRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::PaymentQuery, req, timestamp_ms, nonce)
    }

    pub fn build_payout_create(
        &self,
        req: &PayoutCreateRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::PayoutCreate, req, timestamp_ms, nonce)
    }

    pub fn build_payout_query(
        &self,
        req: &PayoutQueryRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::PayoutQuery, req, timestamp_ms, nonce)
    }

    pub fn build_refund_create(
        &self,
        req: &RefundCreateRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::RefundCreate, req, timestamp_ms, nonce)
    }

    pub fn build_refund_query(
        &self,
        req: &RefundQueryRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::RefundQuery, req, timestamp_ms, nonce)
    }

    pub fn build_balance_query(
        &self,
        req: &BalanceQueryRequest,
        timestamp_ms: u64,
        nonce: &str,
    ) -> Result<PreparedRequest, Error> {
        self.build_json(Endpoint::BalanceQuery, req, timestamp_ms, nonce)
    }

    pub async fn payment_create(
        &self,
        req: &PaymentCreateRequest,
    ) -> Result<ApiResponse<PaymentCreateData>, Error> {
        self.send(&self.build_payment_create(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn payment_query(
        &self,
        req: &PaymentQueryRequest,
    ) -> Result<ApiResponse<PaymentData>, Error> {
        self.send(&self.build_payment_query(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn payout_create(
        &self,
        req: &PayoutCreateRequest,
    ) -> Result<ApiResponse<PayoutCreateData>, Error> {
        self.send(&self.build_payout_create(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn payout_query(
        &self,
        req: &PayoutQueryRequest,
    ) -> Result<ApiResponse<PayoutData>, Error> {
        self.send(&self.build_payout_query(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn refund_create(
        &self,
        req: &RefundCreateRequest,
    ) -> Result<ApiResponse<RefundData>, Error> {
        self.send(&self.build_refund_create(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn refund_query(
        &self,
        req: &RefundQueryRequest,
    ) -> Result<ApiResponse<RefundData>, Error> {
        self.send(&self.build_refund_query(req, now_ms(), &fresh_nonce())?)
            .await
    }

    pub async fn balance_query(
        &self,
        req: &BalanceQueryRequest,
    ) -> Result<ApiResponse<BalanceData>, Error> {
        self.send(&self.build_balance_query(req, now_ms(), &fresh_nonce())?)
            .await
    }

    /// Sends a prepared request and parses + verifies the answer.
    pub async fn send<T: DeserializeOwned>(
        &self,
        prepared: &PreparedRequest,
    ) -> Result<ApiResponse<T>, Error> {
        let mut request = self.http.post(&prepared.url).body(prepared.body.clone());
        for (name, value) in &prepared.headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().await?;
        self.parse_response(&prepared.path, status, &headers, &body)
    }

    /// Parses an answer to the request whose target was `request_path`, verifying its
    /// `Authorization` header (§3.3). Pure.
    pub fn parse_response<T: DeserializeOwned>(
        &self,
        request_path: &str,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<ApiResponse<T>, Error> {
        let signature_verified = self.response_signed(request_path, status, headers, body);
        let envelope: Envelope<serde_json::Value> =
            serde_json::from_slice(body).map_err(|e| Error::UnexpectedResponse {
                status,
                reason: format!("body is not the JSON envelope: {e}"),
            })?;
        let data = match (envelope.code.as_str(), envelope.data) {
            ("OK", Some(data)) => Some(serde_json::from_value(data)?),
            ("OK", None) => {
                return Err(Error::UnexpectedResponse {
                    status,
                    reason: "OK without data".to_owned(),
                });
            }
            _ => None,
        };
        Ok(ApiResponse {
            http_status: status,
            code: envelope.code,
            error_message: envelope.error_message,
            data,
            signature_verified,
        })
    }

    fn response_signed(
        &self,
        request_path: &str,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> bool {
        let Some(header) =
            single_authorization(headers).and_then(|v| AuthorizationHeader::parse(v).ok())
        else {
            return false;
        };
        header.app_id == self.credentials.app_id
            && self
                .credentials
                .verify(&header, &status.to_string(), request_path, body)
    }
}

/// The client's clock (client code is not the pure server core).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
