//! Client-side webhook verification (7.2 client mode) and redirect parsing (7.1), lenient on input.
//!
//! A webhook is accepted when its signature (V2 with the Secret Key, or V1 with the platform's
//! public key) matches the sorted canonical form of its body, or, failing that, the 2026
//! variant `rawBody + "&time=" + t`. Payloads from older senders differ (integer statuses,
//! numbers as strings, nested payout lists), so every field is optional and lenient.

use super::ClientCredentials;
use crate::Error;
use crate::sign::widget::url_search_params;
use crate::sign::{PresentedSignature, Scheme, canonical_post, parse_body};
use crate::wire::{
    Decimal, PaymentStatus, PayoutStatus, RedirectParams, RedirectStatus,
    payment_state_from_v1_webhook_code, payout_state_from_code,
};
use polypay_core::{PaymentState, PayoutState};
use serde::{Deserialize, Deserializer};

/// A verified webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub event: CallbackEvent,
    /// The scheme whose signature matched.
    pub scheme: Scheme,
    /// `BlockATM-Request-Time` (ms).
    pub time_ms: u64,
    /// The whole body, for fields the typed views do not carry (e.g. `detailList`).
    pub raw: serde_json::Value,
}

/// The event, by `BlockATM-Event` (case-insensitive) or, without that header, by its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackEvent {
    Payment(PaymentCallback),
    Payout(PayoutCallback),
}

/// A payment webhook body, as any BlockATM version sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PaymentCallback {
    pub amount: Option<Decimal>,
    #[serde(deserialize_with = "lenient_int")]
    pub block_time: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub cashier_id: Option<i64>,
    pub chain_id: Option<Decimal>,
    #[serde(deserialize_with = "lenient_int")]
    pub create_time: Option<i64>,
    pub cust_no: Option<String>,
    pub from_address: Option<String>,
    #[serde(deserialize_with = "lenient_int")]
    pub id: Option<i64>,
    pub network: Option<String>,
    pub order_no: Option<String>,
    #[serde(deserialize_with = "lenient_int")]
    pub order_type: Option<i64>,
    /// The status as sent (`SUCCESS`, or a V1 integer as text).
    pub status: Option<Decimal>,
    pub symbol: Option<String>,
    pub tx_id: Option<String>,
}

impl PaymentCallback {
    /// The core state: a status string per section 6, or a V1 integer (−1, 0, 1; 9 = success).
    pub fn state(&self) -> Option<PaymentState> {
        let text = self.status.as_ref()?.as_str();
        match text.parse::<i64>() {
            Ok(code) => payment_state_from_v1_webhook_code(code),
            Err(_) => PaymentStatus::parse(text).map(PaymentStatus::to_state),
        }
    }
}

/// A payout webhook body, as any BlockATM version sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PayoutCallback {
    pub amount: Option<Decimal>,
    pub biz_order_no: Option<String>,
    #[serde(deserialize_with = "lenient_int")]
    pub block_time: Option<i64>,
    pub chain_id: Option<Decimal>,
    #[serde(deserialize_with = "lenient_int")]
    pub contract_id: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub create_time: Option<i64>,
    pub cust_no: Option<String>,
    pub fee: Option<Decimal>,
    pub gas_amount: Option<Decimal>,
    pub network: Option<String>,
    pub order_no: Option<String>,
    pub plat_order_no: Option<Decimal>,
    /// `SUCCESS` / `REFUSE`, or an E5-style integer as text.
    pub status: Option<Decimal>,
    pub symbol: Option<String>,
    pub to_address: Option<String>,
    pub tx_id: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient_int")]
    pub kind: Option<i64>,
}

impl PayoutCallback {
    /// The core state: `SUCCESS` / `REFUSE`, or an integer 0–3 as in E5.
    pub fn state(&self) -> Option<PayoutState> {
        let text = self.status.as_ref()?.as_str();
        match text.parse::<i64>() {
            Ok(code) => payout_state_from_code(code),
            Err(_) => PayoutStatus::parse(text).map(PayoutStatus::to_state),
        }
    }
}

/// An integer written as a number or a string of digits; `null` or `""` → `None`.
fn lenient_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value: Option<Decimal> = Option::deserialize(deserializer)?;
    match value {
        None => Ok(None),
        Some(d) if d.as_str().is_empty() => Ok(None),
        Some(d) => d
            .as_str()
            .parse()
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

pub(super) fn verify(
    creds: &ClientCredentials,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Callback, Error> {
    let time = crate::header(headers, crate::HEADER_REQUEST_TIME)
        .ok_or(Error::MissingHeader(crate::HEADER_REQUEST_TIME))?;
    let time_ms = crate::sign::window::parse_request_time(time)
        .map_err(|_| Error::InvalidHeader(crate::HEADER_REQUEST_TIME))?;
    let presented = PresentedSignature::from_headers(headers)
        .ok_or(Error::MissingHeader(crate::HEADER_SIGNATURE_V2))?;
    if presented.scheme == Scheme::V1Ecdsa && creds.platform_public_key.is_none() {
        return Err(Error::NoKey("platform public"));
    }
    let verifies = |message: &str| {
        presented.verify(
            message,
            &creds.secret_key,
            creds.platform_public_key.as_ref(),
        )
    };
    let sorted = parse_body(body)
        .ok()
        .map(|json| canonical_post(&json, time));
    let raw_form = || format!("{}&time={time}", String::from_utf8_lossy(body));
    if !(sorted.as_deref().is_some_and(verifies) || verifies(&raw_form())) {
        return Err(Error::BadSignature);
    }
    let raw: serde_json::Value = serde_json::from_slice(body)?;
    let event = match crate::header(headers, crate::HEADER_EVENT) {
        Some(e) if e.eq_ignore_ascii_case("payment") => Kind::Payment,
        Some(e) if e.eq_ignore_ascii_case("payout") => Kind::Payout,
        Some(_) => return Err(Error::InvalidHeader(crate::HEADER_EVENT)),
        None if looks_like_payout(&raw) => Kind::Payout,
        None => Kind::Payment,
    };
    let event = match event {
        // From the bytes, not from `raw`: number tokens keep their digits (`1.00000000`).
        Kind::Payment => CallbackEvent::Payment(serde_json::from_slice(body)?),
        Kind::Payout => CallbackEvent::Payout(serde_json::from_slice(body)?),
    };
    Ok(Callback {
        event,
        scheme: presented.scheme,
        time_ms,
        raw,
    })
}

enum Kind {
    Payment,
    Payout,
}

/// Payout bodies carry fields payments never have.
fn looks_like_payout(raw: &serde_json::Value) -> bool {
    [
        "bizOrderNo",
        "toAddress",
        "platOrderNo",
        "contractId",
        "detailList",
        "type",
    ]
    .iter()
    .any(|k| raw.get(k).is_some_and(|v| !v.is_null()))
}

/// Reads the parameters 7.1 appended to a redirect URL. They are NOT signed: confirm the outcome
/// by webhook or E2 before acting on it.
pub fn parse_redirect(url: &str) -> Result<RedirectParams, Error> {
    let query = url
        .split('#')
        .next()
        .unwrap_or("")
        .split_once('?')
        .map_or("", |(_, q)| q);
    let params = url_search_params(query);
    let get = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let status = get("status")
        .and_then(|s| RedirectStatus::parse(&s))
        .ok_or(Error::InvalidField("status"))?;
    Ok(RedirectParams {
        tx_id: get("txId").unwrap_or_default(),
        status,
    })
}
