//! The merchant-side SDK: signed requests for E1–E8 and widget links, response parsing, webhook checks.
//!
//! Each call is split into a pure `build_*` (exact bytes, time passed in) and a send. BlockATM
//! does not sign responses, so there is no response signature to verify; webhooks are verified
//! by [`Client::verify_callback`].

mod callback;

pub use callback::{Callback, CallbackEvent, PaymentCallback, PayoutCallback, parse_redirect};

use crate::Error;
use crate::inbound::Endpoint;
use crate::notify::OutboundRequest;
use crate::sign::widget::{query_from_params, sign_query_v1, sign_query_v2};
use crate::sign::{
    EcPublicKey, EcSigningKey, Scheme, Signer, canonical_get, canonical_post, parse_body,
};
use crate::wire::{
    CashierInfo, CreateOrderData, CreateOrderRequest, CreatePayoutRequest, NetworkInfo,
    PayOrderDetail, PayOrderListItem, PayoutDetail, ReceivedEnvelope, TokenInfo,
};
use serde::de::DeserializeOwned;
use std::fmt;

/// What the merchant holds.
pub struct ClientCredentials {
    pub api_key: String,
    pub secret_key: String,
    /// The merchant's V1 private key; when set, requests and widget links are signed with it.
    pub ec_private_key: Option<EcSigningKey>,
    /// polypay's (the platform's) public key, to verify V1 webhooks.
    pub platform_public_key: Option<EcPublicKey>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("api_key", &"<redacted>")
            .field("secret_key", &"<redacted>")
            .field(
                "ec_private_key",
                &self.ec_private_key.as_ref().map(|_| "<redacted>"),
            )
            .field("platform_public_key", &self.platform_public_key)
            .finish()
    }
}

impl ClientCredentials {
    /// The scheme requests and widget links are signed with: V1 when an EC key is set.
    pub fn scheme(&self) -> Scheme {
        self.signer().scheme()
    }

    fn signer(&self) -> Signer<'_> {
        match &self.ec_private_key {
            Some(key) => Signer::Ecdsa(key),
            None => Signer::Hmac(&self.secret_key),
        }
    }
}

/// A request ready to send: `path` includes the query string exactly as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// E3 filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentListFilter {
    pub order_no: String,
    pub chain_id: Option<String>,
    pub cust_no: Option<String>,
    pub symbol: Option<String>,
}

/// A successful answer's data and trace id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse<T> {
    pub data: T,
    pub trace: Option<String>,
}

/// The BlockATM client.
#[derive(Debug)]
pub struct Client {
    base_url: String,
    credentials: ClientCredentials,
    http: reqwest::Client,
    /// Sent as `BlockATM-Rec_Window` when set.
    pub recv_window_ms: Option<u64>,
}

