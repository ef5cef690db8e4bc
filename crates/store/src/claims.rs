//! SQLite's replay guard: nonce claims checked in memory, recorded in an append-only log.
//!
//! A claim must be unique per `(scope, nonce)` while it lives. A unique index does that, but its
//! keys are the merchants' random nonces, so every claim dirties a random page of it: the WAL
//! frames each commit writes and the pages each checkpoint copies back grow with the index, and
//! V2_SHA256's p99 grew with every claim stored (docs/performance.md). On SQLite the writer
//! thread (there is one per process) therefore checks uniqueness here, in memory, and the claim
//! is recorded in `nonce_log`, whose keys are all time-ordered: an autoincrement id and the
//! expiry. PostgreSQL keeps the `nonces` table and its primary key: several nodes share it.
//!
//! The log is the truth; this map is a view of it that the writer keeps current:
//! - **Other processes** on the same database file: the first claim of each transaction reads
//!   the log's rows past the last id this process has seen. The transaction holds SQLite's write
//!   lock (`BEGIN IMMEDIATE`), so nobody can add a row until it ends: the check is exact. At start
//!   the same read loads every live claim.
//! - **Rollbacks:** every change to the map is undone with the savepoint or transaction that
//!   made it ([`Claims::mark`], [`Claims::rollback_to`], [`Claims::rollback`]); [`Claims::commit`]
//!   keeps them. A commit whose outcome is unknown counts as rolled back: the next read of the
//!   log's tail finds its rows if it did commit.
//!
//! The log is append-only: a nonce claimed again after its claim expired gets a second row, and
//! housekeeping deletes expired rows (`Db::purge_nonces`, by the expiry index).
//!
//! Keys are 64-bit keyed hashes of `(scope, nonce)` (SipHash under a key drawn at start), so
//! memory does not depend on what merchants send: about 50 bytes per live claim, map and expiry
//! queue together (`claim_memory` below). A collision can only refuse a fresh nonce as
//! replayed, never accept a replay; with ten million live claims its chance is 5 × 10⁻¹³ per
//! claim, and nobody can aim for one without the key.

use crate::error::StoreError;
use crate::sql::Conn;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::LazyLock;

/// Log rows read per query when catching up (at start: every live claim); tests page by three.
const CATCH_UP_ROWS: i64 = if cfg!(test) { 3 } else { 10_000 };

/// The log's rows past `$1`. The LIMIT is a literal: SQLite re-prepares a statement whose LIMIT
/// is a bound parameter on every bind, and this one runs once per transaction that claims.
static CATCH_UP_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, scope, nonce, expires_at FROM nonce_log WHERE id > $1 ORDER BY id LIMIT {CATCH_UP_ROWS}"
    )
});

/// Expired claims dropped from memory per new claim: more than one, so the map shrinks after a
/// burst.
const EVICT_PER_CLAIM: usize = 4;

/// A claim's key: a 64-bit keyed hash of its scope and nonce. With its expiry, an entry of the
/// map or the queue is 16 bytes.
type Key = u64;

/// The map's hasher: a key is already a keyed hash, uniform in all 64 bits, so hashing it again
/// would buy nothing.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Undo {
    key: Key,
    /// The key's expired claim this one replaced, if memory still held it.
    before: Option<i64>,
    /// The new claim's row in `nonce_log`.
    id: i64,
}

pub(crate) struct Claims {
    hasher: RandomState,
    /// Claimed keys and when each claim expires.
    live: HashMap<Key, i64, BuildHasherDefault<KeyHasher>>,
    /// Claims in the order they were made, to drop them from `live` once expired.
    expiry: VecDeque<(i64, Key)>,
    /// The highest `nonce_log` id known to be committed and in `live`.
    seen: i64,
    /// Whether this transaction has read the log's tail.
    synced: bool,
    /// This transaction's claims, to undo them if it (or their savepoint) rolls back.
    undo: Vec<Undo>,
}

impl Claims {
    pub(crate) fn new() -> Claims {
        Claims {
            hasher: RandomState::new(),
            live: HashMap::default(),
            expiry: VecDeque::new(),
            seen: 0,
            synced: false,
            undo: Vec::new(),
        }
    }

    fn key(&self, scope: &str, nonce: &str) -> Key {
        self.hasher.hash_one((scope, nonce))
    }

