//! The error envelope of spec section 4 and the cashier page's error answers (W), rendered to bytes.

use crate::ratelimit::Decision;
use crate::wire::Envelope;

/// `Content-Type` of every API answer.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
/// `Content-Type` of the cashier error page.
pub const HTML_CONTENT_TYPE: &str = "text/html;charset=UTF-8";

/// The error codes of section 4.
pub mod code {
    pub const SUCCESS: &str = "200";
    pub const SYSTEM_ERROR: &str = "000101";
    pub const ILLEGAL_PARAMETER: &str = "000102";
    pub const MISSING_PARAMETER: &str = "000103";
    pub const ILLEGAL_REQUEST: &str = "000105";
    pub const DUPLICATE: &str = "000106";
    pub const API_KEY_REQUIRED: &str = "000112";
    pub const TOO_MANY_REQUESTS: &str = "000113";
    pub const NOT_FOUND: &str = "000202";
    pub const WRONG_STATUS: &str = "000204";
    pub const INSUFFICIENT_BALANCE: &str = "000307";
}

/// An HTTP answer as bytes, ready for any HTTP stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A BlockATM API error: everything needed to render its envelope exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {msg}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub msg: String,
    /// `Retry-After` (seconds) of rate-limit answers.
    pub retry_after_secs: Option<u64>,
    /// Refused by the signature check or its receive window (3.4–3.5), not rendered: the
    /// server marks the response so the rejection can be explained in its debug log.
    pub signature_rejected: bool,
}

impl ApiError {
    fn new(code: &'static str, msg: String) -> ApiError {
        ApiError {
            status: 200,
            code,
            msg,
            retry_after_secs: None,
            signature_rejected: false,
        }
    }

    /// `000102 illegal parameter: <name>`.
    pub fn illegal_parameter(name: &str) -> ApiError {
        ApiError::new(
            code::ILLEGAL_PARAMETER,
            format!("illegal parameter: {name}"),
        )
    }

    /// `000103 missing required parameter: <name>`.
    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError::new(
            code::MISSING_PARAMETER,
            format!("missing required parameter: {name}"),
        )
    }

    /// `000105 illegal request: <reason>`.
    pub fn illegal_request(reason: &str) -> ApiError {
        ApiError::new(code::ILLEGAL_REQUEST, format!("illegal request: {reason}"))
    }

    /// `000105 illegal request: <reason>` from the signature check or its receive window.
    pub fn bad_signature(reason: &str) -> ApiError {
        ApiError {
            signature_rejected: true,
            ..ApiError::illegal_request(reason)
        }
    }

    /// HTTP 404 `000105 illegal request: unknown path`.
    pub fn unknown_path() -> ApiError {
        ApiError {
            status: 404,
            ..ApiError::illegal_request("unknown path")
        }
    }

    /// `000106 duplicate submission` (order number reused).
    pub fn duplicate() -> ApiError {
        ApiError::new(code::DUPLICATE, "duplicate submission".into())
    }

    /// `000112 API key required`.
    pub fn api_key_required() -> ApiError {
        ApiError::new(code::API_KEY_REQUIRED, "API key required".into())
    }

    /// `000202 data not found`.
    pub fn not_found() -> ApiError {
        ApiError::new(code::NOT_FOUND, "data not found".into())
    }

    /// `000204 wrong status` (cashier or payout contract disabled).
    pub fn wrong_status() -> ApiError {
        ApiError::new(code::WRONG_STATUS, "wrong status".into())
    }

    /// `000307 insufficient balance`.
    pub fn insufficient_balance() -> ApiError {
        ApiError::new(code::INSUFFICIENT_BALANCE, "insufficient balance".into())
    }

    /// `000101 system error`.
    pub fn system_error() -> ApiError {
        ApiError::new(code::SYSTEM_ERROR, "system error".into())
    }

    /// The 429 / 418 answer of a rate-limiter refusal; `None` when the request is allowed.
    pub fn rate_limited(decision: Decision) -> Option<ApiError> {
        let status = decision.status()?;
        let msg = if status == 429 {
            "too many requests"
        } else {
            "API key blocked"
        };
        Some(ApiError {
            status,
            code: code::TOO_MANY_REQUESTS,
            msg: msg.into(),
            retry_after_secs: decision.retry_after_secs(),
            signature_rejected: false,
        })
    }

    /// The envelope `{"code":…,"success":false,"data":null,"trace":…,"msg":…}` with its status
    /// and headers.
    pub fn render(&self, trace: &str) -> HttpResponse {
        let envelope: Envelope<'_, ()> = Envelope {
            code: self.code,
            success: false,
            data: None,
            trace,
            msg: &self.msg,
        };
        let mut response = json_response(self.status, &envelope);
        if let Some(secs) = self.retry_after_secs {
            response
                .headers
                .push(("Retry-After".into(), secs.to_string()));
        }
        response
    }
}

