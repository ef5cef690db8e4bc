//! The merchant-side SDK: token call, the six services (sign, encrypt, send, decrypt, verify) and webhooks.
//!
//! Every call is split into a pure `build_*` (exact bytes, so requests can be pre-signed and
//! checked against the spec's vectors) and the send. The client follows the spec, not polypay.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

use crate::inbound::{PAY_PATH, TOKEN_PATH};
use crate::sign::{self, BizCipher, OpenError, RsaPrivateKey, RsaPublicKey, SignHash};
use crate::wire::{
    BizResponse, CreateOrder, CreateOrderData, GetPayer, NOTICE_TYPE, OrderRef, PayEnvelope, Payer,
    PayerData, PaymentOrderStatus, PaymentOrderStatusNotice, QueryOrderData, RefundOrderData,
    ResponseEnvelope, Service, TokenData, TokenRequest, TokenResponse, UpdatePayer, WebhookBody,
};

/// What the merchant holds: app credentials, AES key and mode, hash option, its own RSA
/// private key and the platform's public key.
pub struct MerchantKeys {
    pub app_id: String,
    pub app_secret: String,
    pub cipher: BizCipher,
    pub sign_hash: SignHash,
    pub private_key: RsaPrivateKey,
    pub platform_key: RsaPublicKey,
}

impl fmt::Debug for MerchantKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantKeys")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("cipher", &self.cipher)
            .field("sign_hash", &self.sign_hash)
            .field("private_key", &self.private_key)
            .field("platform_key", &self.platform_key)
            .finish()
    }
}

/// A request ready to send; `path` is relative to the client's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP transport failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Local(#[from] crate::Error),
    #[error("server refused the call: HTTP {http_status}, statusCode {status_code}: {message}")]
    Envelope {
        http_status: u16,
        status_code: i64,
        message: String,
    },
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    #[error("bizContent decryption failed")]
    Decrypt,
    #[error("signature verification failed")]
    Signature,
}

/// A business failure (`status` −1) as reported by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessFailure {
    pub error_code: String,
    pub error_message: String,
}

/// A decrypted response and whether its `sign` verified against the platform key.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified<D> {
    pub result: Result<D, BusinessFailure>,
    pub signature_valid: bool,
}

/// What a merchant's webhook endpoint answers to acknowledge (§7).
pub const CALLBACK_ACK: &[u8] = br#"{"code":0}"#;

pub struct Client {
    base_url: String,
    keys: MerchantKeys,
    http: reqwest::Client,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("keys", &self.keys)
            .finish()
    }
}

impl Client {
    pub fn new(base_url: impl Into<String>, keys: MerchantKeys) -> Self {
        Self::with_http(base_url, keys, reqwest::Client::new())
    }

