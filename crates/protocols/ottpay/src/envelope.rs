//! The server's answers: the protocol error type with its exact envelope (spec §4) and the
//! success renderer that encrypts and digests response data (spec §3.4).

use crate::sign::{self, SignKey};
use crate::wire::{
    ActivePayResponse, CONTENT_TYPE, ExRateResponse, H5PayResponse, PaymentStatusResponse,
    PrepayInitResponse, PrepayQueryResponse, RefundResponse, RefundStatusResponse,
    ResponseEnvelope, RspCode,
};
use serde::Serialize;

/// An HTTP answer as bytes: what the router writes back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Every non-success outcome of spec §4. `Display` is the exact `rsp_msg`.
///
/// Messages may echo a field name or the received action, never a secret or a value of the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OttError {
    /// Row 1.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Row 2.
    #[error("request too large")]
    TooLarge,
    /// Row 3.
    #[error("invalid request format")]
    InvalidFormat,
    /// Rows 4 and 12.
    #[error("missing parameter: {0}")]
    MissingParameter(String),
    /// Row 5.
    #[error("unsupported action: {0}")]
    UnsupportedAction(String),
    /// Row 6.
    #[error("unsupported version")]
    UnsupportedVersion,
    /// Row 7.
    #[error("authentication failed: invalid merchant_id")]
    UnknownMerchant,
    /// Row 8.
    #[error("authentication failed: data cannot be decrypted")]
    Undecryptable,
    /// Row 9.
    #[error("duplicate key: {0}")]
    DuplicateKey(String),
    /// Row 10.
    #[error("authentication failed: md5 mismatch")]
    Md5Mismatch,
    /// Rows 11, 13 and 17.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Row 14, ACTIVEPAY/H5PAY/REFUND.
    #[error("order_id already used")]
    OrderUsed,
    /// Row 14, PREPAY_INIT.
    #[error("prepay_order_id already used")]
    PrepayOrderUsed,
    /// Row 15.
    #[error("order not found")]
    OrderNotFound,
    /// Row 16.
    #[error("order not refundable")]
    NotRefundable,
    /// Row 18.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// Row 19.
    #[error("system error")]
    System,
}

impl OttError {
    pub fn missing(name: &str) -> OttError {
        OttError::MissingParameter(name.to_owned())
    }

    pub fn invalid(name: &str) -> OttError {
        OttError::InvalidParameter(name.to_owned())
    }

    /// The `rsp_code` of spec §4.
    pub fn rsp_code(&self) -> RspCode {
        use OttError::*;
        match self {
            MethodNotAllowed | UnknownMerchant | Undecryptable | Md5Mismatch | OrderNotFound
            | NotRefundable | InsufficientBalance => RspCode::Fail,
            TooLarge | InvalidFormat | MissingParameter(_) | DuplicateKey(_) => RspCode::ParamError,
            UnsupportedAction(_) | UnsupportedVersion | InvalidParameter(_) => {
                RspCode::ParamInvalid
            }
            OrderUsed | PrepayOrderUsed => RspCode::OrderUsed,
            System => RspCode::SystemError,
        }
    }

    /// 405 for a wrong method, 200 for every protocol outcome.
    pub fn http_status(&self) -> u16 {
        if matches!(self, OttError::MethodNotAllowed) {
            405
        } else {
            200
        }
    }

    /// The exact envelope: `{"rsp_code":…,"rsp_msg":…}` without `data`/`md5`.
    pub fn render(&self) -> HttpResponse {
        let envelope = ResponseEnvelope {
            rsp_code: self.rsp_code().as_str().to_owned(),
            rsp_msg: self.to_string(),
            data: None,
            md5: None,
        };
        let mut headers = vec![("Content-Type", CONTENT_TYPE.to_owned())];
        if matches!(self, OttError::MethodNotAllowed) {
            headers.push(("Allow", "POST".to_owned()));
        }
        HttpResponse {
            status: self.http_status(),
            headers,
            body: json_bytes(&envelope),
        }
    }
}

/// The data of a successful answer, one variant per response table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseData {
    ActivePay(ActivePayResponse),
    H5Pay(H5PayResponse),
    PrepayInit(PrepayInitResponse),
    /// Boxed: the response has 22 fields.
    PrepayQuery(Box<PrepayQueryResponse>),
    /// STATUS_QUERY that found a payment.
    PaymentStatus(PaymentStatusResponse),
    /// STATUS_QUERY that found a refund.
    RefundStatus(RefundStatusResponse),
    Refund(RefundResponse),
    ExRate(ExRateResponse),
}

impl ResponseData {
    /// `PROCESSING` for a REFUND still pending (spec §4 row 20), else `SUCCESS`.
    pub fn rsp_code(&self) -> RspCode {
        match self {
            ResponseData::Refund(refund) if refund.order_status == "PROCESSING" => {
                RspCode::Processing
            }
            _ => RspCode::Success,
        }
    }

    /// The compact JSON text that gets encrypted (spec §3.4).
    pub fn to_json(&self) -> String {
        match self {
            ResponseData::ActivePay(d) => json_string(d),
            ResponseData::H5Pay(d) => json_string(d),
            ResponseData::PrepayInit(d) => json_string(d),
            ResponseData::PrepayQuery(d) => json_string(d),
            ResponseData::PaymentStatus(d) => json_string(d),
            ResponseData::RefundStatus(d) => json_string(d),
            ResponseData::Refund(d) => json_string(d),
            ResponseData::ExRate(d) => json_string(d),
        }
    }
}

/// Renders a success (or REFUND-pending) answer, encrypted with the merchant's signKey.
pub fn render_success(data: &ResponseData, sign_key: &SignKey) -> HttpResponse {
    let Ok(sealed) = sign::seal(&data.to_json(), sign_key) else {
        // Our own serialisation is always a flat object; this is unreachable in practice.
        return OttError::System.render();
    };
    let code = data.rsp_code();
    let envelope = ResponseEnvelope {
        rsp_code: code.as_str().to_owned(),
        rsp_msg: code.as_str().to_ascii_lowercase(),
        data: Some(sealed.data),
        md5: Some(sealed.md5),
    };
    HttpResponse {
        status: 200,
        headers: vec![("Content-Type", CONTENT_TYPE.to_owned())],
        body: json_bytes(&envelope),
    }
}

/// Compact serde_json: no whitespace, raw UTF-8, `/` unescaped — exactly §3.4's rendering.
fn json_string<T: Serialize>(value: &T) -> String {
    // Serialising plain structs of Strings cannot fail; an empty text would fail sealing loudly.
    serde_json::to_string(value).unwrap_or_default()
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    json_string(value).into_bytes()
}
