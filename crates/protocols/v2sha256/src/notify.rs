//! Notification encoding, pure (§7): signed webhook requests (§3.4), the acknowledgement rule,
//! the retry schedule, which state changes notify, and the signed sync redirect (§3.5, §7.2).

use crate::envelope::CONTENT_TYPE;
use crate::error::Error;
use crate::sign::{Credentials, redirect_sign};
use crate::wire::{Callback, PaymentStatus, PayoutStatus, RedirectParams, RefundStatus};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::Duration;

/// When each attempt is due, measured from the first attempt (§7.1): 9 attempts, then dead.
pub const ATTEMPT_OFFSETS: [Duration; 9] = [
    Duration::from_secs(0),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Each attempt's time limit (§7.1). Redirects are not followed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait between attempt `attempts_made` (1-based) and the next one; `None` once all nine
/// attempts were made (the notification is dead).
pub fn delay_after_attempt(attempts_made: usize) -> Option<Duration> {
    let previous = ATTEMPT_OFFSETS.get(attempts_made.checked_sub(1)?)?;
    let next = ATTEMPT_OFFSETS.get(attempts_made)?;
    Some(next.saturating_sub(*previous))
}

/// The delays between consecutive attempts: 1 min, 4 min, 10 min, 45 min, 1 h, 4 h, 6 h, 12 h.
pub fn retry_delays() -> Vec<Duration> {
    ATTEMPT_OFFSETS
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect()
}

/// Entering this payment status sends a PAYMENT webhook (§7.1).
pub fn payment_notifies(status: PaymentStatus) -> bool {
    !matches!(status, PaymentStatus::Pending)
}

/// Entering this payout status sends a PAYOUT webhook (§7.1).
pub fn payout_notifies(status: PayoutStatus) -> bool {
    matches!(status, PayoutStatus::Paid | PayoutStatus::Failed)
}

/// Entering this refund status sends a REFUND webhook (§7.1).
pub fn refund_notifies(status: RefundStatus) -> bool {
    matches!(status, RefundStatus::Refunded | RefundStatus::Failed)
}

/// The payer is redirected to `returnUrl` when the cashier ends in this status (§7.2).
pub fn redirect_applies(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Paid
            | PaymentStatus::Failed
            | PaymentStatus::Closed
            | PaymentStatus::Expired
    )
}

/// One webhook attempt, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The notifyUrl as the HTTP client will request it (normalised, fragment dropped).
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The webhook body: compact JSON `{"type":…,"data":{…}}`, keys in table order. Store these
/// bytes: every retry sends the same ones (§7.1).
pub fn callback_body(callback: &Callback) -> Result<Vec<u8>, Error> {
    Ok(serde_json::to_vec(callback)?)
}

/// Encodes and signs a webhook to `notify_url` (§3.4).
pub fn encode_callback(
    credentials: &Credentials,
    notify_url: &str,
    callback: &Callback,
    timestamp_ms: u64,
    nonce: &str,
) -> Result<CallbackRequest, Error> {
    sign_callback(
        credentials,
        notify_url,
        callback_body(callback)?,
        timestamp_ms,
        nonce,
    )
}

/// Signs stored webhook body bytes for one attempt (fresh timestamp and nonce each time).
pub fn sign_callback(
    credentials: &Credentials,
    notify_url: &str,
    body: Vec<u8>,
    timestamp_ms: u64,
    nonce: &str,
) -> Result<CallbackRequest, Error> {
    let (url, target) = notify_target(notify_url)?;
    let header = credentials.authorize("POST", &target, timestamp_ms, nonce, &body);
    Ok(CallbackRequest {
        url,
        method: "POST",
        headers: vec![
            ("Content-Type".to_owned(), CONTENT_TYPE.to_owned()),
            ("Authorization".to_owned(), header.value()),
        ],
        body,
    })
}

/// Splits a notifyUrl into the URL to call and its signed URL line: path plus `?query`, `/` for
/// an empty path (§3.4). Both come from one parse, so the line signed is the target sent.
pub fn notify_target(notify_url: &str) -> Result<(String, String), Error> {
    let mut url = reqwest::Url::parse(notify_url)
        .map_err(|_| Error::InvalidUrl("notifyUrl does not parse"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::InvalidUrl(
            "notifyUrl must be an absolute http(s) URL",
        ));
    }
    url.set_fragment(None);
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    let target = match url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    Ok((url.to_string(), target))
}

/// [`is_ack`] in words, for an answer that is not the acknowledgement.
pub const ACK_RULE: &str = "HTTP 200 and the JSON body {\"code\":\"OK\"}";

