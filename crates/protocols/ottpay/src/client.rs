//! The merchant-side SDK: builds encrypted processV2 requests, sends them, decrypts and verifies
//! responses, and verifies callbacks and redirects — following the spec, not polypay's server.

use crate::data::DataObject;
use crate::sign::{self, OpenError, SignKey};
use crate::wire::{
    Action, ActivePayRequest, ActivePayResponse, CallbackData, ExRateQueryRequest, ExRateResponse,
    H5PayRequest, H5PayResponse, PrepayInitRequest, PrepayInitResponse, PrepayQueryRequest,
    PrepayQueryResponse, RefundRequest, RefundResponse, RequestEnvelope, RspCode,
    StatusQueryRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

mod links;
mod reply;

pub use links::{parse_redirect, with_redirect_url, with_selected_method};
pub use reply::{Reply, StatusQueryData};
use reply::{map_reply, status_query_data};

/// Why a client call or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected HTTP status {0}")]
    HttpStatus(u16),
    /// The body is not an OTT envelope (missing/ill-typed field named).
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// Wrong signKey or corrupted `data`.
    #[error("data cannot be decrypted")]
    Undecryptable,
    #[error("duplicate key in data: {0}")]
    DuplicateKey(String),
    #[error("md5 mismatch")]
    Md5Mismatch,
    #[error("message is for another merchant")]
    MerchantMismatch,
    #[error("unexpected rsp_code {0}")]
    UnexpectedCode(String),
    /// The decrypted data does not fit the expected type.
    #[error("data: {0}")]
    Data(#[from] serde_json::Error),
}

/// What a merchant is issued. `Debug` redacts the signKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub merchant_id: String,
    pub sign_key: SignKey,
}

/// A fully built request: send these bytes as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A processV2 client for one merchant.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    path: String,
    credentials: ClientCredentials,
    http: reqwest::Client,
}

