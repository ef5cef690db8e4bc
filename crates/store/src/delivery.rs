//! Merchant callback deliveries and their attempt log: the types the notifier and operators see.
//!
//! The rows and their encoding live here; the queries (an `impl Db` block) in `queries.rs`.

mod queries;

use crate::error::StoreError;
use crate::sql::{Row, Value};
use base64::Engine as _;
use polypay_core::{MerchantId, Protocol, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its next attempt, or being attempted under a lease.
    Pending,
    /// The merchant acknowledged it; the schedule never sends it again.
    Acknowledged,
    /// Out of attempts (or impossible to encode); visible and re-sendable.
    Dead,
    /// The protocol sends no callback for this event.
    Skipped,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Acknowledged,
        DeliveryState::Dead,
        DeliveryState::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Acknowledged => "acknowledged",
            DeliveryState::Dead => "dead",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// The response was the protocol's acknowledgement.
    Acknowledged,
    /// A response arrived, but not an acknowledgement.
    Rejected,
    /// No response: refused, unreachable, timed out, or the request could not be built.
    Error,
    /// Its node stopped before recording a result; the lease expired.
    Interrupted,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Acknowledged => "acknowledged",
            AttemptOutcome::Rejected => "rejected",
            AttemptOutcome::Error => "error",
            AttemptOutcome::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<AttemptOutcome> {
        [
            AttemptOutcome::Acknowledged,
            AttemptOutcome::Rejected,
            AttemptOutcome::Error,
            AttemptOutcome::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Outbox events their protocol never sends a callback for, whatever the merchant, the object or
/// its history (`ProtocolNotifier::silent_events`; PassToPay's `payment.created`, say). Ingestion
/// passes them without writing a delivery row for each (the shared cursor moves over them as
/// over ingested ones), and retention removes them like finished deliveries.
///
/// Held as SQL conditions over the outbox row `o`, built once from names the code declares (a
/// name with a character outside `[a-z0-9_.]` is left out: an event left out only costs its
/// `skipped` row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SilentEvents {
    /// The events of each protocol.
    events: BTreeMap<&'static str, BTreeSet<String>>,
    /// True for a silent event (built once from `events`); empty when there are none.
    condition: String,
}

impl SilentEvents {
    pub fn new<'a>(events: impl IntoIterator<Item = (Protocol, &'a str)>) -> SilentEvents {
        let mut by_protocol: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for (protocol, event) in events {
            let plain = !event.is_empty()
                && event.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                });
            if plain {
                by_protocol
                    .entry(protocol.as_str())
                    .or_default()
                    .insert(event.to_string());
            }
        }
        let condition = if by_protocol.is_empty() {
            String::new()
        } else {
            let each: Vec<String> = by_protocol
                .iter()
                .map(|(protocol, events)| {
                    let list: Vec<String> = events.iter().map(|e| format!("'{e}'")).collect();
                    format!(
                        "(o.protocol = '{protocol}' AND o.event IN ({}))",
                        list.join(", ")
                    )
                })
                .collect();
            format!("({})", each.join(" OR "))
        };
        SilentEvents {
            events: by_protocol,
            condition,
        }
    }

    /// How many (protocol, event) pairs are silent.
    pub fn len(&self) -> usize {
        self.events.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether `event` of `protocol` is silent.
    pub fn contains(&self, protocol: Protocol, event: &str) -> bool {
        self.events
            .get(protocol.as_str())
            .is_some_and(|events| events.contains(event))
    }

    /// A condition on the outbox row `o`, true for a silent event (empty when none are).
    pub(crate) fn sql(&self) -> &str {
        &self.condition
    }

    /// `AND NOT` that condition, to append to a `WHERE` over `o` (empty when none are silent).
    pub(crate) fn and_not(&self) -> String {
        if self.condition.is_empty() {
            String::new()
        } else {
            format!(" AND NOT {}", self.condition)
        }
    }
}

