//! Protocol-owned state the core model does not know: records (payers, tokens), sequences
//! for provider-style ids, and claimed nonces (replay protection shared by every node).

use crate::Engine;
use crate::error::EngineError;
use polypay_core::{Protocol, Timestamp};
use polypay_store::{Db, Locks, ProtocolRecord};

impl Engine {
    /// Inserts a record; `false` if one with the same key exists (nothing changes then).
    pub async fn insert_record(&self, record: ProtocolRecord) -> Result<bool, EngineError> {
        self.store
            .write(move |db| Ok(db.insert_record(&record)?))
            .await
    }

    /// Replaces an existing record's value; `false` if there is none.
    pub async fn update_record(&self, record: ProtocolRecord) -> Result<bool, EngineError> {
        self.store
            .write(move |db| Ok(db.update_record(&record)?))
            .await
    }

    pub async fn record(
        &self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<ProtocolRecord>, EngineError> {
        let (m, k, key) = (merchant_id.to_string(), kind.to_string(), key.to_string());
        self.store
            .read(move |db| Ok(db.record(protocol, &m, &k, &key)?))
            .await
    }

    /// A record and, when `next` names one from it (kind, key), the record it points at, read
    /// together (one trip to a read connection instead of two).
    pub async fn record_and_target<F>(
        &self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        key: &str,
        next: F,
    ) -> Result<(Option<ProtocolRecord>, Option<ProtocolRecord>), EngineError>
    where
        F: FnOnce(&ProtocolRecord) -> Option<(String, String)> + Send + 'static,
    {
        let (m, k, key) = (merchant_id.to_string(), kind.to_string(), key.to_string());
        self.store
            .read(move |db| {
                let Some(first) = db.record(protocol, &m, &k, &key)? else {
                    return Ok((None, None));
                };
                let second = match next(&first) {
                    Some((kind, key)) => db.record(protocol, &m, &kind, &key)?,
                    None => None,
                };
                Ok((Some(first), second))
            })
            .await
    }

    /// The next value of a named sequence (the first call returns `start`).
    pub async fn next_sequence(&self, name: &str, start: i64) -> Result<i64, EngineError> {
        let name = name.to_string();
        self.store
            .write_locking(Locks::Sequence(name.clone()), move |db| {
                Ok(db.next_sequence(&name, start)?)
            })
            .await
    }

    /// The next value of sequence `name` from this node's reserved block, reserving a new block
    /// of [`NUMBER_BLOCK`] values (one write) when it is used up. Values are unique across the
    /// nodes sharing the database and increasing on each node; a block's unused values are
    /// skipped when the node stops.
    pub async fn draw_number(&self, name: &str, start: i64) -> Result<i64, EngineError> {
        loop {
            if let Some(v) = self.numbers.take(name) {
                return Ok(v);
            }
            let key = name.to_string();
            let first = self
                .store
                .write_locking(Locks::Sequence(key.clone()), move |db| {
                    Ok::<_, EngineError>(db.reserve_sequence(&key, start, NUMBER_BLOCK)?)
                })
                .await?;
            self.numbers.add(name, first, first + NUMBER_BLOCK);
        }
    }

    /// Claims `nonce` in `scope` for `ttl_ms` from now by the merchant's clock
    /// ([`polypay_core::Clock::wall`], which time travel does not move); `false` if it is
    /// already claimed (a replay), on this node or any other sharing the database.
    pub async fn claim_nonce(
        &self,
        scope: &str,
        nonce: &str,
        ttl_ms: i64,
    ) -> Result<bool, EngineError> {
        let (scope, nonce) = (scope.to_string(), nonce.to_string());
        let now: Timestamp = self.clock.wall();
        self.store
            .write(move |db| Ok(db.claim_nonce(&scope, &nonce, now, now.plus_millis(ttl_ms))?))
            .await
    }

    /// Deletes expired nonce claims (by the wall clock they were made with), [`PURGE_BATCH`]
    /// per write so the writer is never held long, until none is left or `max_batches` ran;
    /// returns how many went. Without it the replay guard's table (PostgreSQL's `nonces`,
    /// SQLite's `nonce_log`) would keep every claim ever made.
    pub async fn purge_expired_nonces(&self, max_batches: usize) -> Result<u64, EngineError> {
        self.purge_in_batches(max_batches, |db, now| db.purge_nonces(now, PURGE_BATCH))
            .await
    }

    /// Deletes a protocol's records of one `kind` created more than `max_age_ms` ago by the
    /// wall clock (its expired tokens, which are issued and checked by the merchant's clock:
    /// [`polypay_core::Clock::wall`]), [`PURGE_BATCH`] per write, until none is left or
    /// `max_batches` ran.
    pub async fn purge_records(
        &self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        max_age_ms: i64,
        max_batches: usize,
    ) -> Result<u64, EngineError> {
        let (m, k) = (merchant_id.to_string(), kind.to_string());
        self.purge_in_batches(max_batches, move |db, now| {
            let before = now.plus_millis(-max_age_ms);
            db.purge_records(protocol, &m, &k, before, PURGE_BATCH)
        })
        .await
    }

    /// Deletes callback history that finished more than `retention_ms` ago: deliveries
    /// acknowledged, dead or skipped, their attempt logs and their outbox events, and the
    /// `silent` events (no delivery: their protocol never sends them) as old, up to
    /// [`PURGE_BATCH`] of each per write, until both walks reached their end or `max_batches`
    /// ran. Each batch resumes where the one before stopped, so rows that must stay (pending
    /// deliveries of a merchant whose endpoint has been down for days) are read once per run
    /// and never hold back what lies behind them. Payments, payouts, refunds and the ledger
    /// are never purged.
    pub async fn purge_callback_history(
        &self,
        retention_ms: i64,
        max_batches: usize,
        silent: std::sync::Arc<polypay_store::SilentEvents>,
    ) -> Result<u64, EngineError> {
        // Where each walk resumes; `None` once it reached its end.
        let (mut deliveries, mut events) = (Some(0i64), Some(0i64));
        let mut purged = 0;
        for _ in 0..max_batches {
            if deliveries.is_none() && events.is_none() {
                break;
            }
            let before = self.clock.now().plus_millis(-retention_ms);
            let silent = silent.clone();
            let (d, e) = self
                .store
                .write(move |db| {
                    let d = deliveries
                        .map(|from| db.purge_finished_deliveries(before, PURGE_BATCH, from))
                        .transpose()?;
                    let e = events
                        .map(|from| db.purge_silent_events(before, PURGE_BATCH, &silent, from))
                        .transpose()?;
                    Ok::<_, EngineError>((d.unwrap_or_default(), e.unwrap_or_default()))
                })
                .await?;
            purged += d.deleted + e.deleted;
            (deliveries, events) = (deliveries.and(d.resume), events.and(e.resume));
        }
        Ok(purged)
    }

    /// Runs `purge` (one write job each, so the writer is never held long) until a run deletes
    /// fewer than [`PURGE_BATCH`] rows or `max_batches` ran; returns how many went. `purge`
    /// gets the wall clock: what it deletes was made by authentication (nonce claims,
    /// tokens), which time travel does not move.
    async fn purge_in_batches<F>(&self, max_batches: usize, purge: F) -> Result<u64, EngineError>
    where
        F: Fn(&mut Db<'_>, Timestamp) -> Result<u64, polypay_store::StoreError>
            + Clone
            + Send
            + 'static,
    {
        let mut purged = 0;
        for _ in 0..max_batches {
            let now = self.clock.wall();
            let purge = purge.clone();
            let n = self
                .store
                .write(move |db| Ok::<_, EngineError>(purge(db, now)?))
                .await?;
            purged += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        Ok(purged)
    }
}

/// Rows deleted per write job by [`Engine::purge_expired_nonces`], [`Engine::purge_records`] and
/// [`Engine::purge_callback_history`].
pub const PURGE_BATCH: i64 = 2_000;

/// Values a node reserves at a time in [`Engine::draw_number`].
pub const NUMBER_BLOCK: i64 = 100;

/// Each sequence's reserved, not yet used values on this node: ranges `[next, end)`.
#[derive(Default)]
pub(crate) struct NumberBlocks {
    blocks: std::sync::Mutex<std::collections::HashMap<String, Vec<(i64, i64)>>>,
}

impl NumberBlocks {
    fn take(&self, name: &str) -> Option<i64> {
        let mut blocks = self.blocks.lock().ok()?;
        let ranges = blocks.get_mut(name)?;
        let (next, end) = ranges.first_mut()?;
        let v = *next;
        *next += 1;
        if *next >= *end {
            ranges.remove(0);
        }
        Some(v)
    }

    fn add(&self, name: &str, next: i64, end: i64) {
        if let Ok(mut blocks) = self.blocks.lock() {
            let ranges = blocks.entry(name.to_string()).or_default();
            ranges.push((next, end));
            ranges.sort_unstable();
        }
    }
}

#[cfg(test)]
mod number_tests {
    use super::NumberBlocks;

    #[test]
    fn blocks_hand_out_each_value_once_in_order() {
        let b = NumberBlocks::default();
        assert_eq!(b.take("s"), None);
        b.add("s", 201, 203);
        b.add("s", 101, 102);
        assert_eq!(b.take("s"), Some(101));
        assert_eq!(b.take("s"), Some(201));
        assert_eq!(b.take("s"), Some(202));
        assert_eq!(b.take("s"), None);
        assert_eq!(b.take("other"), None);
    }
}
