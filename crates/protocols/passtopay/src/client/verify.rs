//! Client-side verification: response envelopes (`data` as an object or a JSON string, `sign`
//! over its members), notifications in any of the three encodings, and sync redirects.

use crate::credentials::AppSecret;
use crate::notify::CallbackData;
use crate::params::{ParamKind, Params};
use crate::sign;
use crate::wire::PaymentNotification;
use serde::de::DeserializeOwned;

/// Why a response or callback was not accepted. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("http transport: {0}")]
    Http(#[source] reqwest::Error),
    #[error("malformed response or callback{}: {reason}", status_text(*status))]
    Malformed {
        reason: &'static str,
        status: Option<u16>,
    },
    /// The provider answered with a non-zero `code` (always 9999 in practice).
    #[error("provider error {code}: {msg}")]
    Api { code: i64, msg: String, status: u16 },
    #[error("signature mismatch")]
    BadSignature,
    /// A response whose `data` has a non-empty member, or a callback, without a `sign`.
    #[error("no sign, where the spec requires one")]
    MissingSignature,
}

fn status_text(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl ClientError {
    fn malformed(reason: &'static str) -> Self {
        ClientError::Malformed {
            reason,
            status: None,
        }
    }

    pub(super) fn with_status(self, http: u16) -> Self {
        match self {
            ClientError::Malformed { reason, .. } => ClientError::Malformed {
                reason,
                status: Some(http),
            },
            ClientError::Api { code, msg, .. } => ClientError::Api {
                code,
                msg,
                status: http,
            },
            other => other,
        }
    }
}

/// Response data plus whether a `sign` was present and matched (absent for empty `data`; a
/// present but wrong `sign` is an error, never `false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T> {
    pub data: T,
    pub signature_verified: bool,
    pub trace_id: Option<String>,
    /// Every `data` member as received and signed (undocumented extras included).
    pub raw_data: Params,
}

/// Parses and verifies a response body: `code` 0 or an [`ClientError::Api`]; `data` as an object
/// or a string holding JSON; `sign` verified over `data`'s members, and required unless `data`
/// has no non-empty member (spec 3.4).
pub fn parse_response<T: DeserializeOwned>(
    body: &[u8],
    secret: &AppSecret,
) -> Result<Verified<T>, ClientError> {
    let envelope =
        Params::from_json(body).map_err(|_| ClientError::malformed("body is not a JSON object"))?;
    let code: i64 = envelope
        .text("code")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ClientError::malformed("code missing"))?;
    if code != 0 {
        let msg = envelope.text("msg").unwrap_or_default().to_owned();
        return Err(ClientError::Api {
            code,
            msg,
            status: 200,
        });
    }
    let data = match envelope.get("data") {
        None => Params::new(),
        Some(p) if matches!(p.kind, ParamKind::Object | ParamKind::String) => {
            Params::from_json(p.text.as_bytes())
                .map_err(|_| ClientError::malformed("data is not a JSON object"))?
        }
        Some(_) => return Err(ClientError::malformed("data is not a JSON object")),
    };
    // Spec 3.4: `sign` is left out only when `data` is absent or has no non-empty member; data
    // that would be signed but is not is refused (it could say anything).
    let signable = data
        .iter()
        .any(|(name, value)| name != sign::SIGN && !value.is_empty());
    let signature_verified = match envelope.text(sign::SIGN).filter(|s| !s.is_empty()) {
        None if signable => return Err(ClientError::MissingSignature),
        None => false,
        Some(received) if sign::verify(data.iter(), secret.expose(), received) => true,
        Some(_) => return Err(ClientError::BadSignature),
    };
    let typed = serde_json::from_value(data.to_string_object())
        .map_err(|_| ClientError::malformed("data lacks a field or has a wrong type"))?;
    Ok(Verified {
        data: typed,
        signature_verified,
        trace_id: envelope.text("traceId").map(str::to_owned),
        raw_data: data,
    })
}