    pub fn with_http(
        base_url: impl Into<String>,
        keys: MerchantKeys,
        http: reqwest::Client,
    ) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Client {
            base_url,
            keys,
            http,
        }
    }

    pub fn keys(&self) -> &MerchantKeys {
        &self.keys
    }

    /// `POST /api/v2/auth/token` with `{"appId","appSecret"}`.
    pub fn build_token(&self) -> Result<PreparedRequest, ClientError> {
        let body = serde_json::to_vec(&TokenRequest {
            app_id: self.keys.app_id.clone(),
            app_secret: self.keys.app_secret.clone(),
        })
        .map_err(crate::Error::from)?;
        Ok(PreparedRequest {
            method: "POST",
            path: TOKEN_PATH,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body,
        })
    }

    /// `POST /api/v2/pay`: `P` = compact JSON of `params`, signed then encrypted (§3.3).
    pub fn build_service<P: Serialize>(
        &self,
        token: &str,
        service: Service,
        params: &P,
    ) -> Result<PreparedRequest, ClientError> {
        let plaintext = serde_json::to_vec(params).map_err(crate::Error::from)?;
        let sealed = sign::seal(
            &plaintext,
            &self.keys.cipher,
            &self.keys.private_key,
            self.keys.sign_hash,
        )?;
        let body = serde_json::to_vec(&PayEnvelope {
            service: service.as_str().to_owned(),
            biz_content: sealed.biz_content,
            sign: sealed.sign,
        })
        .map_err(crate::Error::from)?;
        Ok(PreparedRequest {
            method: "POST",
            path: PAY_PATH,
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("Authorization", format!("Bearer {token}")),
            ],
            body,
        })
    }

    pub fn build_create_payer(
        &self,
        token: &str,
        p: &Payer,
    ) -> Result<PreparedRequest, ClientError> {
        self.build_service(token, Service::CreatePayer, p)
    }

    pub fn build_get_payer(
        &self,
        token: &str,
        email: &str,
    ) -> Result<PreparedRequest, ClientError> {
        let params = GetPayer {
            email: email.to_owned(),
        };
        self.build_service(token, Service::GetPayer, &params)
    }

    pub fn build_update_payer(
        &self,
        token: &str,
        p: &UpdatePayer,
    ) -> Result<PreparedRequest, ClientError> {
        self.build_service(token, Service::UpdatePayer, p)
    }

    pub fn build_create_order(
        &self,
        token: &str,
        o: &CreateOrder,
    ) -> Result<PreparedRequest, ClientError> {
        self.build_service(token, Service::CreateOrder, o)
    }

    pub fn build_query_order(
        &self,
        token: &str,
        r: &OrderRef,
    ) -> Result<PreparedRequest, ClientError> {
        self.build_service(token, Service::QueryOrder, r)
    }

    pub fn build_refund_order(
        &self,
        token: &str,
        r: &OrderRef,
    ) -> Result<PreparedRequest, ClientError> {
        self.build_service(token, Service::RefundOrder, r)
    }

    /// Sends a prepared request; returns the HTTP status and body.
    pub async fn send(&self, req: &PreparedRequest) -> Result<(u16, Vec<u8>), ClientError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| ClientError::Malformed("request method"))?;
        let mut builder = self
            .http
            .request(method, format!("{}{}", self.base_url, req.path));
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        let response = builder.body(req.body.clone()).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }

    /// Obtains a token (valid 7200 s).
    pub async fn token(&self) -> Result<TokenData, ClientError> {
        let (status, body) = self.send(&self.build_token()?).await?;
        parse_token_response(status, &body)
    }

    pub async fn create_payer(
        &self,
        token: &str,
        p: &Payer,
    ) -> Result<Verified<PayerData>, ClientError> {
        self.call(self.build_create_payer(token, p)?).await
    }

    pub async fn get_payer(
        &self,
        token: &str,
        email: &str,
    ) -> Result<Verified<PayerData>, ClientError> {
        self.call(self.build_get_payer(token, email)?).await
    }

    pub async fn update_payer(
        &self,
        token: &str,
        p: &UpdatePayer,
    ) -> Result<Verified<PayerData>, ClientError> {
        self.call(self.build_update_payer(token, p)?).await
    }

    pub async fn create_order(
        &self,
        token: &str,
        o: &CreateOrder,
    ) -> Result<Verified<CreateOrderData>, ClientError> {
        self.call(self.build_create_order(token, o)?).await
    }

    pub async fn query_order(
        &self,
        token: &str,
        r: &OrderRef,
    ) -> Result<Verified<QueryOrderData>, ClientError> {
        self.call(self.build_query_order(token, r)?).await
    }

    pub async fn refund_order(
        &self,
        token: &str,
        r: &OrderRef,
    ) -> Result<Verified<RefundOrderData>, ClientError> {
        self.call(self.build_refund_order(token, r)?).await
    }

    async fn call<D: DeserializeOwned>(
        &self,
        req: PreparedRequest,
    ) -> Result<Verified<D>, ClientError> {
        let (status, body) = self.send(&req).await?;
        self.parse_response(status, &body)
    }

    /// Decrypts a `/api/v2/pay` answer and verifies its `sign` over the decrypted bytes.
    /// Envelope-level refusals (statusCode ≠ 0) become [`ClientError::Envelope`].
    pub fn parse_response<D: DeserializeOwned>(
        &self,
        http_status: u16,
        body: &[u8],
    ) -> Result<Verified<D>, ClientError> {
        let envelope: ResponseEnvelope =
            serde_json::from_slice(body).map_err(|_| ClientError::Malformed("envelope"))?;
        if envelope.status_code != 0 {
            return Err(ClientError::Envelope {
                http_status,
                status_code: envelope.status_code,
                message: envelope.message,
            });
        }
        let (Some(biz), Some(sig)) = (envelope.biz_content, envelope.sign) else {
            return Err(ClientError::Malformed("bizContent or sign missing"));
        };
        let plaintext = self
            .keys
            .cipher
            .decrypt_b64(&biz)
            .ok_or(ClientError::Decrypt)?;
        let signature_valid =
            self.keys
                .platform_key
                .verify_b64(self.keys.sign_hash, &plaintext, &sig);
        // Bytes the platform did not sign are reported as that, not as whatever they fail to be.
        let malformed = |what| match signature_valid {
            true => ClientError::Malformed(what),
            false => ClientError::Signature,
        };
        let r: BizResponse<D> =
            serde_json::from_slice(&plaintext).map_err(|_| malformed("bizContent"))?;
        let result = match (r.status, r.data) {
            (0, Some(data)) => Ok(data),
            (0, None) => return Err(malformed("status 0 without data")),
            _ => Err(BusinessFailure {
                error_code: r.error_code.unwrap_or_default(),
                error_message: r.error_message.unwrap_or_default(),
            }),
        };
        Ok(Verified {
            result,
            signature_valid,
        })
    }

    /// Opens a PaymentOrderStatus webhook: decrypts, verifies the platform signature over the
    /// decrypted bytes and parses it. Any failure is an error: an unverified webhook is not data.
    pub fn verify_callback(
        &self,
        _headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<PaymentOrderStatus, ClientError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| ClientError::Malformed("webhook body"))?;
        if !value.get("sign").is_some_and(serde_json::Value::is_string) {
            return Err(ClientError::Malformed("webhook without sign"));
        }
        let webhook: WebhookBody =
            serde_json::from_value(value).map_err(|_| ClientError::Malformed("webhook body"))?;
        if webhook.notice_type != NOTICE_TYPE {
            return Err(ClientError::Malformed("unknown noticeType"));
        }
        let plaintext = sign::open(
            &webhook.biz_content,
            &webhook.sign,
            &self.keys.cipher,
            &self.keys.platform_key,
            self.keys.sign_hash,
        )
        .map_err(|e| match e {
            OpenError::Decrypt => ClientError::Decrypt,
            OpenError::Signature => ClientError::Signature,
        })?;
        let notice: PaymentOrderStatusNotice = serde_json::from_slice(&plaintext)
            .map_err(|_| ClientError::Malformed("PaymentOrderStatus"))?;
        Ok(notice.payment_order_status)
    }
}

/// Reads the token response; any statusCode other than 0 is an [`ClientError::Envelope`].
pub fn parse_token_response(http_status: u16, body: &[u8]) -> Result<TokenData, ClientError> {
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|_| ClientError::Malformed("token response"))?;
    match (response.status_code, response.data) {
        (0, Some(data)) => Ok(data),
        (0, None) => Err(ClientError::Malformed("token response without data")),
        (status_code, _) => Err(ClientError::Envelope {
            http_status,
            status_code,
            message: response.message,
        }),
    }
}