    /// Claims `(scope, nonce)` until `expires_at`; `false` if a claim of it is live at `now`.
    /// Runs inside the writer's open transaction.
    pub(crate) fn claim(
        &mut self,
        conn: &mut dyn Conn,
        scope: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        if !self.synced {
            self.catch_up(conn, now)?;
            self.synced = true;
        }
        self.evict(now, EVICT_PER_CLAIM);
        let key = self.key(scope, nonce);
        let before = self.live.get(&key).copied();
        if before.is_some_and(|expires| expires > now) {
            return Ok(false);
        }
        let rows = conn.query(
            "INSERT INTO nonce_log (scope, nonce, expires_at) VALUES ($1, $2, $3) RETURNING id",
            &[scope.into(), nonce.into(), expires_at.into()],
        )?;
        let id = match rows.first() {
            Some(row) => row.int(0)?,
            None => return Err(StoreError::Corrupt("nonce_log insert gave no id".into())),
        };
        self.live.insert(key, expires_at);
        self.expiry.push_back((expires_at, key));
        self.undo.push(Undo { key, before, id });
        Ok(true)
    }

    /// Reads the log's rows past `seen` (other processes' commits, or at start every claim).
    fn catch_up(&mut self, conn: &mut dyn Conn, now: i64) -> Result<(), StoreError> {
        debug_assert!(
            self.undo.is_empty(),
            "catch-up after this transaction's claims"
        );
        loop {
            let rows = conn.query(&CATCH_UP_SQL, &[self.seen.into()])?;
            for row in &rows {
                let (id, expires_at) = (row.int(0)?, row.int(3)?);
                self.seen = id;
                if expires_at > now {
                    let key = self.key(&row.text(1)?, &row.text(2)?);
                    self.live.insert(key, expires_at);
                    self.expiry.push_back((expires_at, key));
                }
            }
            if (rows.len() as i64) < CATCH_UP_ROWS {
                return Ok(());
            }
        }
    }

    /// Drops up to `max` claims expired at `now` from memory (their rows are purged by
    /// housekeeping, `Db::purge_nonces`). A key claimed again since has a later expiry and
    /// stays.
    fn evict(&mut self, now: i64, max: usize) {
        for _ in 0..max {
            match self.expiry.front() {
                Some(&(expires_at, key)) if expires_at <= now => {
                    self.expiry.pop_front();
                    if self.live.get(&key) == Some(&expires_at) {
                        self.live.remove(&key);
                    }
                }
                _ => return,
            }
        }
    }

    /// A transaction begins: its first claim reads the log's tail.
    pub(crate) fn begin(&mut self) {
        self.rollback_to(0);
        self.synced = false;
    }

    /// Where a savepoint starts, for [`Claims::rollback_to`].
    pub(crate) fn mark(&self) -> usize {
        self.undo.len()
    }