/// Serializes an envelope; serialization of these plain structs cannot fail, but a failure
/// still yields a well-formed `000101` rather than a panic.
pub(crate) fn json_response<T: serde::Serialize>(status: u16, envelope: &T) -> HttpResponse {
    let body = serde_json::to_vec(envelope).unwrap_or_else(|_| {
        br#"{"code":"000101","success":false,"data":null,"trace":"","msg":"system error"}"#.to_vec()
    });
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), JSON_CONTENT_TYPE.into())],
        body,
    }
}

/// A fresh trace id: 32 lowercase hex digits.
pub fn new_trace() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The cashier page's error codes (W).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetErrorCode {
    /// 1001 parameter error (HTTP 400).
    Parameter,
    /// 1002 cashier not found (HTTP 404).
    CashierNotFound,
    /// 1003 signature failed (HTTP 403).
    Signature,
    /// 1004 link expired (HTTP 410).
    Expired,
}

impl WidgetErrorCode {
    pub fn number(self) -> u16 {
        match self {
            WidgetErrorCode::Parameter => 1001,
            WidgetErrorCode::CashierNotFound => 1002,
            WidgetErrorCode::Signature => 1003,
            WidgetErrorCode::Expired => 1004,
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            WidgetErrorCode::Parameter => 400,
            WidgetErrorCode::CashierNotFound => 404,
            WidgetErrorCode::Signature => 403,
            WidgetErrorCode::Expired => 410,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            WidgetErrorCode::Parameter => "parameter error",
            WidgetErrorCode::CashierNotFound => "cashier not found",
            WidgetErrorCode::Signature => "signature failed",
            WidgetErrorCode::Expired => "link expired",
        }
    }
}

/// A refused cashier link; `detail` names the parameter or check (never a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cashier error {}: {detail}", code.number())]
pub struct WidgetError {
    pub code: WidgetErrorCode,
    pub detail: &'static str,
}

impl WidgetError {
    pub fn new(code: WidgetErrorCode, detail: &'static str) -> WidgetError {
        WidgetError { code, detail }
    }

    /// The HTML error page, carrying the widget code in `data-code` for scripts.
    pub fn render(&self) -> HttpResponse {
        let (number, text) = (self.code.number(), self.code.text());
        let body = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>BlockATM {number}</title></head>\
             <body><div class=\"blockatm-error\" data-code=\"{number}\"><h1>{number}</h1>\
             <p>{text}: {}</p></div></body></html>",
            self.detail
        );
        HttpResponse {
            status: self.code.http_status(),
            headers: vec![("Content-Type".into(), HTML_CONTENT_TYPE.into())],
            body: body.into_bytes(),
        }
    }
}

/// Any refusal of the inbound parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// An API endpoint's JSON envelope.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The cashier page's HTML error.
    #[error(transparent)]
    Widget(#[from] WidgetError),
}

impl InboundError {
    /// The answer to send; `trace` goes into JSON envelopes.
    pub fn render(&self, trace: &str) -> HttpResponse {
        match self {
            InboundError::Api(error) => error.render(trace),
            InboundError::Widget(error) => error.render(),
        }
    }
}