impl Client {
    /// `base_url` like `https://open.blockatm.net` (a trailing `/` is ignored).
    pub fn new(base_url: &str, credentials: ClientCredentials, http: reqwest::Client) -> Client {
        Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            http,
            recv_window_ms: None,
        }
    }

    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// E1: `POST /order/api/v2/pay/order`.
    pub fn build_create_order(
        &self,
        req: &CreateOrderRequest,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        self.prepared_post(Endpoint::CreateOrder, serde_json::to_vec(req)?, time_ms)
    }

    /// E2: `GET /order/api/v2/payorder/detail?orderNo=`.
    pub fn build_payment_detail(
        &self,
        order_no: &str,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        self.prepared_get(
            Endpoint::PaymentDetail,
            &[("orderNo", Some(order_no))],
            time_ms,
        )
    }

    /// E3: `GET /order/api/v2/payorder/list?orderNo=…` (absent filters are left out).
    pub fn build_payment_list(
        &self,
        filter: &PaymentListFilter,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        let params = [
            ("orderNo", Some(filter.order_no.as_str())),
            ("chainId", filter.chain_id.as_deref()),
            ("custNo", filter.cust_no.as_deref()),
            ("symbol", filter.symbol.as_deref()),
        ];
        self.prepared_get(Endpoint::PaymentList, &params, time_ms)
    }

    /// E4: `POST /order/api/v2/payout/order`.
    pub fn build_create_payout(
        &self,
        req: &CreatePayoutRequest,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        self.prepared_post(Endpoint::CreatePayout, serde_json::to_vec(req)?, time_ms)
    }

    /// E5: `GET /order/api/v2/payout/detail?bizOrderNo=`.
    pub fn build_payout_detail(
        &self,
        biz_order_no: &str,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        self.prepared_get(
            Endpoint::PayoutDetail,
            &[("bizOrderNo", Some(biz_order_no))],
            time_ms,
        )
    }

    /// E6: `GET /admin/api/v2/pub/cashier/info?cashierId=`.
    pub fn build_cashier_info(
        &self,
        cashier_id: i64,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        let id = cashier_id.to_string();
        self.prepared_get(
            Endpoint::CashierInfo,
            &[("cashierId", Some(id.as_str()))],
            time_ms,
        )
    }

    /// E7: `GET /admin/api/v2/pub/symbolList` (no key, no signature).
    pub fn build_symbol_list(
        &self,
        chain_id: Option<&str>,
        symbol: Option<&str>,
    ) -> Result<PreparedRequest, Error> {
        self.prepared_get(
            Endpoint::SymbolList,
            &[("chainId", chain_id), ("symbol", symbol)],
            0,
        )
    }

    /// E8: `GET /admin/api/v2/pub/allNetworks` (no key, no signature).
    pub fn build_all_networks(&self) -> Result<PreparedRequest, Error> {
        self.prepared_get(Endpoint::AllNetworks, &[], 0)
    }

    fn prepared_post(
        &self,
        endpoint: Endpoint,
        body: Vec<u8>,
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        let time = time_ms.to_string();
        let canonical = canonical_post(&parse_body(&body)?, &time);
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        self.auth_headers(&mut headers, &canonical, &time)?;
        Ok(PreparedRequest {
            method: "POST",
            path: endpoint.route().1.to_owned(),
            headers,
            body,
        })
    }

    /// GET requests: keyed endpoints carry the key and (always, since the client holds the
    /// secret) a signature over the query exactly as it appears in `path`.
    fn prepared_get(
        &self,
        endpoint: Endpoint,
        params: &[(&str, Option<&str>)],
        time_ms: u64,
    ) -> Result<PreparedRequest, Error> {
        let query = query_from_params(params);
        let mut path = endpoint.route().1.to_owned();
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query);
        }
        let mut headers = Vec::new();
        if endpoint.keyed() {
            let time = time_ms.to_string();
            let canonical = canonical_get((!query.is_empty()).then_some(query.as_str()), &time);
            self.auth_headers(&mut headers, &canonical, &time)?;
        }
        Ok(PreparedRequest {
            method: "GET",
            path,
            headers,
            body: Vec::new(),
        })
    }

    fn auth_headers(
        &self,
        headers: &mut Vec<(String, String)>,
        canonical: &str,
        time: &str,
    ) -> Result<(), Error> {
        let signer = self.credentials.signer();
        headers.push((
            crate::HEADER_API_KEY.into(),
            self.credentials.api_key.clone(),
        ));
        headers.push((crate::HEADER_REQUEST_TIME.into(), time.to_owned()));
        if let Some(window) = self.recv_window_ms {
            headers.push((crate::HEADER_REC_WINDOW.into(), window.to_string()));
        }
        headers.push((signer.scheme().header().into(), signer.sign(canonical)?));
        Ok(())
    }

    /// Signs a widget query (no `?`): V1 when the client has an EC key, else V2.
    pub fn sign_widget_query(&self, query: &str) -> Result<String, Error> {
        match &self.credentials.ec_private_key {
            Some(key) => sign_query_v1(query, key),
            None => Ok(sign_query_v2(query, &self.credentials.secret_key)),
        }
    }

    /// A signed cashier link `<cashier_url>?apiKey=…&…&signature=…`: `apiKey` first (added when
    /// `params` lacks it), then `params` in order, `encodeURIComponent`-encoded, `None` skipped.
    pub fn widget_url(
        &self,
        cashier_url: &str,
        params: &[(&str, Option<&str>)],
    ) -> Result<String, Error> {
        let mut all: Vec<(&str, Option<&str>)> = Vec::with_capacity(params.len() + 1);
        if !params.iter().any(|(n, _)| *n == "apiKey") {
            all.push(("apiKey", Some(self.credentials.api_key.as_str())));
        }
        all.extend_from_slice(params);
        let signed = self.sign_widget_query(&query_from_params(&all))?;
        let separator = if cashier_url.contains('?') { "&" } else { "?" };
        Ok(format!("{cashier_url}{separator}{signed}"))
    }

    /// Verifies a webhook given its headers and raw body (see [`callback`] for the rules).
    pub fn verify_callback(
        &self,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Callback, Error> {
        callback::verify(&self.credentials, headers, body)
    }

    /// The request as an [`OutboundRequest`] against this client's base URL.
    pub fn outbound(&self, prepared: PreparedRequest) -> OutboundRequest {
        OutboundRequest {
            method: prepared.method,
            url: format!("{}{}", self.base_url, prepared.path),
            headers: prepared.headers,
            body: prepared.body,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        prepared: PreparedRequest,
    ) -> Result<ApiResponse<T>, Error> {
        let out = self.outbound(prepared);
        let method = if out.method == "POST" {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let mut builder = self.http.request(method, &out.url);
        for (name, value) in &out.headers {
            builder = builder.header(name, value);
        }
        if out.method == "POST" {
            builder = builder.body(out.body);
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        parse_response(status, &bytes)
    }

    pub async fn create_order(
        &self,
        req: &CreateOrderRequest,
    ) -> Result<ApiResponse<CreateOrderData>, Error> {
        self.send(self.build_create_order(req, now_ms())?).await
    }

    pub async fn payment_detail(
        &self,
        order_no: &str,
    ) -> Result<ApiResponse<PayOrderDetail>, Error> {
        self.send(self.build_payment_detail(order_no, now_ms())?)
            .await
    }

    pub async fn payment_list(
        &self,
        filter: &PaymentListFilter,
    ) -> Result<ApiResponse<Vec<PayOrderListItem>>, Error> {
        self.send(self.build_payment_list(filter, now_ms())?).await
    }

    /// E4 answers `data: null` on success.
    pub async fn create_payout(&self, req: &CreatePayoutRequest) -> Result<ApiResponse<()>, Error> {
        self.send(self.build_create_payout(req, now_ms())?).await
    }

    pub async fn payout_detail(
        &self,
        biz_order_no: &str,
    ) -> Result<ApiResponse<PayoutDetail>, Error> {
        self.send(self.build_payout_detail(biz_order_no, now_ms())?)
            .await
    }

    pub async fn cashier_info(&self, cashier_id: i64) -> Result<ApiResponse<CashierInfo>, Error> {
        self.send(self.build_cashier_info(cashier_id, now_ms())?)
            .await
    }

    pub async fn symbol_list(
        &self,
        chain_id: Option<&str>,
        symbol: Option<&str>,
    ) -> Result<ApiResponse<Vec<TokenInfo>>, Error> {
        self.send(self.build_symbol_list(chain_id, symbol)?).await
    }

    pub async fn all_networks(&self) -> Result<ApiResponse<Vec<NetworkInfo>>, Error> {
        self.send(self.build_all_networks()?).await
    }
}

/// Reads an answer: a BlockATM envelope with `code == "200"` and `success == true`, else
/// [`Error::Api`] with the envelope's code and `msg` (or `message`).
pub fn parse_response<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<ApiResponse<T>, Error> {
    let envelope: ReceivedEnvelope =
        serde_json::from_slice(body).map_err(|_| Error::Response { status })?;
    let code = match &envelope.code {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return Err(Error::Response { status }),
    };
    if code != "200" || envelope.success != Some(true) {
        let msg = envelope.msg.unwrap_or_default();
        return Err(Error::Api { status, code, msg });
    }
    let data = envelope.data.as_ref().map_or("null", |raw| raw.get());
    Ok(ApiResponse {
        data: serde_json::from_str(data)?,
        trace: envelope.trace,
    })
}

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}
