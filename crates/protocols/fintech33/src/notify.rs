//! Webhook encoding of §7 (PaymentOrderStatus, sealed like §3.5), the ack rule and the retry schedule.
//!
//! 33 Fintech documents no synchronous redirect (the sandbox cashier ends on its own result
//! page), so there is no redirect encoder here.

use jiff::Timestamp;
use std::time::Duration;

use crate::Error;
use crate::inbound::Credentials;
use crate::render::CONTENT_TYPE;
use crate::sign::{self, PlatformKeys};
use crate::wire::{NOTICE_TYPE, PaymentOrderStatus, PaymentOrderStatusNotice, WebhookBody};

/// A webhook ready to send: identical bytes on every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Attempt times after the first attempt: 10 attempts in all, then abandoned (§7).
pub const ATTEMPT_OFFSETS: [Duration; 10] = [
    Duration::from_secs(0),
    Duration::from_secs(60),
    Duration::from_secs(2 * 60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
];

/// Timeout of one attempt; redirects are not followed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait, after `attempts_made` unacknowledged attempts, before the next one
/// (zero before the first); `None` once all ten have been made: the notification is abandoned.
pub fn retry_delay(attempts_made: usize) -> Option<Duration> {
    let next = ATTEMPT_OFFSETS.get(attempts_made)?;
    let last = match attempts_made.checked_sub(1) {
        Some(i) => ATTEMPT_OFFSETS[i],
        None => Duration::ZERO,
    };
    Some(next.saturating_sub(last))
}

/// The waits between consecutive attempts: 1, 1, 3, 5, 20, 30 min, 1, 4, 6 h.
pub fn retry_delays() -> Vec<Duration> {
    ATTEMPT_OFFSETS.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The compact plaintext `{"PaymentOrderStatus":{…}}` that is signed and encrypted.
pub fn webhook_plaintext(event: &PaymentOrderStatus) -> Result<Vec<u8>, Error> {
    let notice = PaymentOrderStatusNotice {
        payment_order_status: event.clone(),
    };
    Ok(serde_json::to_vec(&notice)?)
}

/// Builds the webhook POST to the merchant's registered `url`: signed with the platform key
/// (merchant's hash option), encrypted with the merchant's AES key and mode, no auth header.
pub fn encode_webhook(
    url: &str,
    event: &PaymentOrderStatus,
    credentials: &Credentials,
    platform: &PlatformKeys,
) -> Result<HttpRequest, Error> {
    let plaintext = webhook_plaintext(event)?;
    let sealed = sign::seal(
        &plaintext,
        &credentials.cipher,
        platform.private_key(),
        credentials.sign_hash,
    )?;
    let body = WebhookBody {
        notice_type: NOTICE_TYPE.to_owned(),
        biz_content: sealed.biz_content,
        sign: sealed.sign,
    };
    Ok(HttpRequest {
        method: "POST",
        url: url.to_owned(),
        headers: vec![("Content-Type", CONTENT_TYPE.to_owned())],
        body: serde_json::to_vec(&body)?,
    })
}

/// [`is_ack`] in words, for an answer that is not the acknowledgement.
pub const ACK_RULE: &str = "a JSON body whose code is 0 or \"0\" (the HTTP status does not matter)";

/// Acknowledged when the body is a JSON object whose `code` is the number 0 or the string
/// `"0"`; the HTTP status is not considered (§7).
pub fn is_ack(_status: u16, body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return false;
    };
    match map.get("code") {
        Some(serde_json::Value::Number(n)) => n.as_u64() == Some(0) || n.as_f64() == Some(0.0),
        Some(serde_json::Value::String(s)) => s == "0",
        _ => false,
    }
}

/// First `payerID` of the per-instance sequence (§5.1).
pub const FIRST_PAYER_ID: u64 = 10001;
/// First `requestID` of the per-instance sequence (§7).
pub const FIRST_REQUEST_ID: u64 = 10_000_001;
/// Default `region` (§7).
pub const DEFAULT_REGION: &str = "HKG";

/// `platform_order_sn` = `SS` + creation time `yyyyMMddHHmmss` (UTC) + a 5-digit sequence
/// (taken modulo 100000 so the width never changes).
pub fn platform_order_sn(created_at: Timestamp, sequence: u32) -> String {
    let dt = jiff::tz::TimeZone::UTC.to_datetime(created_at);
    format!(
        "SS{:04}{:02}{:02}{:02}{:02}{:02}{:05}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        sequence % 100_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_rule() {
        assert!(is_ack(200, br#"{"code":0}"#));
        assert!(is_ack(500, br#"{"code":0,"msg":"ok"}"#));
        assert!(is_ack(200, br#"{"code":"0"}"#));
        assert!(!is_ack(200, br#"{"code":1}"#));
        assert!(!is_ack(200, br#"{"code":"00"}"#));
        assert!(!is_ack(200, br#"[{"code":0}]"#));
        assert!(!is_ack(200, b"success"));
        assert!(!is_ack(200, b""));
    }

    #[test]
    fn schedule_has_ten_attempts() {
        assert_eq!(ATTEMPT_OFFSETS.len(), 10);
        assert_eq!(ATTEMPT_OFFSETS[9], Duration::from_secs(12 * 3600));
        let minutes: Vec<u64> = retry_delays().iter().map(|d| d.as_secs() / 60).collect();
        assert_eq!(minutes, [1, 1, 3, 5, 20, 30, 60, 240, 360]);
        assert_eq!(retry_delay(0), Some(Duration::ZERO));
        assert_eq!(retry_delay(1), Some(Duration::from_secs(60)));
        assert_eq!(retry_delay(9), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(retry_delay(10), None);
    }

    #[test]
    fn platform_order_sn_shape() {
        let ts: Timestamp = "2024-01-01T12:12:12Z".parse().unwrap();
        assert_eq!(platform_order_sn(ts, 12345), "SS2024010112121212345");
        assert_eq!(platform_order_sn(ts, 7), "SS2024010112121200007");
    }
}
