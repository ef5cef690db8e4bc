//! Pure scheduling rules: which key orders a delivery, when attempts are due, what follows one.

use polypay_core::Timestamp;
use polypay_store::{AfterAttempt, Delivery, OutboxEvent};
use std::time::Duration;

/// Callbacks with the same key go out in event order: callbacks of one object to one
/// endpoint. A refund's object is its payment (so a refund's callback never overtakes the
/// payment's at the endpoint that hears both), every other object is its own; the key is
/// `<object>@<hash of the endpoint>`, so a callback to another endpoint (a refund's own notify
/// URL) does not wait behind a failing one it is not ordered with, for as long as that one's
/// retry schedule lasts. A protocol that delivers events independently gets a key of their
/// own, `<object>#<outbox id>`; an event sent nowhere (`url` `None`) is keyed by its object
/// alone.
pub fn order_key(event: &OutboxEvent, independent: bool, url: Option<&str>) -> String {
    let object = match event.payload.get("payment_id").and_then(|v| v.as_str()) {
        Some(payment) if event.object_kind == "refund" => payment,
        _ => event.object_id.as_str(),
    };
    match (independent, url) {
        (true, _) => format!("{object}#{}", event.id),
        (false, Some(url)) => keyed_at(object, url),
        (false, None) => object.to_owned(),
    }
}

/// `<object>@<hash>` of a callback request's URL: its endpoint, the URL without its query or
/// fragment, which carry the callback itself where a protocol sends it so (PassToPay's
/// `notify_format` `query`), and would make every callback's key its own. Two URLs that differ
/// only there are one endpoint: their callbacks stay ordered together; so are two spellings of
/// one URL as its parser reads them (the scheme and host in any case, a default port written
/// out, `.` and `..` segments, percent-encoded unreserved characters).
pub fn keyed_at(object: &str, url: &str) -> String {
    let endpoint = match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or_default(),
            decode_unreserved(u.path())
        ),
        Err(_) => url.split(['?', '#']).next().unwrap_or(url).to_owned(),
    };
    format!("{object}@{:016x}", fnv1a(endpoint.as_bytes()))
}

