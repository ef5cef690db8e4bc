//! The operator's surface, shared by the admin API and the CLI: list deliveries, show one with
//! its attempts, re-send one, and the JSON shape all three are shown in.
//!
//! Request headers and bodies are shown here (the operator needs them to debug a merchant's
//! endpoint and the admin API is behind the admin token); they never go to the logs.

use crate::error::NotifyError;
use crate::protocol::{Encoded, ProtocolNotifier};
use base64::Engine as _;
use polypay_core::Timestamp;
use polypay_engine::Engine;
use polypay_store::{Delivery, DeliveryAttempt, DeliveryFilter, DeliveryState, StoredRequest};
use serde_json::{Value, json};
use std::sync::Arc;

/// The states a listing takes, as the operator names them.
pub const STATE_NAMES: &str = "pending, failing, acknowledged, dead or skipped";

/// A state as the operator names it: the stored states, and `failing` (pending after at least
/// one attempt), as `(state, attempted)` for a [`DeliveryFilter`].
pub fn state_named(name: &str) -> Option<(DeliveryState, bool)> {
    match name {
        "failing" => Some((DeliveryState::Pending, true)),
        other => DeliveryState::parse(other).map(|s| (s, false)),
    }
}

/// Most deliveries one listing returns.
pub const MAX_LIST: i64 = 500;

/// One page of the deliveries matching `filter`, newest first (the limit is clamped to
/// 1..=500), and whether more follow (below the page's last id); `None` when the filter names
/// a merchant that does not exist (an operator's typo is not "no callbacks").
pub async fn deliveries_page(
    engine: &Engine,
    mut filter: DeliveryFilter,
) -> Result<Option<(Vec<Delivery>, bool)>, NotifyError> {
    let limit = filter.limit.clamp(1, MAX_LIST);
    filter.limit = limit + 1;
    let page = engine
        .store()
        .read(move |db| {
            if let Some(m) = &filter.merchant_id
                && !db.merchant_exists(m)?
            {
                return Ok(None);
            }
            let mut rows = db.deliveries(&filter)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            Ok::<_, polypay_store::StoreError>(Some((rows, more)))
        })
        .await?;
    Ok(page)
}

/// Deliveries matching `filter`, newest first (the limit is clamped to 1..=500).
pub async fn list_deliveries(
    engine: &Engine,
    mut filter: DeliveryFilter,
) -> Result<Vec<Delivery>, NotifyError> {
    filter.limit = filter.limit.clamp(1, MAX_LIST);
    Ok(engine
        .store()
        .read(move |db| db.deliveries(&filter))
        .await?)
}

/// The deliveries `filter` finds, oldest first, each with its attempt log (oldest attempt
/// first), in one read of the store whatever their number.
pub async fn list_deliveries_with_attempts(
    engine: &Engine,
    mut filter: DeliveryFilter,
) -> Result<Vec<(Delivery, Vec<DeliveryAttempt>)>, NotifyError> {
    filter.limit = filter.limit.clamp(1, MAX_LIST);
    engine
        .store()
        .read(move |db| {
            let deliveries = db.deliveries(&filter)?;
            let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
            let mut attempts = db.attempts_of(&ids)?.into_iter().peekable();
            let mut out = Vec::with_capacity(deliveries.len());
            // Deliveries come newest first and attempts by delivery id: walk both upwards.
            for d in deliveries.into_iter().rev() {
                let mut own = Vec::new();
                while let Some(a) = attempts.next_if(|a| a.delivery_id <= d.id) {
                    if a.delivery_id == d.id {
                        own.push(a);
                    }
                }
                out.push((d, own));
            }
            Ok(out)
        })
        .await
}

/// One delivery as the operator is shown it.
#[derive(Debug, Clone)]
pub struct DeliveryDetail {
    pub delivery: Delivery,
    /// Its attempt log, oldest attempt first.
    pub attempts: Vec<DeliveryAttempt>,
    /// The earlier callback it waits for (same object and endpoint, queued before it and not
    /// finished): why one that is due is not sent. `None` when nothing holds it back.
    pub waiting_for: Option<i64>,
}

/// One delivery, its attempt log and what it waits for, in one read.
pub async fn delivery_with_attempts(
    engine: &Engine,
    id: i64,
) -> Result<DeliveryDetail, NotifyError> {
    engine
        .store()
        .read(move |db| {
            let delivery = db.delivery(id)?.ok_or(NotifyError::NotFound(id))?;
            let attempts = db.delivery_attempts(id)?;
            let waiting_for = db.delivery_waiting_for(&delivery)?;
            Ok(DeliveryDetail {
                delivery,
                attempts,
                waiting_for,
            })
        })
        .await
}