    /// The savepoint that started at `mark` rolled back: its claims are gone.
    pub(crate) fn rollback_to(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some(u) = self.undo.pop() else { return };
            match u.before {
                Some(expires_at) => {
                    self.live.insert(u.key, expires_at);
                    self.expiry.push_back((expires_at, u.key));
                }
                None => {
                    self.live.remove(&u.key);
                }
            }
        }
    }

    /// The transaction rolled back (or its commit failed): all of its claims are gone.
    pub(crate) fn rollback(&mut self) {
        self.begin();
    }

    /// The transaction committed: its claims stay, and its rows are known.
    pub(crate) fn commit(&mut self) {
        if let Some(last) = self.undo.iter().map(|u| u.id).max() {
            self.seen = self.seen.max(last);
            // The guard's memory, for operators: about 50 bytes a claim.
            metrics::gauge!("polypay_nonce_claims_live").set(self.live.len() as f64);
        }
        self.undo.clear();
        self.synced = false;
    }

    #[cfg(test)]
    fn live_len(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteConn;

    fn log() -> (tempfile::TempDir, Box<dyn Conn>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = SqliteConn::open(&dir.path().join("claims.db")).expect("open");
        crate::migrate::migrate(&mut conn, 0).expect("migrate");
        (dir, Box::new(conn))
    }

    fn claim(c: &mut Claims, conn: &mut dyn Conn, nonce: &str, now: i64) -> bool {
        c.claim(conn, "s", nonce, now, now + 100).expect("claim")
    }

    fn rows(conn: &mut dyn Conn) -> i64 {
        conn.query("SELECT count(*) FROM nonce_log", &[])
            .expect("count")[0]
            .int(0)
            .expect("int")
    }

    #[test]
    fn a_savepoint_rollback_forgets_only_its_own_claims() {
        let (_d, mut conn) = log();
        let mut c = Claims::new();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        c.begin();
        assert!(claim(&mut c, conn.as_mut(), "a", 0));
        let mark = c.mark();
        conn.batch("SAVEPOINT job").unwrap();
        assert!(claim(&mut c, conn.as_mut(), "b", 0));
        assert!(!claim(&mut c, conn.as_mut(), "a", 1), "replay in one batch");
        conn.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
            .unwrap();
        c.rollback_to(mark);
        conn.batch("COMMIT").unwrap();
        c.commit();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        c.begin();
        assert!(!claim(&mut c, conn.as_mut(), "a", 2), "kept");
        assert!(
            claim(&mut c, conn.as_mut(), "b", 2),
            "rolled back with its savepoint"
        );
        conn.batch("ROLLBACK").unwrap();
        c.rollback();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        c.begin();
        assert!(
            claim(&mut c, conn.as_mut(), "b", 3),
            "rolled back with its transaction"
        );
        conn.batch("COMMIT").unwrap();
        c.commit();
        assert_eq!(rows(conn.as_mut()), 2);
    }

    #[test]
    fn another_process_claims_are_read_at_the_first_claim_of_a_transaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("claims.db");
        let mut one = SqliteConn::open(&path).expect("open");
        crate::migrate::migrate(&mut one, 0).expect("migrate");
        let mut two = SqliteConn::open(&path).expect("open");
        let (mut a, mut b) = (Claims::new(), Claims::new());
        for (c, conn, nonce) in [(&mut a, &mut one, "x"), (&mut b, &mut two, "y")] {
            conn.batch("BEGIN IMMEDIATE").unwrap();
            c.begin();
            assert!(c.claim(conn, "s", nonce, 0, 100).unwrap());
            conn.batch("COMMIT").unwrap();
            c.commit();
        }
        one.batch("BEGIN IMMEDIATE").unwrap();
        a.begin();
        assert!(!a.claim(&mut one, "s", "y", 1, 101).unwrap(), "y from two");
        assert!(!a.claim(&mut one, "s", "x", 1, 101).unwrap(), "x, its own");
        one.batch("COMMIT").unwrap();
        a.commit();
        // A process that starts later loads the live claims; an expired one can be made again.
        let mut late = Claims::new();
        one.batch("BEGIN IMMEDIATE").unwrap();
        late.begin();
        assert!(!late.claim(&mut one, "s", "x", 50, 150).unwrap());
        assert!(late.claim(&mut one, "s", "y", 100, 200).unwrap(), "expired");
        one.batch("COMMIT").unwrap();
        late.commit();
        assert_eq!(rows(&mut one), 3, "x, y, and y's new claim");
    }

    #[test]
    fn catching_up_reads_the_log_page_by_page() {
        let (_d, mut conn) = log();
        let mut a = Claims::new();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        a.begin();
        for i in 0..7 {
            assert!(claim(&mut a, conn.as_mut(), &format!("p{i}"), 0));
        }
        conn.batch("COMMIT").unwrap();
        a.commit();
        let mut late = Claims::new();
        conn.batch("BEGIN IMMEDIATE").unwrap();
        late.begin();
        for i in 0..7 {
            assert!(
                !claim(&mut late, conn.as_mut(), &format!("p{i}"), 1),
                "p{i}"
            );
        }
        assert_eq!(late.seen, 7);
        conn.batch("ROLLBACK").unwrap();
        late.rollback();
    }

    /// Memory per live claim (map and expiry queue), from the process's resident size before
    /// and after two million claims held in memory: `cargo test -p polypay-store --release --
    /// --ignored --nocapture claim_memory`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn claim_memory() {
        fn resident_bytes() -> usize {
            let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
            let pages: usize = statm
                .split(' ')
                .nth(1)
                .expect("rss")
                .parse()
                .expect("pages");
            pages * 4096
        }
        const N: usize = 2_000_000;
        let before = resident_bytes();
        let mut c = Claims::new();
        for i in 0..N {
            let key = c.key("v2sha256:app", &format!("{i:032x}"));
            c.live.insert(key, 600_000 + i as i64);
            c.expiry.push_back((600_000 + i as i64, key));
        }
        let after = resident_bytes();
        println!(
            "{} bytes per live claim ({} claims, resident {} -> {} MiB)",
            (after - before) / N,
            c.live_len(),
            before >> 20,
            after >> 20
        );
    }

    #[test]
    fn expired_claims_leave_memory() {
        let (_d, mut conn) = log();
        let mut c = Claims::new();
        for i in 0..100 {
            assert!(claim(&mut c, conn.as_mut(), &format!("n{i}"), i));
        }
        assert_eq!(c.live_len(), 100);
        // At 1,000 all of them expired; each new claim drops up to four.
        for i in 0..25 {
            assert!(claim(&mut c, conn.as_mut(), &format!("m{i}"), 1_000));
        }
        assert_eq!(c.live_len(), 25);
    }
}