/// `path` with each percent-encoded unreserved character (RFC 3986: letters, digits, `-._~`)
/// written as itself: `/v/%65` and `/v/e` are one path.
fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b));
        match decoded {
            Some(b) => {
                out.push(char::from(b));
                i += 3;
            }
            None => {
                let c = path[i..].chars().next().unwrap_or_default();
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    out
}

/// FNV-1a, 64 bits: a stable hash (the same on every node and version) of a callback URL for
/// its order key. A collision only orders two URLs' callbacks together, as before keys had URLs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The object a delivery's order key names (its payment for a refund).
pub fn keyed_object(order_key: &str) -> &str {
    order_key.split(['#', '@']).next().unwrap_or(order_key)
}

/// The offset of attempt `index` (0-based) of a schedule, if the schedule has one. An empty
/// schedule still makes one attempt, at once.
pub fn offset(offsets: &[i64], index: usize) -> Option<i64> {
    if offsets.is_empty() {
        return (index == 0).then_some(0);
    }
    offsets.get(index).map(|ms| (*ms).max(0))
}

/// What follows an attempt of `d` (whose counters do not yet include it) that ended at `now`.
///
/// A retry is due at its offset from the schedule's start, as the specs count it. One already
/// overdue when the attempt ends (the delivery was held back behind an earlier callback of its
/// key, or its node was down) waits the schedule's gap before it instead, counted from `now`:
/// a delivery that starts late does not fire its missed retries back to back.
pub fn after_attempt(
    d: &Delivery,
    acknowledged: bool,
    offsets: &[i64],
    now: Timestamp,
) -> AfterAttempt {
    if acknowledged {
        return AfterAttempt::Acknowledged;
    }
    let done = usize::try_from(d.attempts_in_schedule() + 1).unwrap_or(usize::MAX);
    let Some(ms) = offset(offsets, done) else {
        return AfterAttempt::Dead;
    };
    let due = d.schedule_at.plus_millis(ms);
    if due > now {
        return AfterAttempt::RetryAt(due);
    }
    let previous = offset(offsets, done - 1).unwrap_or(0);
    AfterAttempt::RetryAt(now.plus_millis((ms - previous).max(0)))
}

/// A protocol that names no limit of its own gets this one.
pub const FALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// One attempt's time limit: the protocol's own (its spec's), under the operator's cap if one
/// is set.
pub fn attempt_timeout(cap: Option<Duration>, protocol: Duration) -> Duration {
    let own = if protocol.is_zero() {
        FALLBACK_TIMEOUT
    } else {
        protocol
    };
    cap.map_or(own, |cap| own.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polypay_core::{MerchantId, Protocol};
    use polypay_store::DeliveryState;

    fn delivery(attempts: i64, schedule_start: i64) -> Delivery {
        Delivery {
            id: 1,
            outbox_id: 1,
            merchant_id: MerchantId("mch_1".into()),
            protocol: Protocol::Passtopay,
            object_kind: "payment".into(),
            object_id: "pay_1".into(),
            order_key: "pay_1".into(),
            event: "payment.succeeded".into(),
            state: DeliveryState::Pending,
            request: None,
            attempts,
            schedule_start,
            schedule_at: Timestamp(1_000),
            next_attempt_at: Some(Timestamp(1_000)),
            lease_owner: None,
            leased_at: None,
            lease_until: None,
            lease_seq: 0,
            last_status: None,
            last_error: None,
            created_at: Timestamp(1_000),
            updated_at: Timestamp(1_000),
            finished_at: None,
        }
    }

    #[test]
    fn retries_follow_offsets_from_the_schedule_start_then_die() {
        let offsets = [0, 60_000, 300_000];
        assert_eq!(
            after_attempt(&delivery(0, 0), false, &offsets, ON_TIME),
            AfterAttempt::RetryAt(Timestamp(61_000))
        );
        assert_eq!(
            after_attempt(&delivery(1, 0), false, &offsets, ON_TIME),
            AfterAttempt::RetryAt(Timestamp(301_000))
        );
        assert_eq!(
            after_attempt(&delivery(2, 0), false, &offsets, ON_TIME),
            AfterAttempt::Dead
        );
        assert_eq!(
            after_attempt(&delivery(2, 0), true, &offsets, ON_TIME),
            AfterAttempt::Acknowledged
        );
    }

    /// An attempt that ends when its schedule starts (every due time is later).
    const ON_TIME: Timestamp = Timestamp(1_000);

    #[test]
    fn a_delivery_held_back_spaces_its_overdue_retries_by_the_schedule() {
        let offsets = [0, 60_000, 300_000, 1_800_000];
        // First attempted 400 s after its schedule started (held back behind another callback
        // of its key): the retries due at 1 and 5 min are overdue, so they come 1 min and 4 min
        // apart from each attempt, not at once; the 30 min one is still ahead and keeps its time.
        let late = Timestamp(401_000);
        assert_eq!(
            after_attempt(&delivery(0, 0), false, &offsets, late),
            AfterAttempt::RetryAt(Timestamp(461_000))
        );
        assert_eq!(
            after_attempt(&delivery(1, 0), false, &offsets, Timestamp(461_000)),
            AfterAttempt::RetryAt(Timestamp(701_000))
        );
        assert_eq!(
            after_attempt(&delivery(2, 0), false, &offsets, Timestamp(701_000)),
            AfterAttempt::RetryAt(Timestamp(1_801_000))
        );
        // Due exactly now counts as overdue.
        assert_eq!(
            after_attempt(&delivery(0, 0), false, &offsets, Timestamp(61_000)),
            AfterAttempt::RetryAt(Timestamp(121_000))
        );
    }

    #[test]
    fn a_resend_restarts_the_schedule() {
        let offsets = [0, 60_000];
        assert_eq!(
            after_attempt(&delivery(5, 5), false, &offsets, ON_TIME),
            AfterAttempt::RetryAt(Timestamp(61_000))
        );
        assert_eq!(
            after_attempt(&delivery(6, 5), false, &offsets, ON_TIME),
            AfterAttempt::Dead
        );
        assert_eq!(
            after_attempt(&delivery(0, 0), false, &[], ON_TIME),
            AfterAttempt::Dead
        );
    }

    #[test]
    fn refunds_are_ordered_under_their_payment() {
        let event = |kind: &str, payload| OutboxEvent {
            id: 1,
            merchant_id: MerchantId("mch_1".into()),
            protocol: Protocol::Passtopay,
            object_kind: kind.into(),
            object_id: "rf_1".into(),
            event: format!("{kind}.succeeded"),
            payload,
            created_at: Timestamp(0),
        };
        let refund = event("refund", serde_json::json!({"payment_id": "pay_9"}));
        assert_eq!(order_key(&refund, false, None), "pay_9");
        let payout = event("payout", serde_json::json!({"payment_id": "pay_9"}));
        assert_eq!(order_key(&payout, false, None), "rf_1");
        // Per URL: the same URL the same key, another URL another; the object read back.
        let at = |url| order_key(&refund, false, Some(url));
        assert_eq!(at("https://m.example/cb"), at("https://m.example/cb"));
        assert_ne!(at("https://m.example/cb"), at("https://m.example/refunds"));
        // The endpoint, not the callback a query-format URL carries.
        assert_eq!(
            at("https://m.example/cb?state=2&sign=A"),
            at("https://m.example/cb?state=5&sign=B#x")
        );
        assert_eq!(
            at("https://m.example/cb?state=2"),
            at("https://m.example/cb")
        );
        // One URL however it is spelt; another path or port is another endpoint.
        assert_eq!(at("HTTPS://M.Example:443/cb"), at("https://m.example/cb"));
        assert_eq!(
            at("http://localhost:80/v/%65/./x"),
            at("http://LOCALHOST/v/e/x")
        );
        assert_ne!(at("http://localhost:81/v/e"), at("http://localhost/v/e"));
        assert_ne!(at("http://localhost/v/%2F"), at("http://localhost/v//"));
        assert_eq!(
            at(""),
            "pay_9@cbf29ce484222325",
            "FNV-1a's offset basis: the hash is the same on every node and version"
        );
        assert_eq!(keyed_object(&at("https://m.example/cb")), "pay_9");
        assert_eq!(
            order_key(&refund, true, Some("https://m.example/cb")),
            "pay_9#1"
        );
        assert_eq!(keyed_object("pay_9#1"), "pay_9");
    }

    #[test]
    fn the_protocol_limit_holds_under_the_operator_cap() {
        let s = Duration::from_secs;
        assert_eq!(attempt_timeout(None, s(20)), s(20), "PassToPay's 20 s");
        assert_eq!(attempt_timeout(None, Duration::ZERO), FALLBACK_TIMEOUT);
        assert_eq!(attempt_timeout(Some(s(10)), s(5)), s(5));
        assert_eq!(attempt_timeout(Some(s(10)), s(30)), s(10));
        assert_eq!(attempt_timeout(Some(s(10)), Duration::ZERO), s(10));
    }
}
