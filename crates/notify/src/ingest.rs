//! Ingestion: outbox events become deliveries, each exactly once across nodes.
//!
//! Events a protocol never sends (`ProtocolNotifier::silent_events`) are not read at all: the
//! shared cursor passes them as it passes ingested ones, and they get no delivery row.
//!
//! Events and their merchants are read on a read connection, encoded off the async runtime
//! (signing can be costly), then inserted in one store job with `ON CONFLICT DO NOTHING` on the
//! outbox id: when two nodes ingest the same event, one row wins and the other node's encoding
//! is simply dropped. The request is encoded with the merchant's clock (`Clock::wall`, which
//! sandbox time travel does not move) as its signing time and stored as it will be sent; its
//! schedule follows the platform's clock.

use crate::dispatcher::Inner;
use crate::error::NotifyError;
use crate::protocol::{Encoded, ProtocolNotifier};
use crate::{metrics, schedule};
use polypay_core::{Merchant, Protocol, Timestamp};
use polypay_store::{DeliveryState, NewDelivery, OutboxEvent, StoredRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most events ingested by one run.
pub(crate) const INGEST_BATCH: i64 = 500;
/// How long (engine clock) an outbox id may stay uncommitted on another node: on PostgreSQL the
/// ingestion cursor passes events younger than this only under a settled outbox horizon, so a
/// late commit of a smaller id is not missed (SQLite commits ids in order and needs no window).
const SETTLE_MS: i64 = 60_000;

type Notifiers = HashMap<Protocol, Arc<dyn ProtocolNotifier>>;

impl Inner {
    /// Ingests up to one batch of new outbox events.
    ///
    /// A `full` pass (every tick) scans from the shared cursor, which on PostgreSQL stays behind
    /// until the ids below it are final, so that an outbox id committed late on another node
    /// is not missed (an outbox horizon read a tick earlier, or at worst a minute: see
    /// `Db::delivery_cursor_target`), advances that cursor (working out where to on the read
    /// connection; the writer only stores it) and refreshes the queue-depth gauge. In between,
    /// a quick pass scans only above the highest id this node has already looked at: with a
    /// busy outbox, rescanning the last minute's events on every cycle cost more than
    /// delivering them.
    pub(crate) async fn ingest(&self, full: bool) -> Result<Ingested, NotifyError> {
        let batch = self.read_batch(full).await?;
        self.write_batch(batch).await
    }

    /// The first half of [`Inner::ingest`]: reads up to one batch of new events (and, on a full
    /// pass, where the cursor may move) and encodes their deliveries. Nothing is written.
    pub(crate) async fn read_batch(&self, full: bool) -> Result<Batch, NotifyError> {
        let store = self.engine.store().clone();
        let (now, wall) = (self.engine.clock().now(), self.engine.clock().wall());
        let after = if full {
            0
        } else {
            self.scanned.load(Ordering::Relaxed)
        };
        let settled_before = now.plus_millis(-SETTLE_MS);
        let horizon = if full { self.horizon() } else { None };
        let silent = self.silent.clone();
        let (events, looked, merchants, pending, due, cursor, next_horizon) = store
            .read(move |db| {
                // Retries falling due are looked for once a tick: a quick pass follows a delivery
                // cycle, which has just leased what was due (an index walk past every leased and
                // not-yet-due row; 0.67 ms per pass on PostgreSQL during the bench's delivery).
                let due = full && db.any_delivery_due(now, wall)?;
                // Only a full pass moves the shared cursor; where to is read here, off the writer,
                // with the horizon an earlier pass read (a fresh one is read for a later pass).
                let (cursor, next_horizon) = if full {
                    let cursor = db.delivery_cursor_target(settled_before, horizon, &silent)?;
                    (cursor, db.outbox_horizon()?)
                } else {
                    (None, None)
                };
                // Silent events are never returned, so the highest id read may lie below a long
                // run of them; the highest id visible before the read tells how far a batch that
                // came back short has looked (read first: every event at or below it is visible
                // to the batch's read too).
                let top = if silent.is_empty() {
                    None
                } else {
                    db.outbox_max_id()?
                };
                let events = db.outbox_to_ingest(after, INGEST_BATCH, &silent)?;
                let looked = match (events.last(), top) {
                    (_, Some(top)) if (events.len() as i64) < INGEST_BATCH => Some(top),
                    (last, _) => last.map(|e| e.id),
                };
                let mut merchants = HashMap::new();
                for e in &events {
                    if !merchants.contains_key(&e.merchant_id)
                        && let Some(m) = db.merchant(&e.merchant_id)?
                    {
                        merchants.insert(e.merchant_id.clone(), m);
                    }
                }
                let pending = if full {
                    Some(db.pending_delivery_count()?)
                } else {
                    None
                };
                Ok::<_, NotifyError>((
                    events,
                    looked,
                    merchants,
                    pending,
                    due,
                    cursor,
                    next_horizon,
                ))
            })
            .await?;
        if full {
            self.keep_horizon(next_horizon);
        }
        if let Some(pending) = pending {
            metrics::queue_depth(pending);
        }
        if let Some(looked) = looked {
            self.scanned.fetch_max(looked, Ordering::Relaxed);
        }
        let fetched = events.len();
        let new = if events.is_empty() {
            Vec::new()
        } else {
            let notifiers = self.notifiers.clone();
            tokio::task::spawn_blocking(move || {
                events
                    .iter()
                    .map(|e| new_delivery(&notifiers, e, merchants.get(&e.merchant_id), now, wall))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| NotifyError::Task(e.to_string()))?
        };
        Ok(Batch {
            new,
            cursor,
            fetched,
            due,
            pending,
            full,
        })
    }

    /// The second half of [`Inner::ingest`]: inserts a batch's deliveries and moves the cursor,
    /// in one store job.
    pub(crate) async fn write_batch(&self, batch: Batch) -> Result<Ingested, NotifyError> {
        let Batch {
            new,
            cursor,
            due,
            pending,
            full,
            ..
        } = batch;
        if new.is_empty() && cursor.is_none() {
            return Ok(Ingested {
                created: 0,
                due,
                full,
            });
        }
        let created = self
            .engine
            .store()
            .write_locking(polypay_store::Locks::Ingestion, move |db| {
                let created = if new.is_empty() {
                    0
                } else {
                    db.insert_deliveries(&new)?
                };
                if let Some(to) = cursor {
                    db.advance_delivery_cursor(to)?;
                }
                Ok::<_, NotifyError>(created)
            })
            .await?;
        if let Some(pending) = pending {
            metrics::queue_depth(pending + i64::try_from(created).unwrap_or(0));
        }
        Ok(Ingested {
            created: usize::try_from(created).unwrap_or(usize::MAX),
            due: due || created > 0,
            full,
        })
    }

    /// The horizon the previous full pass read.
    fn horizon(&self) -> Option<polypay_store::OutboxHorizon> {
        *self.horizon.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the horizon a full pass read for the next one, a tick later. Always the newest:
    /// it waits for the transactions that had started before it was read, which write
    /// transactions (milliseconds long) have finished a tick later, and it reaches furthest.
    /// While a transaction longer than a tick runs, no horizon settles and the time rule moves
    /// the cursor.
    fn keep_horizon(&self, read: Option<polypay_store::OutboxHorizon>) {
        *self.horizon.lock().unwrap_or_else(|e| e.into_inner()) = read;
    }
}

/// What an ingestion did, and whether leasing may find work.
pub(crate) struct Ingested {
    /// Deliveries this node created.
    pub created: usize,
    /// Something was due before, or was just created (maybe due): worth a lease job.
    pub due: bool,
    /// A full pass (from the shared cursor; see [`Inner::ingest`]).
    pub full: bool,
}

impl Batch {
    /// Outbox events read (a full batch means more may be waiting).
    pub(crate) fn fetched(&self) -> usize {
        self.fetched
    }
}

/// A batch read and encoded, not yet written ([`Inner::read_batch`]).
pub(crate) struct Batch {
    new: Vec<NewDelivery>,
    /// Where the shared cursor may move (full passes only).
    cursor: Option<i64>,
    fetched: usize,
    due: bool,
    /// The queue depth read with it (full passes only).
    pending: Option<i64>,
    full: bool,
}

/// The delivery of one event: pending with its encoded request, skipped when the protocol sends
/// nothing for it, dead when it cannot be encoded (visible, and re-sendable once fixed).
pub(crate) fn new_delivery(
    notifiers: &Notifiers,
    event: &OutboxEvent,
    merchant: Option<&Merchant>,
    now: Timestamp,
    signed_at: Timestamp,
) -> NewDelivery {
    let notifier = notifiers.get(&event.protocol);
    let independent = notifier.is_some_and(|n| n.independent_deliveries());
    let mut d = NewDelivery {
        outbox_id: event.id,
        merchant_id: event.merchant_id.clone(),
        protocol: event.protocol,
        object_kind: event.object_kind.clone(),
        object_id: event.object_id.clone(),
        order_key: schedule::order_key(event, independent, None),
        event: event.event.clone(),
        state: DeliveryState::Skipped,
        request: None,
        schedule_at: now,
        first_attempt_at: now,
        note: None,
        created_at: now,
    };
    let Some(notifier) = notifier else {
        d.note = Some(format!(
            "skipped: no notifier registered for protocol {}",
            event.protocol
        ));
        return d;
    };
    let Some(merchant) = merchant else {
        return dead(d, format!("merchant {} not found", event.merchant_id));
    };
    match notifier.encode(event, merchant, signed_at) {
        Ok(Encoded::Send(req)) => {
            let first = schedule::offset(&notifier.attempt_offsets_ms(), 0).unwrap_or(0);
            d.state = DeliveryState::Pending;
            d.first_attempt_at = now.plus_millis(first);
            d.order_key = schedule::order_key(event, independent, Some(&req.url));
            d.request = Some(StoredRequest {
                method: req.method,
                url: req.url,
                headers: req.headers,
                body: req.body,
            });
            d
        }
        Ok(Encoded::Skip(why)) => {
            d.note = Some(format!("skipped: {}", why.reason()));
            d
        }
        Err(e) => dead(d, format!("encoding failed: {e}")),
    }
}

fn dead(mut d: NewDelivery, why: String) -> NewDelivery {
    tracing::warn!(
        outbox_id = d.outbox_id, merchant = %d.merchant_id, event = %d.event, reason = %why,
        "callback cannot be delivered"
    );
    metrics::dead(d.protocol);
    d.state = DeliveryState::Dead;
    d.note = Some(why);
    d
}
