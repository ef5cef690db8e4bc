//! Webhook encoding (7.2), the acknowledgement rule and retry schedule, and the redirect URL (7.1).

use crate::Error;
use crate::sign::widget::encode_uri_component;
use crate::sign::{Signer, canonical_post, parse_body};
use crate::wire::{PaymentNotification, PayoutNotification, RedirectParams};
use std::time::Duration;

/// Attempts per event, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
/// Time allowed for one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// When retries 2..=6 are due, measured from the FIRST attempt: 1 min, 5 min, 30 min, 2 h, 24 h.
pub const RETRY_OFFSETS_FROM_FIRST: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The wait after attempt `attempts_made` (1-based) before the next one, or `None` when the
/// event is dead. Derived from [`RETRY_OFFSETS_FROM_FIRST`], so the schedule never drifts.
pub fn delay_after_attempt(attempts_made: u32) -> Option<Duration> {
    let index = usize::try_from(attempts_made).ok()?.checked_sub(1)?;
    let next = *RETRY_OFFSETS_FROM_FIRST.get(index)?;
    let previous = match index {
        0 => Duration::ZERO,
        i => RETRY_OFFSETS_FROM_FIRST[i - 1],
    };
    Some(next - previous)
}

/// The delays between consecutive attempts: 1 min, 4 min, 25 min, 90 min, 22 h.
pub fn retry_delays() -> Vec<Duration> {
    (1..MAX_ATTEMPTS).filter_map(delay_after_attempt).collect()
}

/// [`is_ack`] in words, for an answer that is not the acknowledgement.
pub const ACK_RULE: &str = "HTTP status 200 (the body does not matter)";

/// The merchant answered the webhook: HTTP status exactly 200; the body is ignored.
pub fn is_ack(status: u16, _body: &[u8]) -> bool {
    status == 200
}

/// A webhook to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    Payment(PaymentNotification),
    Payout(PayoutNotification),
}

impl WebhookEvent {
    /// The `BlockATM-Event` value.
    pub fn name(&self) -> &'static str {
        match self {
            WebhookEvent::Payment(_) => "Payment",
            WebhookEvent::Payout(_) => "Payout",
        }
    }

    /// The JSON body, keys ascending.
    pub fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(match self {
            WebhookEvent::Payment(p) => serde_json::to_vec(p)?,
            WebhookEvent::Payout(p) => serde_json::to_vec(p)?,
        })
    }
}

/// An HTTP request to send (webhook, or a client call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Encodes one webhook attempt: `signer` is the merchant's Secret Key (V2) or the platform's
/// P-256 key (V1) per the merchant's setting; `time_ms` is this attempt's time (each attempt gets
/// a new time and signature).
pub fn encode_webhook(
    url: &str,
    event: &WebhookEvent,
    signer: &Signer<'_>,
    time_ms: u64,
) -> Result<OutboundRequest, Error> {
    let body = event.body()?;
    let time = time_ms.to_string();
    let canonical = canonical_post(&parse_body(&body)?, &time);
    let signature = signer.sign(&canonical)?;
    Ok(OutboundRequest {
        method: "POST",
        url: url.to_owned(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (crate::HEADER_REQUEST_TIME.into(), time),
            (crate::HEADER_EVENT.into(), event.name().into()),
            (signer.scheme().header().into(), signature),
        ],
        body,
    })
}

/// `redirectURL` with `txId=<hash or empty>&status=<…>` appended after `?` (or `&` when the URL
/// already has a query), before any `#fragment`.
pub fn redirect_url(base: &str, params: &RedirectParams) -> String {
    let (head, fragment) = match base.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (base, None),
    };
    let separator = match head.find('?') {
        None => "?",
        Some(_) if head.ends_with('?') || head.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut url = format!(
        "{head}{separator}txId={}&status={}",
        encode_uri_component(&params.tx_id),
        params.status.as_str()
    );
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RedirectStatus;

    #[test]
    fn schedule() {
        let mins = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(
            retry_delays(),
            vec![mins(1), mins(4), mins(25), mins(90), mins(22 * 60)]
        );
        assert_eq!(delay_after_attempt(0), None);
        assert_eq!(delay_after_attempt(6), None);
        let total: Duration = retry_delays().iter().sum();
        assert_eq!(total, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn ack_is_exactly_200() {
        assert!(is_ack(200, b"anything"));
        assert!(!is_ack(201, b"success"));
        assert!(!is_ack(204, b""));
        assert!(!is_ack(500, b"OK"));
    }

    #[test]
    fn redirect_parameters() {
        let params = RedirectParams {
            tx_id: "0xab".into(),
            status: RedirectStatus::Success,
        };
        assert_eq!(
            redirect_url("https://m.example/r", &params),
            "https://m.example/r?txId=0xab&status=SUCCESS"
        );
        assert_eq!(
            redirect_url("https://m.example/r?o=1#top", &params),
            "https://m.example/r?o=1&txId=0xab&status=SUCCESS#top"
        );
        let empty = RedirectParams {
            tx_id: String::new(),
            status: RedirectStatus::Expired,
        };
        assert_eq!(
            redirect_url("https://m.example/r?", &empty),
            "https://m.example/r?txId=&status=EXPIRED"
        );
    }
}