/// §7.1: acknowledged iff HTTP 200 and the body is a JSON object whose `code` is the string `OK`.
pub fn is_ack(status: u16, body: &[u8]) -> bool {
    if status != 200 {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            map.get("code").and_then(|c| c.as_str()) == Some("OK")
        }
        _ => false,
    }
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` with upper-case hex.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The 302 `Location` of the sync redirect (§7.2): `returnUrl` + `?`/`&` + the parameters in
/// spec order, percent-encoded, then `sign` (§3.5). A fragment of `returnUrl` stays last.
pub fn redirect_url(return_url: &str, params: &RedirectParams, app_secret: &str) -> String {
    let pairs = params.pairs();
    let sign = redirect_sign(&pairs, app_secret);
    let (base, fragment) = match return_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (return_url, None),
    };
    let mut out = base.to_owned();
    if !base.contains('?') {
        out.push('?');
    } else if !base.ends_with(['?', '&']) {
        out.push('&');
    }
    for (key, value) in &pairs {
        out.push_str(key);
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY_VALUE));
        out.push('&');
    }
    out.push_str("sign=");
    out.push_str(&sign);
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_rule() {
        assert!(is_ack(200, br#"{"code":"OK"}"#));
        assert!(is_ack(200, br#" {"msg":"fine","code":"OK"} "#));
        for (status, body) in [
            (201, &br#"{"code":"OK"}"#[..]),
            (500, br#"{"code":"OK"}"#),
            (200, br#"{"code":"ok"}"#),
            (200, br#"{"code":"OK "}"#),
            (200, br#"{"code":true}"#),
            (200, br#"["OK"]"#),
            (200, b"OK"),
            (200, b"SUCCESS"),
            (200, b""),
            (200, br#"{"code":"OK"}x"#),
        ] {
            assert!(
                !is_ack(status, body),
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn schedule_of_section_7() {
        let mins: Vec<u64> = ATTEMPT_OFFSETS.iter().map(|d| d.as_secs() / 60).collect();
        assert_eq!(mins, [0, 1, 5, 15, 60, 120, 360, 720, 1440]);
        assert_eq!(delay_after_attempt(0), None);
        assert_eq!(delay_after_attempt(1), Some(Duration::from_secs(60)));
        assert_eq!(delay_after_attempt(2), Some(Duration::from_secs(240)));
        assert_eq!(delay_after_attempt(8), Some(Duration::from_secs(12 * 3600)));
        assert_eq!(delay_after_attempt(9), None);
        assert_eq!(retry_delays().len(), 8);
        assert_eq!(
            retry_delays().iter().sum::<Duration>(),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(ATTEMPT_TIMEOUT, Duration::from_secs(10));
    }

    #[test]
    fn which_states_notify() {
        let notifying: Vec<_> = PaymentStatus::ALL
            .into_iter()
            .filter(|s| payment_notifies(*s))
            .collect();
        assert_eq!(notifying.len(), 6);
        assert!(!payment_notifies(PaymentStatus::Pending));
        assert!(
            !payout_notifies(PayoutStatus::Pending) && !payout_notifies(PayoutStatus::Processing)
        );
        assert!(payout_notifies(PayoutStatus::Paid) && payout_notifies(PayoutStatus::Failed));
        assert!(!refund_notifies(RefundStatus::Pending) && refund_notifies(RefundStatus::Refunded));
        assert!(
            redirect_applies(PaymentStatus::Expired) && !redirect_applies(PaymentStatus::Refunded)
        );
    }

    #[test]
    fn notify_targets() {
        let t = |u: &str| notify_target(u).map(|(_, t)| t).ok();
        assert_eq!(
            t("https://m.example.com/notify?src=pg").as_deref(),
            Some("/notify?src=pg")
        );
        assert_eq!(t("https://m.example.com").as_deref(), Some("/"));
        assert_eq!(
            t("https://m.example.com?x=1#frag").as_deref(),
            Some("/?x=1")
        );
        assert_eq!(t("http://m.example.com:8080/a/b").as_deref(), Some("/a/b"));
        assert!(t("ftp://m.example.com/").is_none() && t("/relative").is_none());
    }

    #[test]
    fn redirect_separators_and_fragment() {
        let params = RedirectParams {
            merchant_trade_no: "T 1".into(),
            payment_no: "P1".into(),
            status: PaymentStatus::Failed,
            amount: "1.00".into(),
            currency: "INR".into(),
            merchant_attach: None,
            timestamp_ms: 1,
            nonce: "n".into(),
        };
        let url = redirect_url("https://m.example/r?x=1#top", &params, "s");
        assert!(
            url.starts_with(
                "https://m.example/r?x=1&merchantTradeNo=T%201&paymentNo=P1&status=FAILED"
            ),
            "{url}"
        );
        assert!(
            !url.contains("merchantAttach") && url.ends_with("#top"),
            "{url}"
        );
        assert!(
            redirect_url("https://m.example/r?", &params, "s")
                .starts_with("https://m.example/r?merchantTradeNo=")
        );
    }
}