/// An HTTP request as stored: exactly the bytes that were (or will be) sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A delivery to create for an outbox event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub outbox_id: i64,
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    pub object_kind: String,
    pub object_id: String,
    /// Deliveries with the same key are sent in outbox order (the payment, for its refunds too).
    pub order_key: String,
    pub event: String,
    /// `Pending` (with a request), `Skipped`, or `Dead` when encoding failed.
    pub state: DeliveryState,
    pub request: Option<StoredRequest>,
    /// When the schedule starts (the time the request was encoded for).
    pub schedule_at: Timestamp,
    /// When the first attempt is due.
    pub first_attempt_at: Timestamp,
    /// Why it was skipped or is dead from the start.
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// A delivery with its current schedule and lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub outbox_id: i64,
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    pub object_kind: String,
    pub object_id: String,
    pub order_key: String,
    pub event: String,
    pub state: DeliveryState,
    pub request: Option<StoredRequest>,
    /// Attempts finished (interrupted ones excluded).
    pub attempts: i64,
    /// `attempts` when the current schedule started (0, or the count at the last resend).
    pub schedule_start: i64,
    pub schedule_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub lease_owner: Option<String>,
    pub leased_at: Option<Timestamp>,
    pub lease_until: Option<Timestamp>,
    /// Bumped by every lease and resend: a result is recorded only under the lease that made it.
    pub lease_seq: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl Delivery {
    /// Attempts finished since the current schedule started.
    pub fn attempts_in_schedule(&self) -> i64 {
        self.attempts - self.schedule_start
    }
}

/// One attempt as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    pub id: i64,
    pub delivery_id: i64,
    /// 1-based number of this attempt among the delivery's attempts.
    pub attempt: i64,
    pub node_id: String,
    pub started_at: Timestamp,
    /// `None` when no request was sent (interrupted, or it could not be built).
    pub request: Option<StoredRequest>,
    pub outcome: AttemptOutcome,
    pub response_status: Option<i64>,
    /// At most the first 4 KiB, as text (invalid UTF-8 replaced).
    pub response_body: Option<String>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Acknowledged,
    RetryAt(Timestamp),
    Dead,
}

/// The result of one leased attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub attempt: DeliveryAttempt,
    /// The lease the attempt ran under; a stale lease records the attempt but not its effect.
    pub lease_seq: i64,
    pub next: AfterAttempt,
}

/// What to lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The engine clock: what is due (and the interrupted attempts' times) follows it.
    pub now: Timestamp,
    /// Real time: leases follow it, so sandbox time travel (which moves `now`, and reaches
    /// the other nodes of an installation only at their next sweep) never ends a lease early.
    pub wall: Timestamp,
    pub node_id: String,
    /// The lease's end, in real time ([`LeaseRequest::wall`] plus the lease).
    pub lease_until: Timestamp,
    /// Most deliveries of one merchant leased at once (across nodes), so one slow merchant
    /// cannot take every slot.
    pub per_merchant: i64,
    pub limit: i64,
    /// Slots a merchant past its `per_merchant` share may not borrow: when merchants within
    /// their share leave more than `reserve` of `limit` unused, deliveries of merchants with
    /// more due take the rest, oldest due first, until `reserve` are left free (for a merchant
    /// whose callbacks arrive meanwhile). `limit` or more: no borrowing.
    pub reserve: i64,
}

/// A point the PostgreSQL ingestion cursor may later pass without waiting out the settle
/// window: every outbox id up to `max_id` is final (committed or never to be) once no
/// transaction with an xid below `xid` is running. Read by `Db::outbox_horizon`; see
/// `Db::delivery_cursor_target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxHorizon {
    /// The highest outbox id committed when the horizon was read.
    pub max_id: i64,
    /// An xid assigned after that read's snapshot was taken.
    pub xid: i64,
}

/// What one call of a purge of callback history (`Db::purge_finished_deliveries`,
/// `Db::purge_silent_events`) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Rows deleted: deliveries (with their attempt logs and events), or silent events.
    pub deleted: u64,
    /// The id the walk stopped at when it stopped early (at its limit, or with its pages
    /// read); the next call resumes above it. `None`: it reached the end of what may go.
    pub resume: Option<i64>,
}

/// Filters of the operator's delivery list; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub merchant_id: Option<MerchantId>,
    /// A payment (its deliveries and its refunds'), or any object id.
    pub payment: Option<String>,
    pub state: Option<DeliveryState>,
    /// Only deliveries attempted at least once (with `Pending`: the failing ones, which the
    /// console, the admin API and the CLI call the `failing` state).
    pub attempted: bool,
    /// Only deliveries with a smaller id (paging, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub(crate) const DELIVERY_COLS: &str = "id, outbox_id, merchant_id, protocol, object_kind, object_id, order_key, \
    event, state, method, url, headers, body, body_base64, attempts, schedule_start, schedule_at, next_attempt_at, \
    lease_owner, leased_at, lease_until, lease_seq, last_status, last_error, created_at, updated_at, finished_at";