/// Makes a delivery due at the engine clock's now with a fresh schedule, whatever its state.
/// A delivery stored without a request (skipped, or dead because encoding failed) is encoded
/// again first; if the protocol still sends nothing for it, that is [`NotifyError::NotSendable`].
/// The dispatcher (of any node) sends it on its next run.
pub async fn resend(
    engine: &Engine,
    notifiers: &[Arc<dyn ProtocolNotifier>],
    id: i64,
) -> Result<(), NotifyError> {
    let now = engine.clock().now();
    let store = engine.store().clone();
    let (d, event, merchant) = store
        .read(move |db| {
            let d = db.delivery(id)?.ok_or(NotifyError::NotFound(id))?;
            if d.request.is_some() {
                return Ok((d, None, None));
            }
            let event = db.outbox_event(d.outbox_id)?;
            let merchant = db.merchant(&d.merchant_id)?;
            Ok::<_, NotifyError>((d, event, merchant))
        })
        .await?;
    let request = match d.request {
        Some(_) => None,
        // Signed with the merchant's clock, which time travel does not move.
        None => Some(encode_again(
            notifiers,
            &d,
            event,
            merchant,
            engine.clock().wall(),
        )?),
    };
    // A delivery keyed by its object alone (it had no request, or an earlier version queued
    // it) is keyed by its endpoint, as one queued now.
    let key = request
        .as_ref()
        .or(d.request.as_ref())
        .filter(|_| !d.order_key.contains(['#', '@']))
        .map(|r| crate::schedule::keyed_at(&d.order_key, &r.url));
    // Not found fails the job (an audited resend records nothing then).
    store
        .write(
            move |db| match db.resend_delivery(id, now, request.as_ref(), key.as_deref())? {
                true => Ok(()),
                false => Err(NotifyError::NotFound(id)),
            },
        )
        .await?;
    tracing::info!(delivery = id, merchant = %d.merchant_id, event = %d.event, "callback re-send requested");
    Ok(())
}

fn encode_again(
    notifiers: &[Arc<dyn ProtocolNotifier>],
    d: &Delivery,
    event: Option<polypay_store::OutboxEvent>,
    merchant: Option<polypay_core::Merchant>,
    now: Timestamp,
) -> Result<StoredRequest, NotifyError> {
    let not_sendable = |why: &str| NotifyError::NotSendable(d.id, why.to_string());
    let notifier = notifiers
        .iter()
        .find(|n| n.protocol() == d.protocol)
        .ok_or_else(|| not_sendable("no notifier is registered for its protocol"))?;
    let event = event.ok_or_else(|| not_sendable("its outbox event is gone"))?;
    let merchant = merchant.ok_or_else(|| not_sendable("its merchant is gone"))?;
    match notifier.encode(&event, &merchant, now) {
        Ok(Encoded::Send(r)) => Ok(StoredRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
        }),
        Ok(Encoded::Skip(why)) => Err(not_sendable(why.reason())),
        Err(e) => Err(NotifyError::Encode(e)),
    }
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

/// A delivery without its request: for listings.
pub fn delivery_summary_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "outbox_id": d.outbox_id,
        "merchant_id": d.merchant_id,
        "protocol": d.protocol,
        "object_kind": d.object_kind,
        "object_id": d.object_id,
        // A payout's delivery has no payment; its order key is its own id.
        "payment_id": match d.object_kind.as_str() {
            "payout" => None,
            _ => Some(crate::schedule::keyed_object(&d.order_key)),
        },
        "event": d.event,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": time(d.next_attempt_at),
        "leased_by": d.lease_owner,
        "lease_until": time(d.lease_until),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "url": d.request.as_ref().map(|r| r.url.as_str()),
        "created_at": time(Some(d.created_at)),
        "updated_at": time(Some(d.updated_at)),
        "finished_at": time(d.finished_at),
    })
}

/// A delivery with its first request, every attempt as made, and the earlier callback it waits
/// for.
pub fn delivery_detail_json(detail: &DeliveryDetail) -> Value {
    let d = &detail.delivery;
    let mut v = delivery_summary_json(d);
    v["waiting_for"] = json!(detail.waiting_for);
    v["request"] = d.request.as_ref().map_or(Value::Null, request_json);
    v["attempt_log"] = detail.attempts.iter().map(attempt_json).collect();
    v
}

pub fn attempt_json(a: &DeliveryAttempt) -> Value {
    json!({
        "attempt": a.attempt,
        "node_id": a.node_id,
        "started_at": a.started_at.to_rfc3339(),
        "outcome": a.outcome,
        "request": a.request.as_ref().map_or(Value::Null, request_json),
        "response_status": a.response_status,
        "response_body": a.response_body,
        "latency_ms": a.latency_ms,
        "error": a.error,
    })
}

fn request_json(r: &StoredRequest) -> Value {
    let headers: Vec<Value> = r.headers.iter().map(|(n, v)| json!([n, v])).collect();
    let mut v = json!({"method": r.method, "url": r.url, "headers": headers});
    match std::str::from_utf8(&r.body) {
        Ok(text) => v["body"] = json!(text),
        Err(_) => {
            v["body_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&r.body))
        }
    }
    v
}
