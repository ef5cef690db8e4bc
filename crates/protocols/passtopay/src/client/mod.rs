//! The merchant-side SDK (spec 3.5): builds signed JSON requests for every endpoint, sends them,
//! and verifies responses and callbacks. Builders are pure so requests can be pre-signed and
//! their bytes checked against the spec's vectors.

mod verify;

pub use verify::{
    ClientError, Verified, parse_response, verify_callback_with, verify_redirect_with,
};

use crate::credentials::Credentials;
use crate::notify::CallbackData;
use crate::sign;
use crate::wire::{
    self, CLIENT_VERSION, CashierOrderParams, CloseData, CreateOrderData, CryptoOrderParams,
    Endpoint, PayOrderData, PayOrderRef, PaymentNotification, RefundOrderData, RefundOrderParams,
    RefundQueryData, RefundRef, SIGN_TYPE, TransferOrderData, TransferOrderParams,
    TransferQueryData, TransferRef, UnifiedOrderParams,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A signed request ready to send: method, path (appended to the base URL), headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A PassToPay API client for one merchant application.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl Client {
    /// `base_url` such as `https://pay.pass2pay.io` or a polypay host; a trailing `/` is fine.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self::with_http(base_url, credentials, reqwest::Client::new())
    }

    pub fn with_http(
        base_url: impl Into<String>,
        credentials: Credentials,
        http: reqwest::Client,
    ) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Client {
            base_url,
            credentials,
            http,
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn build_unified_order(&self, p: &UnifiedOrderParams, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::UnifiedOrder, p, &[], req_time_ms)
    }

    pub fn build_cashier_order(&self, p: &CashierOrderParams, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::CashierOrder, p, &[], req_time_ms)
    }

    pub fn build_crypto_order(&self, p: &CryptoOrderParams, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::CryptoOrder, p, &[], req_time_ms)
    }

    pub fn build_query_payment(&self, r: &PayOrderRef, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::PayQuery, &(), &[pay_ref(r)], req_time_ms)
    }

    pub fn build_close_payment(&self, r: &PayOrderRef, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::PayClose, &(), &[pay_ref(r)], req_time_ms)
    }

    pub fn build_refund(
        &self,
        payment: &PayOrderRef,
        p: &RefundOrderParams,
        req_time_ms: i64,
    ) -> PreparedRequest {
        self.build(Endpoint::RefundOrder, p, &[pay_ref(payment)], req_time_ms)
    }

    pub fn build_query_refund(&self, r: &RefundRef, req_time_ms: i64) -> PreparedRequest {
        let member = match r {
            RefundRef::RefundOrderId(id) => ("refundOrderId", id),
            RefundRef::MchRefundNo(no) => ("mchRefundNo", no),
        };
        self.build(Endpoint::RefundQuery, &(), &[member], req_time_ms)
    }

    pub fn build_transfer(&self, p: &TransferOrderParams, req_time_ms: i64) -> PreparedRequest {
        self.build(Endpoint::TransferOrder, p, &[], req_time_ms)
    }

    pub fn build_query_transfer(&self, r: &TransferRef, req_time_ms: i64) -> PreparedRequest {
        let member = match r {
            TransferRef::TransferId(id) => ("transferId", id),
            TransferRef::MchOrderNo(no) => ("mchOrderNo", no),
        };
        self.build(Endpoint::TransferQuery, &(), &[member], req_time_ms)
    }

    pub async fn create_unified_order(
        &self,
        p: &UnifiedOrderParams,
    ) -> Result<Verified<CreateOrderData>, ClientError> {
        self.send(self.build_unified_order(p, now_ms())).await
    }

    pub async fn create_cashier_order(
        &self,
        p: &CashierOrderParams,
    ) -> Result<Verified<CreateOrderData>, ClientError> {
        self.send(self.build_cashier_order(p, now_ms())).await
    }

    pub async fn create_crypto_order(
        &self,
        p: &CryptoOrderParams,
    ) -> Result<Verified<CreateOrderData>, ClientError> {
        self.send(self.build_crypto_order(p, now_ms())).await
    }

    pub async fn query_payment(
        &self,
        r: &PayOrderRef,
    ) -> Result<Verified<PayOrderData>, ClientError> {
        self.send(self.build_query_payment(r, now_ms())).await
    }

    pub async fn close_payment(&self, r: &PayOrderRef) -> Result<Verified<CloseData>, ClientError> {
        self.send(self.build_close_payment(r, now_ms())).await
    }

    pub async fn refund(
        &self,
        payment: &PayOrderRef,
        p: &RefundOrderParams,
    ) -> Result<Verified<RefundOrderData>, ClientError> {
        self.send(self.build_refund(payment, p, now_ms())).await
    }

    pub async fn query_refund(
        &self,
        r: &RefundRef,
    ) -> Result<Verified<RefundQueryData>, ClientError> {
        self.send(self.build_query_refund(r, now_ms())).await
    }

    pub async fn transfer(
        &self,
        p: &TransferOrderParams,
    ) -> Result<Verified<TransferOrderData>, ClientError> {
        self.send(self.build_transfer(p, now_ms())).await
    }

    pub async fn query_transfer(
        &self,
        r: &TransferRef,
    ) -> Result<Verified<TransferQueryData>, ClientError> {
        self.send(self.build_query_transfer(r, now_ms())).await
    }

    /// Verifies a received notification (query string, headers, body) with this app's secret.
    /// Reply [`crate::notify::ACK_BODY`] once it is processed.
    pub fn verify_callback(
        &self,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<CallbackData, ClientError> {
        verify_callback_with(query, headers, body, &self.credentials.app_secret)
    }

    /// Verifies the customer's return to `returnUrl` (the full URL or just its query string).
    pub fn verify_redirect(&self, url_or_query: &str) -> Result<PaymentNotification, ClientError> {
        verify_redirect_with(url_or_query, &self.credentials.app_secret)
    }

    /// Sends a prepared request and verifies the response's `sign` ([`parse_response`]: required
    /// unless `data` has no non-empty member, spec 3.4).
    pub async fn send<T: DeserializeOwned>(
        &self,
        req: PreparedRequest,
    ) -> Result<Verified<T>, ClientError> {
        let url = format!("{}{}", self.base_url, req.path);
        let mut builder = self.http.post(url).body(req.body);
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.map_err(ClientError::Http)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(ClientError::Http)?;
        parse_response(&body, &self.credentials.app_secret).map_err(|e| e.with_status(status))
    }

    /// Common fields + endpoint fields, signed over exactly what is sent (spec 3.5).
    fn build<T: Serialize>(
        &self,
        endpoint: Endpoint,
        params: &T,
        extra: &[(&str, &String)],
        req_time_ms: i64,
    ) -> PreparedRequest {
        let c = &self.credentials;
        let mut members = wire::sorted_members(params);
        let common = [
            ("appId", c.app_id.clone()),
            ("mchNo", c.mch_no.clone()),
            ("reqTime", req_time_ms.to_string()),
            ("signType", SIGN_TYPE.to_owned()),
            ("version", CLIENT_VERSION.to_owned()),
        ];
        let extra = extra.iter().map(|(k, v)| (*k, (*v).clone()));
        for (name, value) in common.into_iter().chain(extra) {
            if !value.is_empty() {
                members.push((name.to_owned(), serde_json::Value::String(value)));
            }
        }
        let signature = sign::sign_pairs(&wire::rendered_members(&members), c.app_secret.expose());
        members.push((sign::SIGN.to_owned(), serde_json::Value::String(signature)));
        members.sort_by(|a, b| a.0.cmp(&b.0));
        PreparedRequest {
            method: "POST",
            path: endpoint.path(),
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: wire::json_object(&members).into_bytes(),
        }
    }
}

fn pay_ref(r: &PayOrderRef) -> (&'static str, &String) {
    match r {
        PayOrderRef::PayOrderId(id) => ("payOrderId", id),
        PayOrderRef::MchOrderNo(no) => ("mchOrderNo", no),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
