//! Notification encoding (spec §7): the encrypted asynchronous callback, its acknowledgement rule
//! and retry schedule, and the unsigned PREPAY synchronous redirect.

use crate::data::DataError;
use crate::sign::{self, SignKey};
use crate::wire::{CONTENT_TYPE, CallbackData, CallbackEnvelope, RedirectParams, RspCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use polypay_core::PaymentState;
use std::time::Duration;

/// When each attempt is made, measured from the first attempt (spec §7.1): 0, 1 min, 5 min,
/// 15 min, 1 h, 6 h — six attempts in all, then the callback is dead.
pub const ATTEMPT_OFFSETS: [Duration; 6] = [
    Duration::from_secs(0),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(6 * 60 * 60),
];

/// Timeout of one attempt (spec §7.1).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects are not followed (spec §7.1).
pub const FOLLOW_REDIRECTS: bool = false;

/// The offset (from the first attempt) of the attempt after `attempts_made`, or `None` when the
/// schedule is exhausted.
pub fn next_attempt_offset(attempts_made: usize) -> Option<Duration> {
    ATTEMPT_OFFSETS.get(attempts_made).copied()
}

/// A callback ready to send; every attempt sends these identical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Encodes the success callback of a payment (spec §7.1, §3.4) for its `call_back_url`.
/// The level-1 `merchant_id` is the data's.
pub fn encode_callback(
    call_back_url: &str,
    data: &CallbackData,
    sign_key: &SignKey,
) -> Result<CallbackRequest, DataError> {
    let json = serde_json::to_string(data).map_err(|_| DataError::NotObject)?;
    let sealed = sign::seal(&json, sign_key)?;
    let envelope = CallbackEnvelope {
        rsp_code: RspCode::Success.as_str().to_owned(),
        rsp_msg: "success".to_owned(),
        merchant_id: data.merchant_id.clone(),
        data: sealed.data,
        md5: sealed.md5,
    };
    let body = serde_json::to_vec(&envelope).map_err(|_| DataError::NotObject)?;
    Ok(CallbackRequest {
        url: call_back_url.to_owned(),
        method: "POST",
        headers: vec![("Content-Type", CONTENT_TYPE.to_owned())],
        body,
    })
}

/// [`is_ack`] in words, for an answer that is not the acknowledgement.
pub const ACK_RULE: &str = "any 2xx HTTP status (the body does not matter)";

/// Acknowledgement rule (spec §7.1): any 2xx; the body is ignored.
pub fn is_ack(status: u16, _body: &[u8]) -> bool {
    (200..300).contains(&status)
}

/// Everything but RFC 3986 unreserved characters is percent-encoded in query values.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `name=value` pairs to a URL: `?` when it has no query yet, `&` otherwise; nothing
/// when it already ends in `?` or `&`. A `#fragment` stays at the end.
pub fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, QUERY_VALUE)))
        .collect();
    format!("{base}{separator}{}{fragment}", query.join("&"))
}

/// The redirect parameters of a PREPAY payment that ended on the cashier (spec §7.2);
/// `None` while the payment is still open or after refunds (there is no redirect then).
pub fn redirect_params(
    total_fee: u64,
    order_id: &str,
    prepay_order_id: &str,
    state: PaymentState,
) -> Option<RedirectParams> {
    let trade_status = crate::wire::redirect_trade_status(state)?;
    Some(RedirectParams {
        total_fee: total_fee.to_string(),
        trade_no: order_id.to_owned(),
        out_trade_no: prepay_order_id.to_owned(),
        trade_status: trade_status.to_owned(),
    })
}

/// The `Location` of the PREPAY synchronous redirect (spec §7.2): unsigned, in the specified order.
pub fn redirect_location(redirect_url: &str, params: &RedirectParams) -> String {
    append_query(
        redirect_url,
        &[
            ("total_fee", &params.total_fee),
            ("trade_no", &params.trade_no),
            ("out_trade_no", &params.out_trade_no),
            ("trade_status", &params.trade_status),
        ],
    )
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