impl Client {
    /// `base_url` like `https://frontapi.ottpay.com:443`; requests go to `/processV2`.
    pub fn new(base_url: &str, credentials: ClientCredentials, http: reqwest::Client) -> Client {
        Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            path: "/processV2".to_owned(),
            credentials,
            http,
        }
    }

    /// Uses another endpoint path, e.g. the `/process` alias.
    pub fn with_path(mut self, path: &str) -> Client {
        self.path = path.to_owned();
        self
    }

    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// Builds any action from its data JSON text (sent byte for byte) with an explicit version.
    /// The data must be a flat JSON object without duplicate keys.
    pub fn build_raw(
        &self,
        action: &str,
        version: &str,
        data_json: &str,
    ) -> Result<PreparedRequest, ClientError> {
        let sealed = sign::seal(data_json, &self.credentials.sign_key)
            .map_err(|_| ClientError::Malformed("data"))?;
        let envelope = RequestEnvelope {
            action: action.to_owned(),
            version: version.to_owned(),
            merchant_id: self.credentials.merchant_id.clone(),
            data: sealed.data,
            md5: sealed.md5,
        };
        Ok(PreparedRequest {
            method: "POST",
            path: self.path.clone(),
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("Accept", "application/json".to_owned()),
            ],
            body: serde_json::to_vec(&envelope)?,
        })
    }

    fn build<T: Serialize>(
        &self,
        action: Action,
        data: &T,
    ) -> Result<PreparedRequest, ClientError> {
        let json = serde_json::to_string(data)?;
        let version = action.documented_version().as_str();
        self.build_raw(action.as_str(), version, &json)
    }

    pub fn build_active_pay(&self, req: &ActivePayRequest) -> Result<PreparedRequest, ClientError> {
        self.build(Action::ActivePay, req)
    }

    pub fn build_h5_pay(&self, req: &H5PayRequest) -> Result<PreparedRequest, ClientError> {
        self.build(Action::H5Pay, req)
    }

    /// An empty `merchant_id` is filled with the client's own.
    pub fn build_prepay_init(
        &self,
        req: &PrepayInitRequest,
    ) -> Result<PreparedRequest, ClientError> {
        let mut req = req.clone();
        self.fill_merchant(&mut req.merchant_id);
        self.build(Action::PrepayInit, &req)
    }

    /// An empty `merchant_id` is filled with the client's own.
    pub fn build_prepay_query(
        &self,
        req: &PrepayQueryRequest,
    ) -> Result<PreparedRequest, ClientError> {
        let mut req = req.clone();
        self.fill_merchant(&mut req.merchant_id);
        self.build(Action::PrepayQuery, &req)
    }

    pub fn build_status_query(
        &self,
        req: &StatusQueryRequest,
    ) -> Result<PreparedRequest, ClientError> {
        self.build(Action::StatusQuery, req)
    }

    pub fn build_refund(&self, req: &RefundRequest) -> Result<PreparedRequest, ClientError> {
        self.build(Action::Refund, req)
    }

    pub fn build_ex_rate_query(
        &self,
        req: &ExRateQueryRequest,
    ) -> Result<PreparedRequest, ClientError> {
        self.build(Action::ExRateQuery, req)
    }

    fn fill_merchant(&self, merchant_id: &mut String) {
        if merchant_id.is_empty() {
            merchant_id.clone_from(&self.credentials.merchant_id);
        }
    }

    pub async fn active_pay(
        &self,
        req: &ActivePayRequest,
    ) -> Result<Reply<ActivePayResponse>, ClientError> {
        self.call(&self.build_active_pay(req)?).await
    }

    pub async fn h5_pay(&self, req: &H5PayRequest) -> Result<Reply<H5PayResponse>, ClientError> {
        self.call(&self.build_h5_pay(req)?).await
    }

    pub async fn prepay_init(
        &self,
        req: &PrepayInitRequest,
    ) -> Result<Reply<PrepayInitResponse>, ClientError> {
        self.call(&self.build_prepay_init(req)?).await
    }

    pub async fn prepay_query(
        &self,
        req: &PrepayQueryRequest,
    ) -> Result<Reply<PrepayQueryResponse>, ClientError> {
        self.call(&self.build_prepay_query(req)?).await
    }

    pub async fn status_query(
        &self,
        req: &StatusQueryRequest,
    ) -> Result<Reply<StatusQueryData>, ClientError> {
        let (status, body) = self.send(&self.build_status_query(req)?).await?;
        let reply = self.open_response(status, &body)?;
        map_reply(reply, status_query_data)
    }

    pub async fn refund(&self, req: &RefundRequest) -> Result<Reply<RefundResponse>, ClientError> {
        self.call(&self.build_refund(req)?).await
    }

    pub async fn ex_rate_query(
        &self,
        req: &ExRateQueryRequest,
    ) -> Result<Reply<ExRateResponse>, ClientError> {
        self.call(&self.build_ex_rate_query(req)?).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        prepared: &PreparedRequest,
    ) -> Result<Reply<T>, ClientError> {
        let (status, body) = self.send(prepared).await?;
        self.parse_response(status, &body)
    }

    /// Sends prepared bytes; answers the HTTP status and body.
    pub async fn send(&self, prepared: &PreparedRequest) -> Result<(u16, Vec<u8>), ClientError> {
        let url = format!("{}{}", self.base_url, prepared.path);
        let mut request = self.http.post(url).body(prepared.body.clone());
        for (name, value) in &prepared.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }

    /// Decodes a response body into typed data (spec §2, §3.3).
    pub fn parse_response<T: DeserializeOwned>(
        &self,
        status: u16,
        body: &[u8],
    ) -> Result<Reply<T>, ClientError> {
        map_reply(self.open_response(status, body)?, |map| {
            Ok(serde_json::from_value(Value::Object(map))?)
        })
    }

    /// Decodes the level-1 response and, when it carries data, decrypts it and checks its md5.
    /// Undecryptable data is an error (there is nothing to return); an md5 mismatch is reported
    /// as `verified: false`.
    pub fn open_response(
        &self,
        status: u16,
        body: &[u8],
    ) -> Result<Reply<Map<String, Value>>, ClientError> {
        let level1 = match parse_level1(body) {
            Ok(level1) => level1,
            Err(_) if status != 200 => return Err(ClientError::HttpStatus(status)),
            Err(err) => return Err(err),
        };
        let rsp_code = text_field(&level1, "rsp_code")?.to_owned();
        let rsp_msg = text_field(&level1, "rsp_msg")
            .unwrap_or_default()
            .to_owned();
        let (Ok(data), Ok(md5)) = (text_field(&level1, "data"), text_field(&level1, "md5")) else {
            return Ok(Reply {
                rsp_code,
                rsp_msg,
                data: None,
                verified: false,
            });
        };
        let object =
            sign::decrypt_data(data, md5, &self.credentials.sign_key).map_err(open_error)?;
        let verified = sign::md5_matches(md5, &sign::summary_md5(&object));
        Ok(Reply {
            rsp_code,
            rsp_msg,
            data: Some(object.to_string_map()),
            verified,
        })
    }

    /// Verifies a callback (spec §7.1): our merchant, SUCCESS, decryptable, md5 matching.
    /// There is no header signature, so `headers` are not consulted.
    pub fn verify_callback(
        &self,
        _headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<CallbackData, ClientError> {
        let level1 = parse_level1(body)?;
        if text_field(&level1, "merchant_id")? != self.credentials.merchant_id {
            return Err(ClientError::MerchantMismatch);
        }
        let rsp_code = text_field(&level1, "rsp_code")?;
        if rsp_code != RspCode::Success.as_str() {
            return Err(ClientError::UnexpectedCode(rsp_code.to_owned()));
        }
        let (data, md5) = (text_field(&level1, "data")?, text_field(&level1, "md5")?);
        let object = sign::open(data, md5, &self.credentials.sign_key).map_err(open_error)?;
        let callback: CallbackData = serde_json::from_value(Value::Object(object.to_string_map()))?;
        if callback.merchant_id != self.credentials.merchant_id {
            return Err(ClientError::MerchantMismatch);
        }
        Ok(callback)
    }
}

fn open_error(err: OpenError) -> ClientError {
    match err {
        OpenError::Undecryptable => ClientError::Undecryptable,
        OpenError::DuplicateKey(key) => ClientError::DuplicateKey(key),
        OpenError::Md5Mismatch => ClientError::Md5Mismatch,
    }
}

/// Level 1 as JSON, or base64 of JSON (the docs claim base64; tolerate both).
fn parse_level1(body: &[u8]) -> Result<Map<String, Value>, ClientError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let json = if first == Some(&b'{') {
        body.to_vec()
    } else {
        sign::decode_base64_lenient(body).ok_or(ClientError::Malformed("body"))?
    };
    serde_json::from_slice(&json).map_err(|_| ClientError::Malformed("body"))
}

fn text_field<'a>(
    level1: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ClientError> {
    match level1.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(ClientError::Malformed(name)),
    }
}

/// Decrypts any data object with the client's key, for tools (e.g. inspecting a sample).
pub fn open_data(data: &str, md5: &str, sign_key: &SignKey) -> Result<DataObject, ClientError> {
    sign::open(data, md5, sign_key).map_err(open_error)
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