pub(crate) const ATTEMPT_COLS: &str = "id, delivery_id, attempt, node_id, started_at, method, url, headers, body, \
    body_base64, outcome, response_status, response_body, latency_ms, error";

/// The four request columns (method, url, headers, body) and the body's encoding flag.
pub(crate) fn request_values(r: Option<&StoredRequest>) -> Result<[Value; 5], StoreError> {
    let Some(r) = r else {
        return Ok([Value::Null, Value::Null, Value::Null, Value::Null, 0.into()]);
    };
    // Bodies that are not UTF-8, or hold a NUL (which PostgreSQL's text cannot), go as base64:
    // either way the bytes come back exactly.
    let (body, b64) = match std::str::from_utf8(&r.body) {
        Ok(text) if !text.contains('\0') => (text.to_string(), 0),
        _ => (base64::engine::general_purpose::STANDARD.encode(&r.body), 1),
    };
    Ok([
        r.method.as_str().into(),
        r.url.as_str().into(),
        serde_json::to_string(&r.headers)?.into(),
        body.into(),
        Value::Int(b64),
    ])
}

/// Text kept for people to read (a response body's prefix, an error, a note), as both backends
/// can store it: PostgreSQL's text cannot hold U+0000, and one in a batch would fail the whole
/// batch's statement (a merchant answering with a NUL byte stopped every attempt recorded with
/// its own from being recorded). Each becomes U+FFFD, as a byte that is not UTF-8 already does
/// in a recorded body, on both backends alike.
pub(crate) fn readable(text: Option<&str>) -> Value {
    match text {
        Some(t) if t.contains('\0') => Value::Text(t.replace('\0', "\u{fffd}")),
        Some(t) => Value::Text(t.to_string()),
        None => Value::Null,
    }
}

/// Decodes the request columns starting at `at` (method, url, headers, body, body_base64).
fn request_row(r: &Row, at: usize) -> Result<Option<StoredRequest>, StoreError> {
    let (Some(method), Some(url)) = (r.opt_text(at)?, r.opt_text(at + 1)?) else {
        return Ok(None);
    };
    let headers: Vec<(String, String)> =
        serde_json::from_str(&r.opt_text(at + 2)?.unwrap_or_else(|| "[]".into()))?;
    let body = r.opt_text(at + 3)?.unwrap_or_default();
    let body = if r.int(at + 4)? != 0 {
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("callback body: {e}")))?
    } else {
        body.into_bytes()
    };
    Ok(Some(StoredRequest {
        method,
        url,
        headers,
        body,
    }))
}

fn protocol(text: &str) -> Result<Protocol, StoreError> {
    Protocol::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown protocol {text}")))
}

pub(crate) fn delivery_row(r: &Row) -> Result<Delivery, StoreError> {
    let state = r.text(8)?;
    Ok(Delivery {
        id: r.int(0)?,
        outbox_id: r.int(1)?,
        merchant_id: MerchantId(r.text(2)?),
        protocol: protocol(&r.text(3)?)?,
        object_kind: r.text(4)?,
        object_id: r.text(5)?,
        order_key: r.text(6)?,
        event: r.text(7)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state}")))?,
        request: request_row(r, 9)?,
        attempts: r.int(14)?,
        schedule_start: r.int(15)?,
        schedule_at: Timestamp(r.int(16)?),
        next_attempt_at: r.opt_int(17)?.map(Timestamp),
        lease_owner: r.opt_text(18)?,
        leased_at: r.opt_int(19)?.map(Timestamp),
        lease_until: r.opt_int(20)?.map(Timestamp),
        lease_seq: r.int(21)?,
        last_status: r.opt_int(22)?,
        last_error: r.opt_text(23)?,
        created_at: Timestamp(r.int(24)?),
        updated_at: Timestamp(r.int(25)?),
        finished_at: r.opt_int(26)?.map(Timestamp),
    })
}

pub(crate) fn attempt_row(r: &Row) -> Result<DeliveryAttempt, StoreError> {
    let outcome = r.text(10)?;
    Ok(DeliveryAttempt {
        id: r.int(0)?,
        delivery_id: r.int(1)?,
        attempt: r.int(2)?,
        node_id: r.text(3)?,
        started_at: Timestamp(r.int(4)?),
        request: request_row(r, 5)?,
        outcome: AttemptOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt outcome {outcome}")))?,
        response_status: r.opt_int(11)?,
        response_body: r.opt_text(12)?,
        latency_ms: r.opt_int(13)?,
        error: r.opt_text(14)?,
    })
}