/// Verifies a notification: query-string, form and JSON fields merged (body wins), `sign`
/// checked over all other fields (spec 7.2 client mode), then typed by its id field.
pub fn verify_callback_with(
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    secret: &AppSecret,
) -> Result<CallbackData, ClientError> {
    let mut params =
        Params::from_form(query.as_bytes()).map_err(|_| ClientError::malformed("query string"))?;
    if !body.is_empty() {
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| *v);
        let from_body = Params::from_request(content_type, body, "")
            .map_err(|_| ClientError::malformed("callback body"))?;
        params.merge_from(from_body);
    }
    let kind = CallbackKind::detect(&params)?;
    verify_params(&params, kind.signed_fields(), secret)?;
    let object = params.to_string_object();
    let bad = |_| ClientError::malformed("callback lacks a field or has a wrong type");
    Ok(match kind {
        CallbackKind::Payment => {
            CallbackData::Payment(serde_json::from_value(object).map_err(bad)?)
        }
        CallbackKind::Transfer => {
            CallbackData::Transfer(serde_json::from_value(object).map_err(bad)?)
        }
        CallbackKind::Refund => CallbackData::Refund(serde_json::from_value(object).map_err(bad)?),
    })
}

/// Verifies a sync redirect (spec 7.1): the full `returnUrl?…` or only its query string.
pub fn verify_redirect_with(
    url_or_query: &str,
    secret: &AppSecret,
) -> Result<PaymentNotification, ClientError> {
    let query = match url_or_query.split_once('?') {
        Some((_, q)) => q,
        None => url_or_query,
    };
    // A fragment is the browser's, never the server's: not part of what was signed.
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let params =
        Params::from_form(query.as_bytes()).map_err(|_| ClientError::malformed("query string"))?;
    verify_params(&params, PAYMENT_FIELDS, secret)?;
    serde_json::from_value(params.to_string_object())
        .map_err(|_| ClientError::malformed("redirect lacks a field or has a wrong type"))
}

/// Over every received field first (the provider signs undocumented extras); failing that, over
/// the documented fields only, because a `notifyUrl`/`returnUrl` may carry the merchant's own
/// query parameters that the sender never signed.
fn verify_params(
    params: &Params,
    documented: &[&str],
    secret: &AppSecret,
) -> Result<(), ClientError> {
    let received = params
        .text(sign::SIGN)
        .ok_or(ClientError::MissingSignature)?;
    let secret = secret.expose();
    if sign::verify(params.iter(), secret, received) {
        return Ok(());
    }
    let known = params.iter().filter(|(k, _)| documented.contains(k));
    if sign::verify(known, secret, received) {
        Ok(())
    } else {
        Err(ClientError::BadSignature)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallbackKind {
    Payment,
    Transfer,
    Refund,
}

impl CallbackKind {
    fn detect(params: &Params) -> Result<Self, ClientError> {
        if params.contains("transferId") {
            Ok(CallbackKind::Transfer)
        } else if params.contains("refundOrderId") {
            Ok(CallbackKind::Refund)
        } else if params.contains("payOrderId") {
            Ok(CallbackKind::Payment)
        } else {
            Err(ClientError::malformed(
                "no payOrderId, refundOrderId or transferId",
            ))
        }
    }

    fn signed_fields(self) -> &'static [&'static str] {
        match self {
            CallbackKind::Payment => PAYMENT_FIELDS,
            CallbackKind::Transfer => TRANSFER_FIELDS,
            CallbackKind::Refund => REFUND_FIELDS,
        }
    }
}

/// Spec 7.2's documented field sets (without `sign`).
const PAYMENT_FIELDS: &[&str] = &[
    "payOrderId",
    "mchNo",
    "appId",
    "mchOrderNo",
    "ifCode",
    "wayCode",
    "amount",
    "currency",
    "state",
    "clientIp",
    "subject",
    "body",
    "channelOrderNo",
    "errCode",
    "errMsg",
    "extParam",
    "createdAt",
    "successTime",
    "reqTime",
];
const TRANSFER_FIELDS: &[&str] = &[
    "mchNo",
    "appId",
    "mchOrderNo",
    "transferId",
    "amount",
    "currency",
    "ifCode",
    "entryType",
    "state",
    "accountNo",
    "accountName",
    "bankName",
    "transferDesc",
    "channelOrderNo",
    "errCode",
    "errMsg",
    "extraParam",
    "createdAt",
    "successTime",
    "reqTime",
];
const REFUND_FIELDS: &[&str] = &[
    "refundOrderId",
    "payOrderId",
    "mchNo",
    "appId",
    "mchRefundNo",
    "payAmount",
    "refundAmount",
    "currency",
    "state",
    "channelOrderNo",
    "errCode",
    "errMsg",
    "extParam",
    "createdAt",
    "successTime",
    "reqTime",
];
