//! Application services: the one place money moves.
//!
//! Every operation is a single group-committed store job: load, apply the core transition,
//! append ledger entries and outbox events, commit — and only then answer the caller.

pub mod chain;
pub mod console;
pub mod error;
pub mod events;
pub mod keys;
pub mod ledger;
pub mod merchant;
mod merchant_cache;
pub mod payment;
pub mod payout;
pub mod platform;
pub mod qr;
pub mod records;
pub mod refund;
pub mod sandbox;
pub mod snowflake;

pub use error::EngineError;

/// What one batch of a sweep did: the objects it moved, and how many were due when it read
/// them (at most its limit). A batch that read its limit may have left more due (also when
/// another node moved some of them first), so the caller sweeps again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept<T> {
    pub done: Vec<T>,
    pub due: usize,
}

impl<T> Swept<T> {
    /// Whether the batch read as many as `limit`: more may be due.
    pub fn full(&self, limit: i64) -> bool {
        self.due as i64 >= limit
    }
}

impl<T> std::ops::Deref for Swept<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.done
    }
}

impl<T> IntoIterator for Swept<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.done.into_iter()
    }
}
pub use merchant::{MerchantUpdate, NewMerchant, SandboxKeys};
pub use payment::{NewPayment, NonceClaim};
pub use payout::NewPayout;
pub use platform::Platform;
pub use refund::NewRefund;
pub use sandbox::{Scenario, Scenarios};

use polypay_core::Clock;
use polypay_store::Store;
use rand::RngCore;
use std::sync::Arc;

/// The engine, shared by every protocol front door, the cashier, the sandbox and the sweepers.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Sandbox scenarios; `None` in gateway mode.
    scenarios: Option<Scenarios>,
    merchants: Arc<merchant_cache::MerchantCache>,
    /// Sequence values this node reserved and has not used yet (PostgreSQL).
    numbers: Arc<records::NumberBlocks>,
    /// This node's snowflake worker and sequence ([`Engine::snowflake_id`]).
    snowflake: Arc<snowflake::Snowflake>,
}

/// How long a node trusts a merchant it read by key (see `merchant_cache`).
pub const DEFAULT_MERCHANT_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

impl Engine {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Engine {
        Engine {
            store,
            clock,
            scenarios: None,
            merchants: Arc::new(merchant_cache::MerchantCache::new(DEFAULT_MERCHANT_CACHE)),
            numbers: Arc::default(),
            snowflake: Arc::default(),
        }
    }

    /// Sets how long a merchant read by key is reused (zero turns the cache off).
    pub fn with_merchant_cache(mut self, ttl: std::time::Duration) -> Engine {
        self.merchants = Arc::new(merchant_cache::MerchantCache::new(ttl));
        self
    }

    /// Turns on sandbox scenarios (amount rules, auto-success).
    pub fn with_scenarios(mut self, scenarios: Scenarios) -> Engine {
        self.scenarios = Some(scenarios);
        self
    }

    pub fn scenarios(&self) -> Option<Scenarios> {
        self.scenarios
    }

    /// This engine with every write job appending `entry` to the operator's audit log in the
    /// job's own transaction ([`Store::audited`]): for one operator action, whose change is
    /// one write job (a settlement, a merchant change, a rotation, a resend).
    pub fn audited(&self, entry: polypay_store::AuditEntry) -> Engine {
        Engine {
            store: self.store.audited(entry),
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// `n` random bytes as lowercase hex (ids, tokens).
///
/// From the thread-local CSPRNG (ChaCha, seeded and periodically reseeded from the OS), not a
/// system call per id.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A time-ordered id part: 12 hex digits of Unix milliseconds, then `random_bytes` random bytes
/// as hex. Ids made this way sort by creation time, so a batch of inserts touches the right edge
/// of each index instead of one random page per row (fewer pages written per commit, and a hot
/// set that does not grow with the table). Uniqueness rests on the random part alone.
pub fn time_ordered_hex(random_bytes: usize) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    format!("{:012x}{}", ms & 0xffff_ffff_ffff, random_hex(random_bytes))
}

/// A random decimal string of exactly `digits` digits, not starting with 0 (provider-style ids).
pub fn random_digits(digits: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..digits)
        .map(|i| {
            let d = if i == 0 {
                1 + rng.next_u32() % 9
            } else {
                rng.next_u32() % 10
            };
            char::from(b'0' + d as u8)
        })
        .collect()
}
