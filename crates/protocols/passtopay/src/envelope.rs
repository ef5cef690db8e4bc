//! The response envelope of spec 4: error table, success rendering with the `data` signature
//! (spec 3.4), trace ids, and the plain HTTP response value handed to the server.

use crate::credentials::AppSecret;
use crate::sign;
use crate::wire::{self, RESPONSE_CONTENT_TYPE};
use serde::Serialize;
use std::fmt;

/// A finished HTTP response: status, headers and exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The per-request `traceId`: 128 bits shown as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

impl TraceId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }

    pub fn random() -> Self {
        TraceId(rand::random())
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

/// Every way a request can be refused (spec 4). `Display` is the exact `msg` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request body")]
    InvalidBody,
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{0} is invalid")]
    Invalid(&'static str),
    #[error("merchant or app not found")]
    MerchantNotFound,
    #[error("unsupported signType")]
    UnsupportedSignType,
    #[error("Signing failure")]
    SignatureMismatch,
    #[error("request expired")]
    RequestExpired,
    #[error("{0} is not supported")]
    NotSupported(&'static str),
    #[error("duplicate mchOrderNo")]
    DuplicateMchOrderNo,
    #[error("duplicate mchRefundNo")]
    DuplicateMchRefundNo,
    #[error("order not found")]
    OrderNotFound,
    #[error("order cannot be closed")]
    OrderCannotBeClosed,
    #[error("order state does not allow refund")]
    RefundNotAllowed,
    #[error("refund amount exceeds refundable amount")]
    RefundExceedsRefundable,
    #[error("refund in progress")]
    RefundInProgress,
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("rate limit exceeded")]
    RateLimited,
    #[error("system error")]
    System,
    /// A known path with a method other than POST: 405, empty body [D].
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Not one of spec 2's paths: 404, empty body [D].
    #[error("not found")]
    UnknownPath,
}

/// The provider's single error code (spec 4).
pub const ERROR_CODE: i64 = 9999;

impl ApiError {
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::RateLimited => 429,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnknownPath => 404,
            _ => 200,
        }
    }

    /// `{"code":9999,"msg":"…","traceId":"…"}` (or an empty body for 404/405).
    pub fn render(&self, trace_id: TraceId) -> HttpResponse {
        let status = self.http_status();
        if matches!(self, ApiError::MethodNotAllowed | ApiError::UnknownPath) {
            return HttpResponse {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            };
        }
        let members = vec![
            ("code".to_owned(), serde_json::Value::from(ERROR_CODE)),
            ("msg".to_owned(), serde_json::Value::from(self.to_string())),
            (
                "traceId".to_owned(),
                serde_json::Value::from(trace_id.to_string()),
            ),
        ];
        json_response(status, wire::json_object(&members))
    }
}

/// Renders a success: `{"code":0,"data":{…},"msg":"SUCCESS","sign":"…","traceId":"…"}` with
/// `data`'s non-null members in ascending order and `sign` over them (omitted when `data` has no
/// non-empty member, e.g. close's `{}`).
pub fn render_success<T: Serialize>(
    data: &T,
    secret: &AppSecret,
    trace_id: TraceId,
) -> HttpResponse {
    let data_members = wire::sorted_members(data);
    let rendered = wire::rendered_members(&data_members);
    // Written by hand so the member order is the spec's, whatever serde_json's map type is.
    // The signature and trace id are hex, so they need no escaping.
    let mut body = format!(
        "{{\"code\":0,\"data\":{},\"msg\":\"SUCCESS\"",
        wire::json_object(&data_members)
    );
    if rendered.iter().any(|(_, v)| !v.is_empty()) {
        let signature = sign::sign_pairs(&rendered, secret.expose());
        body.push_str(&format!(",\"sign\":\"{signature}\""));
    }
    body.push_str(&format!(",\"traceId\":\"{trace_id}\"}}"));
    json_response(200, body)
}

fn json_response(status: u16, body: String) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type", RESPONSE_CONTENT_TYPE.to_owned())],
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{CloseData, CreateOrderData};

    fn trace() -> TraceId {
        TraceId::from_bytes([0xab; 16])
    }

    #[test]
    fn trace_id_is_32_lower_hex() {
        let t = TraceId::random().to_string();
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn error_envelope_exact_bytes() {
        let r = ApiError::Required("mchOrderNo").render(trace());
        assert_eq!(r.status, 200);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            format!(
                r#"{{"code":9999,"msg":"mchOrderNo is required","traceId":"{}"}}"#,
                "ab".repeat(16)
            )
        );
        assert_eq!(
            r.headers,
            vec![("Content-Type", "application/json;charset=UTF-8".to_owned())]
        );
        let r = ApiError::RateLimited.render(trace());
        assert_eq!(r.status, 429);
        let r = ApiError::MethodNotAllowed.render(trace());
        assert_eq!((r.status, r.body.len()), (405, 0));
    }

    #[test]
    fn s5_response_signature() {
        let data = CreateOrderData {
            err_code: None,
            err_msg: None,
            mch_order_no: "D202405220002".into(),
            order_state: 0,
            pay_data: Some("https://cashier.passtopay.com/wayCode?payOrderToken=408e2d8d6b7b0911d12cf220e48175d9768b7cd5142a8d2e7e64b948e6c75646".into()),
            pay_data_type: Some("payurl".into()),
            pay_order_id: "P1793544595691261954".into(),
        };
        let r = render_success(&data, &AppSecret::new("your_secret_key"), trace());
        let body = String::from_utf8(r.body).unwrap();
        let expected = format!(
            concat!(
                r#"{{"code":0,"data":{{"mchOrderNo":"D202405220002","orderState":0,"#,
                r#""payData":"https://cashier.passtopay.com/wayCode?payOrderToken=408e2d8d6b7b0911d12cf220e48175d9768b7cd5142a8d2e7e64b948e6c75646","#,
                r#""payDataType":"payurl","payOrderId":"P1793544595691261954"}},"msg":"SUCCESS","#,
                r#""sign":"2B147EE55F31F8A42FECFB8338E46AAD","traceId":"{}"}}"#
            ),
            "ab".repeat(16)
        );
        assert_eq!(body, expected);
    }

    #[test]
    fn empty_data_is_not_signed() {
        let r = render_success(&CloseData {}, &AppSecret::new("k"), trace());
        let body = String::from_utf8(r.body).unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"code":0,"data":{{}},"msg":"SUCCESS","traceId":"{}"}}"#,
                "ab".repeat(16)
            )
        );
    }
}
