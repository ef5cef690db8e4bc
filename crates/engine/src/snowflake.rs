//! Snowflake ids: the 19-digit order numbers of the Jeepay family (`P1793544595691261954`).
//!
//! Jeepay numbers its orders with MyBatis-Plus' `IdWorker`, a Twitter snowflake: 41 bits of
//! milliseconds since 2010-11-04 01:42:54.657 UTC, 10 bits of worker, 12 bits of sequence within
//! the millisecond. polypay builds them the same way, so its numbers look, sort and decode like
//! the provider's, and a batch of inserts lands on the right edge of the unique index instead of
//! one random page per row (random 19-digit numbers made the index's write set grow with the
//! table).
//!
//! The worker is reserved once per node from the shared `snowflake_worker` sequence (its value
//! mod 1,024), so nodes that share a database draw from disjoint spaces unless more than 1,024
//! of them have started since the oldest still running one. Within a node a counter gives each
//! id of the same millisecond its own sequence; past 4,096 in one millisecond the generator
//! borrows the next millisecond, and if the wall clock steps back it keeps counting from the
//! last millisecond it used, so a node never repeats an id.

use crate::{Engine, EngineError};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub use polypay_core::id::SNOWFLAKE_EPOCH_MS;
const WORKER_BITS: u32 = 10;
const SEQUENCE_BITS: u32 = 12;
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;
const SEQUENCE: &str = "snowflake_worker";

/// One node's generator: its worker number and the last millisecond and sequence it used.
pub(crate) struct Snowflake {
    worker: tokio::sync::OnceCell<u64>,
    last: Mutex<(u64, u64)>,
}

impl Default for Snowflake {
    fn default() -> Self {
        Snowflake {
            worker: tokio::sync::OnceCell::new(),
            last: Mutex::new((0, 0)),
        }
    }
}

impl Snowflake {
    /// The next id for `worker` at wall-clock millisecond `now_ms` (Unix).
    fn next(&self, worker: u64, now_ms: u64) -> u64 {
        let since_epoch = now_ms.saturating_sub(SNOWFLAKE_EPOCH_MS);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (ms, seq) = *last;
        let next = if since_epoch > ms {
            (since_epoch, 0)
        } else if seq < MAX_SEQUENCE {
            (ms, seq + 1)
        } else {
            (ms + 1, 0)
        };
        *last = next;
        (next.0 << (WORKER_BITS + SEQUENCE_BITS)) | (worker << SEQUENCE_BITS) | next.1
    }
}

/// The parts of a snowflake id: Unix milliseconds, worker, sequence.
pub fn decode_snowflake(id: u64) -> (u64, u64, u64) {
    (
        (id >> (WORKER_BITS + SEQUENCE_BITS)) + SNOWFLAKE_EPOCH_MS,
        (id >> SEQUENCE_BITS) & ((1 << WORKER_BITS) - 1),
        id & MAX_SEQUENCE,
    )
}

impl Engine {
    /// A new snowflake id, unique across the nodes sharing this database (see the module docs).
    /// The first call on a node reserves its worker number (one write).
    pub async fn snowflake_id(&self) -> Result<u64, EngineError> {
        let worker = *self
            .snowflake
            .worker
            .get_or_try_init(|| self.reserve_snowflake_worker())
            .await?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(self.snowflake.next(worker, now_ms))
    }

    /// This node's worker number: the next value of the shared sequence, mod 1,024.
    async fn reserve_snowflake_worker(&self) -> Result<u64, EngineError> {
        let first = self
            .store
            .write_locking(polypay_store::Locks::Sequence(SEQUENCE.into()), |db| {
                Ok::<_, EngineError>(db.reserve_sequence(SEQUENCE, 0, 1)?)
            })
            .await?;
        Ok(first.rem_euclid(1 << WORKER_BITS) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_spec_sample_like_the_provider_built_it() {
        // payOrderId P1793544595691261954 from the PassToPay spec's signing sample.
        let (ms, worker, seq) = decode_snowflake(1_793_544_595_691_261_954);
        assert_eq!(ms, 1_716_449_328_716); // 2024-05-23T07:28:48.716Z
        assert_eq!((worker, seq), (1021, 2));
    }

    #[test]
    fn ids_of_one_millisecond_count_up_and_the_next_millisecond_starts_over() {
        let s = Snowflake::default();
        let t = SNOWFLAKE_EPOCH_MS + 5_000;
        let a = s.next(7, t);
        let b = s.next(7, t);
        assert_eq!(decode_snowflake(a), (t, 7, 0));
        assert_eq!(decode_snowflake(b), (t, 7, 1));
        assert_eq!(decode_snowflake(s.next(7, t + 1)), (t + 1, 7, 0));
    }

    #[test]
    fn a_full_millisecond_borrows_the_next_and_a_clock_step_back_never_repeats() {
        let s = Snowflake::default();
        let t = SNOWFLAKE_EPOCH_MS + 9_000;
        let mut seen = std::collections::HashSet::new();
        let mut previous = 0;
        for i in 0..10_000u64 {
            // The clock stands still, then steps back by a second half way.
            let now = if i < 5_000 { t } else { t - 1_000 };
            let id = s.next(3, now);
            assert!(id > previous, "ids increase");
            assert!(seen.insert(id));
            previous = id;
        }
        // 10,000 ids in "one" millisecond span three: 4,096 + 4,096 + 1,808.
        assert_eq!(decode_snowflake(previous), (t + 2, 3, 1_807));
    }

    #[test]
    fn ids_have_nineteen_digits_today() {
        let s = Snowflake::default();
        let now = 1_795_000_000_000; // 2026-11-18
        let id = s.next(1023, now);
        assert_eq!(id.to_string().len(), 19);
        assert_eq!(decode_snowflake(id), (now, 1023, 0));
    }
}
