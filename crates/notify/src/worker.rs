//! One leased delivery's attempt: build the request (the stored first one, or the protocol's
//! re-encoding for a retry), send it, judge the answer, and decide what follows.
//!
//! Logs name the delivery, merchant, event and outcome; never the URL, headers or bodies
//! (signatures and merchant tokens live there).

use crate::attempt::{self, Answer, Sent};
use crate::dispatcher::Inner;
use crate::protocol::{CallbackRequest, ProtocolNotifier};
use crate::{metrics, schedule};
use polypay_core::{Merchant, Timestamp};
use polypay_store::{
    AfterAttempt, AttemptOutcome, Delivery, DeliveryAttempt, FinishedAttempt, StoredRequest,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// Makes one attempt of `d` while holding `_permit` (the concurrency bound).
pub(crate) async fn attempt(
    inner: Arc<Inner>,
    d: Delivery,
    merchant: Option<Merchant>,
    _permit: OwnedSemaphorePermit,
) -> FinishedAttempt {
    let started_at = inner.engine.clock().now();
    let number = d.attempts + 1;
    let notifier = inner.notifiers.get(&d.protocol).cloned();
    let offsets = notifier
        .as_ref()
        .map(|n| n.attempt_offsets_ms())
        .unwrap_or_default();
    let index = usize::try_from(d.attempts_in_schedule()).unwrap_or(usize::MAX);
    if notifier.is_some() && schedule::offset(&offsets, index).is_none() {
        // Interrupted attempts (counted when their leases expired) used up the schedule.
        let sent = unsent("not sent: interrupted attempts used up the retry schedule".into());
        let attempt = log_entry(&inner, &d, number, started_at, None, &sent, None);
        observe(&d, &attempt, AfterAttempt::Dead, sent.latency);
        return FinishedAttempt {
            attempt,
            lease_seq: d.lease_seq,
            next: AfterAttempt::Dead,
        };
    }
    let (request, sent) = match &notifier {
        // A re-encoded attempt is signed with the merchant's clock (`Clock::wall`), which time
        // travel does not move, so a receiver's timestamp window is not thrown by a jump.
        Some(n) => match prepare(
            n.as_ref(),
            &d,
            merchant.as_ref(),
            number,
            (inner.engine.clock().now(), inner.engine.clock().wall()),
        ) {
            Ok(req) => {
                let timeout =
                    schedule::attempt_timeout(inner.config.timeout_cap, n.attempt_timeout());
                let sent = send(&inner, &req, timeout).await;
                (Some(req), sent)
            }
            Err(e) => (None, unsent(e)),
        },
        None => (
            None,
            unsent(format!(
                "no notifier registered for protocol {}",
                d.protocol
            )),
        ),
    };
    let attempt = log_entry(
        &inner,
        &d,
        number,
        started_at,
        request,
        &sent,
        notifier.as_deref(),
    );
    let acknowledged = attempt.outcome == AttemptOutcome::Acknowledged;
    let next = schedule::after_attempt(&d, acknowledged, &offsets, inner.engine.clock().now());
    observe(&d, &attempt, next, sent.latency);
    FinishedAttempt {
        attempt,
        lease_seq: d.lease_seq,
        next,
    }
}

/// How long a first attempt goes out as stored, signed when the delivery was made. One held
/// back longer (behind an earlier callback of its object that is still being retried) is
/// re-encoded like a retry: a protocol that signs each attempt afresh (V2_SHA256, BlockATM)
/// would otherwise send a timestamp past its receiver's window (V2_SHA256's is ±300 s).
pub const FIRST_ATTEMPT_FRESH_MS: i64 = 60_000;

/// Whether `d`'s next attempt is the protocol's re-encoding of the stored request: a retry,
/// or a first attempt held back longer than [`FIRST_ATTEMPT_FRESH_MS`].
pub(crate) fn reencoded(d: &Delivery, now: Timestamp) -> bool {
    d.attempts > 0 || now.0.saturating_sub(d.created_at.0) > FIRST_ATTEMPT_FRESH_MS
}

/// The request of attempt `number`: the stored one first (re-encoded when it waited longer
/// than [`FIRST_ATTEMPT_FRESH_MS`]), then the protocol's re-encoding. `(now, wall)`: the
/// platform's clock, which the delivery's times follow, and the merchant's, which signs.
fn prepare(
    notifier: &dyn ProtocolNotifier,
    d: &Delivery,
    merchant: Option<&Merchant>,
    number: i64,
    (now, wall): (Timestamp, Timestamp),
) -> Result<CallbackRequest, String> {
    let stored = d
        .request
        .as_ref()
        .ok_or_else(|| "the delivery has no request".to_string())?;
    let first = CallbackRequest {
        url: stored.url.clone(),
        method: stored.method.clone(),
        headers: stored.headers.clone(),
        body: stored.body.clone(),
    };
    if !reencoded(d, now) {
        return Ok(first);
    }
    let merchant = match merchant {
        Some(m) => m,
        // Judged fresh when the cycle leased it (so no merchant was read for it): as stored.
        None if d.attempts == 0 => return Ok(first),
        None => return Err(format!("merchant {} not found", d.merchant_id)),
    };
    let attempt = u32::try_from(number.max(1)).unwrap_or(u32::MAX);
    Ok(notifier.reencode(&first, merchant, attempt, wall))
}

async fn send(inner: &Inner, req: &CallbackRequest, timeout: Duration) -> Sent {
    match &inner.client {
        Ok(client) => attempt::send(client, req, inner.config.allow_private, timeout).await,
        Err(e) => unsent(format!("HTTP client unavailable: {e}")),
    }
}

fn unsent(error: String) -> Sent {
    Sent {
        result: Err(error),
        latency: Duration::ZERO,
    }
}

fn log_entry(
    inner: &Inner,
    d: &Delivery,
    number: i64,
    started_at: Timestamp,
    request: Option<CallbackRequest>,
    sent: &Sent,
    notifier: Option<&dyn ProtocolNotifier>,
) -> DeliveryAttempt {
    let (outcome, status, body, error) = match &sent.result {
        Ok(Answer { status, body }) => {
            let (outcome, error) = match notifier {
                Some(n) if n.is_ack(*status, body) => (AttemptOutcome::Acknowledged, None),
                // An answer that is not the acknowledgement says what would have been.
                n => (
                    AttemptOutcome::Rejected,
                    n.map(|n| {
                        let rule = n.ack_rule();
                        format!("not an acknowledgement: {} expects {rule}", d.protocol)
                    }),
                ),
            };
            (
                outcome,
                Some(i64::from(*status)),
                Some(attempt::recorded_prefix(body)),
                error,
            )
        }
        Err(e) => (AttemptOutcome::Error, None, None, Some(e.clone())),
    };
    DeliveryAttempt {
        id: 0,
        delivery_id: d.id,
        attempt: number,
        node_id: inner.config.node_id.clone(),
        started_at,
        request: request.map(|r| StoredRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
        }),
        outcome,
        response_status: status,
        response_body: body,
        latency_ms: Some(i64::try_from(sent.latency.as_millis()).unwrap_or(i64::MAX)),
        error,
    }
}

fn observe(d: &Delivery, a: &DeliveryAttempt, next: AfterAttempt, latency: Duration) {
    metrics::attempt(d.protocol, a.outcome, latency);
    let latency_ms = a.latency_ms.unwrap_or(0);
    match next {
        AfterAttempt::Acknowledged => tracing::info!(
            delivery = d.id, merchant = %d.merchant_id, event = %d.event, attempt = a.attempt,
            status = a.response_status, latency_ms, "callback acknowledged"
        ),
        AfterAttempt::RetryAt(at) => tracing::info!(
            delivery = d.id, merchant = %d.merchant_id, event = %d.event, attempt = a.attempt,
            status = a.response_status, error = a.error.as_deref(), latency_ms,
            retry_at = %at.to_rfc3339(), "callback not acknowledged; will retry"
        ),
        AfterAttempt::Dead => {
            metrics::dead(d.protocol);
            tracing::warn!(
                delivery = d.id, merchant = %d.merchant_id, event = %d.event, attempt = a.attempt,
                status = a.response_status, error = a.error.as_deref(), latency_ms,
                "callback dead after its last attempt"
            )
        }
    }
}
