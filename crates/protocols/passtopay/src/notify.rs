//! Notification encoding (spec 7): the signed asynchronous callback in its three encodings, the
//! acknowledgement rule, the retry schedule, and the sync-redirect URL encoder.

use crate::credentials::AppSecret;
use crate::sign;
use crate::wire::{
    self, NotifyFormat, PaymentNotification, RefundNotification, TransferNotification,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use std::time::Duration;

/// Everything except `A–Z a–z 0–9 - . _ ~` is percent-encoded (spec 7.1).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Delays of the six attempts after the trigger, seconds [P].
pub const RETRY_DELAYS_SECS: [u64; 6] = [0, 30, 60, 90, 120, 150];
/// Per-attempt timeout [D].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// The body a merchant answers to acknowledge (any ASCII case).
pub const ACK_BODY: &str = "success";

/// The callback encoder's input: one notification of the three kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackData {
    Payment(PaymentNotification),
    Transfer(TransferNotification),
    Refund(RefundNotification),
}

impl CallbackData {
    fn members(&self) -> Vec<(String, serde_json::Value)> {
        match self {
            CallbackData::Payment(n) => wire::sorted_members(n),
            CallbackData::Transfer(n) => wire::sorted_members(n),
            CallbackData::Refund(n) => wire::sorted_members(n),
        }
    }
}

/// An outgoing HTTP request: URL, method, headers, exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Builds the notification POST to `notify_url` in the merchant's format. Every retry must
/// re-send these exact bytes (same `reqTime`, same `sign`), so encode once and store.
pub fn encode(
    data: &CallbackData,
    notify_url: &str,
    secret: &AppSecret,
    format: NotifyFormat,
) -> OutgoingRequest {
    let members = signed_members(data.members(), secret);
    let (url, headers, body) = match format {
        NotifyFormat::Form => (
            notify_url.to_owned(),
            vec![(
                "Content-Type",
                "application/x-www-form-urlencoded".to_owned(),
            )],
            form_body(&members).into_bytes(),
        ),
        NotifyFormat::Query => (
            append_url_query(notify_url, &text_pairs(&members)),
            Vec::new(),
            Vec::new(),
        ),
        NotifyFormat::Json => (
            notify_url.to_owned(),
            vec![("Content-Type", "application/json".to_owned())],
            wire::json_object(&members).into_bytes(),
        ),
    };
    OutgoingRequest {
        url,
        method: "POST",
        headers,
        body,
    }
}

/// The 302 target of spec 7.1: `returnUrl` plus the signed payment-notification fields.
pub fn redirect_url(return_url: &str, data: &PaymentNotification, secret: &AppSecret) -> String {
    let members = signed_members(wire::sorted_members(data), secret);
    append_url_query(return_url, &text_pairs(&members))
}

/// [`is_ack`] in words, for an answer that is not the acknowledgement.
pub const ACK_RULE: &str = "the body `success` (any letter case; the HTTP status does not matter)";

/// Spec 7.2's acknowledgement: the body is `success` in any ASCII case, untrimmed; the HTTP
/// status does not matter.
pub fn is_ack(_status: u16, body: &[u8]) -> bool {
    body.eq_ignore_ascii_case(ACK_BODY.as_bytes())
}

/// The six attempt delays as durations.
pub fn retry_schedule() -> [Duration; 6] {
    RETRY_DELAYS_SECS.map(Duration::from_secs)
}

/// Upstream's `appendUrlQuery`: `?` added when the URL has none; each parameter prefixed with
/// `&` except the first when the URL contains no `=` anywhere; values percent-encoded. Applied
/// to the part before a `#fragment`, which stays last (polypay decision: upstream appends after
/// the fragment, where the parameters never reach the merchant's server).
pub fn append_url_query(url: &str, pairs: &[(String, String)]) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((url, fragment)) => (url, Some(fragment)),
        None => (url, None),
    };
    let mut out = String::from(url);
    if !url.contains('?') {
        out.push('?');
    }
    let mut has_condition = url.contains('=');
    for (name, value) in pairs {
        if has_condition {
            out.push('&');
        }
        has_condition = true;
        out.push_str(name);
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY_VALUE));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Adds `sign` (over every other member) and keeps names ascending.
fn signed_members(
    mut members: Vec<(String, serde_json::Value)>,
    secret: &AppSecret,
) -> Vec<(String, serde_json::Value)> {
    let signature = sign::sign_pairs(&wire::rendered_members(&members), secret.expose());
    members.push((sign::SIGN.to_owned(), serde_json::Value::from(signature)));
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members
}

fn text_pairs(members: &[(String, serde_json::Value)]) -> Vec<(String, String)> {
    wire::rendered_members(members)
}

fn form_body(members: &[(String, serde_json::Value)]) -> String {
    text_pairs(members)
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs any serializable notification-like struct the way [`encode`] does and returns the
/// `(name, text)` pairs including `sign` — for tests and the sandbox's redirect page.
pub fn signed_pairs<T: Serialize>(data: &T, secret: &AppSecret) -> Vec<(String, String)> {
    text_pairs(&signed_members(wire::sorted_members(data), secret))
}
