//! Group commit: writer threads drain queued jobs into one transaction each.
//!
//! A job is a closure over [`Db`]. Jobs first run side by side in the transaction; a job that
//! fails without having changed anything (a duplicate order, an insufficient balance checked
//! before the debit) simply reports its error. If a job fails *after* writing, the batch is
//! rolled back and run again with a savepoint per job, so one job's failure rolls back only its
//! own writes. (Savepoints on every job cost SQLite a sub-journal copy of every page a job
//! touches that an earlier job of the batch already changed: most of the batch's pages.) The caller is
//! answered after COMMIT returns, that is after the batch is durable (SQLite `synchronous=FULL`,
//! PostgreSQL `synchronous_commit=on`). If the commit itself fails, every job of the batch is
//! run again alone, so one bad job cannot take its neighbours down with it.

use crate::claims::Claims;
use crate::db::{Db, Staged};
use crate::error::StoreError;
use crate::sql::{Conn, Dialect};
use crate::vault::Vault;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};

/// A unit of work queued for a writer.
pub(crate) trait Job: Send {
    /// Runs inside the open transaction; `false` rolls its savepoint back.
    fn run(&mut self, db: &mut Db<'_>) -> bool;
    /// Delivers the result once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
    /// What the job locks, for the batch's lock order ([`Locks`]).
    fn locks(&self) -> &Locks;
}

/// What a write job locks besides the rows it inserts, which places it in its batch: every
/// batch takes its locks in this order (variants first to last, then by name; jobs of one
/// place in the order they came), and its balance rows after them all, at COMMIT
/// ([`Staged`]). So two writers, or two nodes, cannot wait on each other in a cycle (a
/// deadlock, which PostgreSQL breaks only after `deadlock_timeout`, a second, by failing one).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Locks {
    /// A sweep lease's row (`sweep_leases`), by name: every node writes it each tick, so it
    /// goes first (a node that does not hold the lease locks nothing).
    Lease(String),
    /// A shared sequence's row (`sequences`), by name: the hottest rows after the leases.
    Sequence(String),
    /// Nothing another node writes at the same time (new rows, its own callback leases), or
    /// rarely (a merchant's profile).
    #[default]
    Plain,
    /// An object family, by its root's id: a payment with its refunds, or a payout. The job
    /// locks the root row before any other row of the family.
    Object(String),
    /// The callback ingestion: new deliveries and the shared ingestion cursor.
    Ingestion,
}

pub(crate) struct TypedJob<F, T, E> {
    pub locks: Locks,
    pub f: F,
    pub out: Option<Result<T, E>>,
    pub reply: Option<tokio::sync::oneshot::Sender<Result<T, E>>>,
}

impl<F, T, E> Job for TypedJob<F, T, E>
where
    F: FnMut(&mut Db<'_>) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, db: &mut Db<'_>) -> bool {
        let out = (self.f)(db);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(mut self: Box<Self>, commit: Result<(), StoreError>) {
        let result = match commit {
            Ok(()) => self.out.take().unwrap_or(Err(E::from(StoreError::Closed))),
            Err(e) => Err(E::from(e)),
        };
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn locks(&self) -> &Locks {
        &self.locks
    }
}

/// How many times a job alone in its transaction runs when it loses to a concurrent
/// transaction before that error is its answer.
const SOLO_TRIES: u32 = 4;

pub(crate) type Connect = Arc<dyn Fn() -> Result<Box<dyn Conn>, StoreError> + Send + Sync>;

pub(crate) struct Writer {
    pub connect: Connect,
    pub jobs: Arc<Mutex<Receiver<Box<dyn Job>>>>,
    pub vault: Arc<Vault>,
    pub max_batch: usize,
    /// Counts commits for the SQLite checkpointer.
    pub commits: Option<Arc<crate::checkpoint::Commits>>,
    /// SQLite: the replay guard's live claims, kept in step with this writer's transactions.
    pub claims: Option<Claims>,
    /// Batches that failed on a conflict another transaction caused (a PostgreSQL deadlock or
    /// serialization failure), shared by the store's writers.
    pub conflicts: Arc<std::sync::atomic::AtomicU64>,
}

impl Writer {
    /// The writer thread's loop: until every sender is gone, take a batch and commit it.
    pub fn run(mut self) {
        let mut conn: Option<Box<dyn Conn>> = None;
        while let Some(batch) = self.next_batch() {
            let c = match conn.take().map_or_else(|| (self.connect)(), Ok) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "writer cannot connect");
                    finish_all(batch, &e);
                    continue;
                }
            };
            conn = self.commit_batch(c, batch);
        }
    }

    fn next_batch(&self) -> Option<Vec<Box<dyn Job>>> {
        let rx = self.jobs.lock().ok()?;
        let first = rx.recv().ok()?;
        let mut batch = vec![first];
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        lock_order(&mut batch);
        Some(batch)
    }

    /// Commits one batch; returns the connection if it is still usable.
    fn commit_batch(
        &mut self,
        mut conn: Box<dyn Conn>,
        mut batch: Vec<Box<dyn Job>>,
    ) -> Option<Box<dyn Conn>> {
        let solo = batch.len() == 1;
        let mut tries = 0;
        loop {
            tries += 1;
            match run_in_transaction(conn.as_mut(), &self.vault, self.claims.as_mut(), batch) {
                Ok(done) => {
                    if let Some(claims) = &mut self.claims {
                        claims.commit();
                    }
                    if let Some(commits) = &self.commits {
                        commits.record();
                    }
                    metrics::histogram!("polypay_store_batch_size").record(done.len() as f64);
                    done.into_iter().for_each(|j| j.finish(Ok(())));
                    return Some(conn);
                }
                Err((e, jobs)) if !solo => {
                    self.count_conflict(&e);
                    if matches!(e, StoreError::Retryable(_)) {
                        tracing::info!(error = %e, jobs = jobs.len(), "batch lost to a concurrent transaction; retrying its jobs one by one");
                    } else {
                        tracing::warn!(error = %e, jobs = jobs.len(), "batch commit failed; retrying its jobs one by one");
                    }
                    let _ = conn.batch("ROLLBACK");
                    self.forget_claims();
                    let mut conn = Some(conn);
                    for job in jobs {
                        let c = conn.take().map_or_else(|| (self.connect)(), Ok);
                        match c {
                            Ok(c) => conn = self.commit_batch(c, vec![job]),
                            Err(e) => job.finish(Err(e)),
                        }
                    }
                    return conn;
                }
                Err((e, jobs)) => {
                    self.count_conflict(&e);
                    let _ = conn.batch("ROLLBACK");
                    self.forget_claims();
                    // A job that lost to a concurrent transaction (a deadlock, a balance
                    // debited meanwhile) rolled back whole: it runs again, a few times.
                    if matches!(e, StoreError::Retryable(_)) && tries < SOLO_TRIES {
                        tracing::info!(error = %e, tries, "a write lost to a concurrent transaction; running it again");
                        batch = jobs;
                        continue;
                    }
                    if matches!(e, StoreError::Retryable(_)) {
                        tracing::warn!(error = %e, tries, "a write lost to concurrent transactions every time; answering with the conflict");
                    }
                    finish_all(jobs, &e);
                    // A failed connection is replaced; a healthy one is kept.
                    return conn.query("SELECT 1", &[]).ok().map(|_| conn);
                }
            }
        }
    }

    fn count_conflict(&self, e: &StoreError) {
        if matches!(e, StoreError::Retryable(_)) {
            self.conflicts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            metrics::counter!("polypay_store_batch_conflicts_total").increment(1);
        }
    }

    /// The transaction rolled back, or its commit failed: its claims are not made.
    fn forget_claims(&mut self) {
        if let Some(claims) = &mut self.claims {
            claims.rollback();
        }
    }
}

/// Puts a batch in the lock order every batch follows ([`Locks`]); the sort is stable, so
/// jobs in one place (plain ones, one family's) stay in the order they came.
fn lock_order(batch: &mut [Box<dyn Job>]) {
    if batch.iter().any(|j| *j.locks() != Locks::Plain) {
        batch.sort_by(|a, b| a.locks().cmp(b.locks()));
    }
}

type BatchFailure = (StoreError, Vec<Box<dyn Job>>);

fn run_in_transaction(
    conn: &mut dyn Conn,
    vault: &Vault,
    mut claims: Option<&mut Claims>,
    mut batch: Vec<Box<dyn Job>>,
) -> Result<Vec<Box<dyn Job>>, BatchFailure> {
    let begin = match conn.dialect() {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        // The xid is taken before anything is written (same round trip): the ingestion
        // cursor's horizon rule relies on every transaction that draws an outbox id having its
        // xid already (`Db::delivery_cursor_target`).
        Dialect::Postgres => "BEGIN; SELECT pg_current_xact_id()",
    };
    if let Err(e) = conn.batch(begin) {
        return Err((e, batch));
    }
    if let Some(c) = claims.as_deref_mut() {
        c.begin();
    }
    // First without savepoints: most jobs succeed, and a job that fails usually fails before it
    // writes (a duplicate order, an unknown id). Only a job that fails after changing data
    // needs its own rollback; then the batch starts over with one savepoint per job.
    // Balance changes are staged by the jobs run without savepoints and applied once per
    // balance row just before COMMIT (see `Staged`); with savepoints they apply at once. A job
    // alone stages its credits but debits at once: its answer must not rest on a balance
    // another transaction may change before the commit.
    let mut staged = Staged::new(batch.len() > 1);
    let mut dirty = false;
    for job in batch.iter_mut() {
        match run_plain(
            conn,
            vault,
            claims.as_deref_mut(),
            &mut staged,
            job.as_mut(),
        ) {
            Ok(Ran::Clean) => {}
            Ok(Ran::FailedAfterWriting) => {
                dirty = true;
                break;
            }
            Err(e) => return Err((e, batch)),
        }
    }
    if dirty {
        staged.clear();
        if let Err(e) = conn.batch("ROLLBACK") {
            return Err((e, batch));
        }
        if let Some(c) = claims.as_deref_mut() {
            c.rollback();
        }
        if batch.len() == 1 {
            // Alone in its transaction: the rollback was the job's own; its error is its answer.
            return Ok(batch);
        }
        if let Err(e) = conn.batch(begin) {
            return Err((e, batch));
        }
        if let Err(e) =
            run_all_isolated(conn, vault, claims.as_deref_mut(), &mut staged, &mut batch)
        {
            return Err((e, batch));
        }
    }
    match Db::new(conn, vault, true)
        .with_staged(Some(&mut staged))
        .flush_staged()
    {
        Ok(()) => {}
        // A balance cannot hold what the batch staged for it: some job's credit does not fit.
        // The batch runs again, a savepoint per job, each credit checked against its balance
        // as it is staged, so that job fails alone and the others commit together (not each
        // alone, as after any other failed flush).
        Err(StoreError::BalanceLimit(_)) if batch.len() > 1 && !staged.is_bounded() => {
            if let Err(e) = conn.batch("ROLLBACK") {
                return Err((e, batch));
            }
            if let Some(c) = claims.as_deref_mut() {
                c.rollback();
            }
            if let Err(e) = conn.batch(begin) {
                return Err((e, batch));
            }
            let mut staged = Staged::new(true).bounded();
            if let Err(e) = run_all_isolated(conn, vault, claims, &mut staged, &mut batch) {
                return Err((e, batch));
            }
            if let Err(e) = Db::new(conn, vault, true)
                .with_staged(Some(&mut staged))
                .flush_staged()
            {
                return Err((e, batch));
            }
        }
        Err(e) => return Err((e, batch)),
    }
    match conn.batch("COMMIT") {
        Ok(()) => Ok(batch),
        Err(e) => Err((e, batch)),
    }
}

enum Ran {
    /// Succeeded, or failed without changing anything.
    Clean,
    FailedAfterWriting,
}

/// Runs one job directly in the open transaction, staging its balance changes in `staged`.
fn run_plain(
    conn: &mut dyn Conn,
    vault: &Vault,
    claims: Option<&mut Claims>,
    staged: &mut Staged,
    job: &mut dyn Job,
) -> Result<Ran, StoreError> {
    let mut db = Db::new(conn, vault, true)
        .with_claims(claims)
        .with_staged(Some(staged));
    let ok = job.run(&mut db);
    if let Some(e) = db.take_failure() {
        return Err(e);
    }
    Ok(if ok || !db.changed() {
        Ran::Clean
    } else {
        Ran::FailedAfterWriting
    })
}

/// Runs every job of the batch inside its own savepoint ([`run_isolated`]).
fn run_all_isolated(
    conn: &mut dyn Conn,
    vault: &Vault,
    mut claims: Option<&mut Claims>,
    staged: &mut Staged,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    for job in batch.iter_mut() {
        run_isolated(conn, vault, claims.as_deref_mut(), staged, job.as_mut())?;
    }
    Ok(())
}

/// Runs one job inside a savepoint. A store failure inside the job fails the whole batch
/// (it will be retried job by job); a domain error just rolls the job's own writes back, its
/// staged balance changes with them (they stay staged for COMMIT, so this run, too, takes its
/// balance rows last).
fn run_isolated(
    conn: &mut dyn Conn,
    vault: &Vault,
    mut claims: Option<&mut Claims>,
    staged: &mut Staged,
    job: &mut dyn Job,
) -> Result<(), StoreError> {
    conn.batch("SAVEPOINT job")?;
    let mark = claims.as_deref().map_or(0, Claims::mark);
    let before = staged.clone();
    let mut db = Db::new(conn, vault, true)
        .with_claims(claims.as_deref_mut())
        .with_staged(Some(staged));
    let ok = job.run(&mut db);
    let failure = db.take_failure();
    if let Some(e) = failure {
        return Err(e);
    }
    if ok {
        conn.batch("RELEASE SAVEPOINT job")
    } else {
        conn.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")?;
        *staged = before;
        if let Some(c) = claims {
            c.rollback_to(mark);
        }
        Ok(())
    }
}

fn finish_all(jobs: Vec<Box<dyn Job>>, e: &StoreError) {
    for job in jobs {
        job.finish(Err(clone_error(e)));
    }
}

fn clone_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Config(s) => StoreError::Config(s.clone()),
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
        StoreError::Retryable(s) => StoreError::Retryable(s.clone()),
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        StoreError::Sealed => StoreError::Sealed,
        StoreError::Closed => StoreError::Closed,
        StoreError::BalanceLimit(c) => StoreError::BalanceLimit(c.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Row, Value};
    use crate::sqlite::SqliteConn;

    /// A SQLite connection that counts the savepoints it is asked for and the statements that
    /// write a balance.
    struct Counting {
        inner: SqliteConn,
        savepoints: usize,
        balance_writes: usize,
    }

    impl Conn for Counting {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
            self.balance_writes += usize::from(
                sql.starts_with("INSERT INTO balances") || sql.starts_with("UPDATE balances"),
            );
            self.inner.execute(sql, params)
        }
        fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
            self.inner.query(sql, params)
        }
        fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
            self.savepoints += usize::from(sql.starts_with("SAVEPOINT"));
            self.inner.batch(sql)
        }
    }

    fn conn() -> Counting {
        let mut inner = SqliteConn::open(std::path::Path::new(":memory:")).unwrap();
        inner
            .batch(
                "CREATE TABLE t (k TEXT PRIMARY KEY); CREATE TABLE balances (merchant_id TEXT, \
                 currency TEXT, available_minor INTEGER, PRIMARY KEY (merchant_id, currency))",
            )
            .unwrap();
        Counting {
            inner,
            savepoints: 0,
            balance_writes: 0,
        }
    }

    /// Inserts `k`; fails with `fail` after (`true`) or instead of (`false`) changing anything.
    fn job(k: &'static str, fail: Option<bool>) -> Box<dyn Job> {
        Box::new(TypedJob {
            locks: Locks::Plain,
            f: move |db: &mut Db<'_>| -> Result<(), StoreError> {
                let sql = "INSERT INTO t (k) VALUES ($1) ON CONFLICT (k) DO NOTHING";
                match fail {
                    Some(false) => {
                        db.exec(sql, &["a".into()])?; // already there: changes nothing
                        Err(StoreError::Corrupt("refused before writing".into()))
                    }
                    Some(true) => {
                        db.exec(sql, &[k.into()])?;
                        Err(StoreError::Corrupt("refused after writing".into()))
                    }
                    None => db.exec(sql, &[k.into()]).map(drop),
                }
            },
            out: None,
            reply: None,
        })
    }

    fn keys(c: &mut Counting) -> Vec<String> {
        let rows = c.query("SELECT k FROM t ORDER BY k", &[]).unwrap();
        rows.iter().map(|r| r.text(0).unwrap()).collect()
    }

    #[test]
    fn a_job_failing_before_it_writes_shares_the_batch_without_savepoints() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        let batch = vec![job("a", None), job("b", Some(false)), job("c", None)];
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(c.savepoints, 0);
        assert_eq!(keys(&mut c), ["a", "c"]);
    }

    #[test]
    fn a_job_failing_after_it_writes_is_rolled_back_alone() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        let batch = vec![job("a", None), job("b", Some(true)), job("c", None)];
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(
            c.savepoints, 3,
            "the batch was run again, a savepoint per job"
        );
        assert_eq!(keys(&mut c), ["a", "c"]);
        // Alone in its batch, the failing job's rollback is the transaction's.
        let done = run_in_transaction(&mut c, &vault, None, vec![job("d", Some(true))]);
        assert_eq!(done.ok().map(|d| d.len()), Some(1));
        assert_eq!(keys(&mut c), ["a", "c"]);
    }

    fn boxed(
        f: impl FnMut(&mut Db<'_>) -> Result<(), StoreError> + Send + 'static,
    ) -> Box<dyn Job> {
        Box::new(TypedJob {
            locks: Locks::Plain,
            f,
            out: None,
            reply: None,
        })
    }

    fn credit(m: &'static str, minor: i64) -> Box<dyn Job> {
        boxed(move |db| {
            db.credit(
                &polypay_core::MerchantId(m.into()),
                polypay_core::Currency::USD,
                minor,
            )
        })
    }

    /// A credit that notes what it answered (`Err` with the currency of a refused one).
    fn noted_credit(
        m: &'static str,
        minor: i64,
        said: Arc<Mutex<Vec<Result<(), String>>>>,
    ) -> Box<dyn Job> {
        boxed(move |db| {
            let out = db.credit(
                &polypay_core::MerchantId(m.into()),
                polypay_core::Currency::USD,
                minor,
            );
            said.lock().unwrap().push(match &out {
                Err(StoreError::BalanceLimit(c)) => Err(c.clone()),
                Err(e) => Err(e.to_string()),
                Ok(()) => Ok(()),
            });
            out
        })
    }

    fn balances(c: &mut Counting) -> Vec<(String, i64)> {
        let rows = c
            .query(
                "SELECT merchant_id, available_minor FROM balances ORDER BY merchant_id",
                &[],
            )
            .unwrap();
        rows.iter()
            .map(|r| (r.text(0).unwrap(), r.int(1).unwrap()))
            .collect()
    }

    #[test]
    fn a_batchs_credits_are_one_write_per_balance_just_before_commit() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        let batch = [("m1", 100), ("m2", 7), ("m1", 50), ("m1", -20), ("m2", 3)]
            .into_iter()
            .map(|(m, minor)| credit(m, minor))
            .collect();
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 5);
        assert_eq!(c.balance_writes, 2, "one upsert per balance row");
        assert_eq!(balances(&mut c), [("m1".into(), 130), ("m2".into(), 10)]);
    }

    #[test]
    fn a_debit_sees_the_credits_staged_before_it_and_a_failed_job_takes_its_credit_back() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        let debited = Arc::new(Mutex::new(None));
        let seen = debited.clone();
        let debit = boxed(move |db| {
            let ok = db.try_debit(
                &polypay_core::MerchantId("m1".into()),
                polypay_core::Currency::USD,
                150,
            )?;
            *seen.lock().unwrap() = Some(ok);
            Ok(())
        });
        let batch = vec![credit("m1", 100), credit("m1", 50), debit, credit("m1", 5)];
        run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(
            *debited.lock().unwrap(),
            Some(true),
            "150 staged, 150 debited"
        );
        assert_eq!(balances(&mut c), [("m1".into(), 5)]);
        assert_eq!(c.savepoints, 0);
        // A job that fails after its credit: the batch runs again with savepoints, and only
        // that job's credit is gone.
        let failing = boxed(|db| {
            db.credit(
                &polypay_core::MerchantId("m1".into()),
                polypay_core::Currency::USD,
                1_000,
            )?;
            Err(StoreError::Corrupt("refused after crediting".into()))
        });
        let batch = vec![credit("m1", 10), failing, credit("m2", 1)];
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(c.savepoints, 3);
        assert_eq!(balances(&mut c), [("m1".into(), 15), ("m2".into(), 1)]);
    }

    /// A balance holds at most `i64::MAX` minor units: a credit past it is refused, and only
    /// the job whose credit does not fit is refused, however the batch staged it.
    #[test]
    fn a_credit_past_the_balance_limit_fails_its_own_job_only() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        let limit = |r: Result<Vec<Box<dyn Job>>, BatchFailure>| match r {
            Err((StoreError::BalanceLimit(currency), jobs)) => (currency, jobs.len()),
            Err((e, _)) => panic!("{e}"),
            Ok(_) => panic!("the batch was committed"),
        };
        // Staged together the two credits do not fit: the second job fails as its own, before
        // it wrote anything, so the batch goes on without savepoints.
        let batch = vec![
            credit("m1", i64::MAX - 10),
            credit("m1", 100),
            credit("m2", 5),
        ];
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(c.savepoints, 0);
        assert_eq!(
            balances(&mut c),
            [("m1".into(), i64::MAX - 10), ("m2".into(), 5)]
        );

        // Each fits the sum staged so far, not the balance: the flush at COMMIT fails, and the
        // batch runs again with a savepoint per job and each credit checked against the
        // balance as it is staged. The second credit fails alone; the other two commit together.
        let said = Arc::new(Mutex::new(Vec::new()));
        let debit = boxed(|db| {
            let m = polypay_core::MerchantId("m1".into());
            assert!(db.try_debit(&m, polypay_core::Currency::USD, 1)?);
            Ok(())
        });
        let batch = vec![
            noted_credit("m1", 6, said.clone()),
            noted_credit("m1", 6, said.clone()),
            debit,
        ];
        c.savepoints = 0;
        let done = run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(c.savepoints, 3, "run again once, a savepoint per job");
        let said: Vec<_> = said.lock().unwrap().drain(..).collect();
        let usd = || Err("USD".to_string());
        assert_eq!(
            said,
            [Ok(()), Ok(()), Ok(()), usd()],
            "staged twice, then refused"
        );
        assert_eq!(balances(&mut c)[0], ("m1".into(), i64::MAX - 5));
        // Alone, a credit is bounded by its own statement.
        let alone = |c: &mut Counting, job| run_in_transaction(c, &vault, None, vec![job]);
        assert!(alone(&mut c, credit("m1", 5)).is_ok());
        let (currency, _) = limit(alone(&mut c, credit("m1", 1)));
        assert_eq!(currency, "USD");
        c.batch("ROLLBACK").unwrap();
        assert_eq!(balances(&mut c)[0], ("m1".into(), i64::MAX));
        c.inner
            .execute(
                "UPDATE balances SET available_minor = $1 WHERE merchant_id = 'm1'",
                &[(i64::MAX - 4).into()],
            )
            .unwrap();
        // Negative credits have their own bound.
        let batch = vec![
            credit("m3", i64::MIN + 1),
            credit("m3", -1),
            credit("m3", -1),
        ];
        run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(balances(&mut c)[2], ("m3".into(), i64::MIN));
    }

    fn set_balance(c: &mut Counting, m: &str, minor: i64) {
        c.inner
            .execute(
                "INSERT INTO balances VALUES ($1, 'USD', $2) ON CONFLICT (merchant_id, currency) \
                 DO UPDATE SET available_minor = $2",
                &[m.into(), minor.into()],
            )
            .unwrap();
    }

    fn debit(m: &'static str, minor: i64, seen: Arc<Mutex<Vec<bool>>>) -> Box<dyn Job> {
        boxed(move |db| {
            let m = polypay_core::MerchantId(m.into());
            let ok = db.try_debit(&m, polypay_core::Currency::USD, minor)?;
            seen.lock().unwrap().push(ok);
            Ok(())
        })
    }

    /// What m1's balance looks like from a job of the batch: its row as the transaction has it,
    /// and the balance with the batch's staged changes.
    type Seen = Arc<Mutex<Option<(Option<i64>, i64)>>>;

    fn look_at_m1() -> (Box<dyn Job>, Seen) {
        let read: Seen = Arc::new(Mutex::new(None));
        let reader = read.clone();
        let look = boxed(move |db| {
            let sql = "SELECT available_minor FROM balances WHERE merchant_id = 'm1'";
            let row = db.int_of(sql, &[])?;
            let m = polypay_core::MerchantId("m1".into());
            let staged = db.balance(&m, polypay_core::Currency::USD)?;
            *reader.lock().unwrap() = Some((row, staged));
            Ok(())
        });
        (look, read)
    }

    /// A batch's debits are staged like its credits: no balance row is written (on
    /// PostgreSQL: locked) before the batch's last job has run, yet each job sees the balance
    /// with what the jobs before it staged.
    #[test]
    fn a_batchs_debits_write_its_balance_rows_only_at_commit() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        set_balance(&mut c, "m1", 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (look, read) = look_at_m1();
        let batch = vec![
            debit("m1", 30, seen.clone()),
            look,
            debit("m1", 80, seen.clone()),
            debit("m1", 70, seen.clone()),
        ];
        c.balance_writes = 0;
        run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(*read.lock().unwrap(), Some((Some(100), 70)));
        assert_eq!(*seen.lock().unwrap(), [true, false, true]);
        assert_eq!((c.balance_writes, c.savepoints), (1, 0));
        assert_eq!(balances(&mut c), [("m1".into(), 0)]);
    }

    /// A batch run again with a savepoint per job (a job failed after writing) stages its
    /// balance changes too: none is written before COMMIT, and the failed job's go with it.
    #[test]
    fn the_savepoint_run_stages_balance_changes_and_drops_a_failed_jobs() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        set_balance(&mut c, "m1", 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (look, read) = look_at_m1();
        let failing = boxed(|db| {
            let m = polypay_core::MerchantId("m1".into());
            assert!(db.try_debit(&m, polypay_core::Currency::USD, 50)?);
            db.credit(&m, polypay_core::Currency::USD, 5)?;
            Err(StoreError::Corrupt("refused after debiting".into()))
        });
        let batch = vec![
            debit("m1", 30, seen.clone()),
            failing,
            look,
            credit("m1", 7),
        ];
        c.balance_writes = 0;
        run_in_transaction(&mut c, &vault, None, batch)
            .ok()
            .unwrap();
        assert_eq!(c.savepoints, 4, "the savepoint run");
        assert_eq!(
            *read.lock().unwrap(),
            Some((Some(100), 70)),
            "the row unwritten, the failed job's debit gone"
        );
        assert_eq!(c.balance_writes, 1, "one write, at COMMIT");
        assert_eq!(balances(&mut c), [("m1".into(), 77)]);
    }

    /// Debits approved against a balance another transaction lowered before the batch's
    /// commit: the batch fails as a whole, retryable, and nothing is overdrawn; alone, the
    /// debit is refused.
    #[test]
    fn debits_approved_against_a_balance_lowered_meanwhile_fail_the_batch() {
        let (mut c, vault) = (conn(), Vault::from_key_bytes(&[7; 32]).unwrap());
        set_balance(&mut c, "m1", 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        // Stands for another node's debit committed while this batch ran.
        let elsewhere = boxed(|db| {
            db.exec(
                "UPDATE balances SET available_minor = 50 WHERE merchant_id = 'm1'",
                &[],
            )
            .map(drop)
        });
        let batch = vec![debit("m1", 80, seen.clone()), elsewhere];
        match run_in_transaction(&mut c, &vault, None, batch) {
            Err((StoreError::Retryable(_), jobs)) => assert_eq!(jobs.len(), 2),
            Err((e, _)) => panic!("{e}"),
            Ok(_) => panic!("the batch was committed"),
        }
        c.batch("ROLLBACK").unwrap();
        set_balance(&mut c, "m1", 50);
        let alone = vec![debit("m1", 80, seen.clone())];
        run_in_transaction(&mut c, &vault, None, alone)
            .ok()
            .unwrap();
        assert_eq!(*seen.lock().unwrap(), [true, false]);
        assert_eq!(balances(&mut c), [("m1".into(), 50)]);
    }

    #[test]
    fn a_batch_takes_sequences_then_plain_jobs_then_families_in_key_order_then_ingestion() {
        let keyed = |locks: Locks| -> Box<dyn Job> {
            Box::new(TypedJob {
                locks,
                f: |_: &mut Db<'_>| -> Result<(), StoreError> { Ok(()) },
                out: None,
                reply: None,
            })
        };
        let address = |j: &dyn Job| j as *const dyn Job as *const () as usize;
        let object = |id: &str| Locks::Object(id.into());
        let mut batch = vec![
            keyed(Locks::Ingestion),
            keyed(Locks::Plain),
            keyed(object("pay_b")),
            keyed(Locks::Sequence("RF".into())),
            keyed(Locks::Plain),
            keyed(object("pay_a")),
            keyed(object("pay_b")),
            keyed(Locks::Sequence("PO".into())),
        ];
        let came: Vec<usize> = batch.iter().map(|j| address(&**j)).collect();
        lock_order(&mut batch);
        let order: Vec<usize> = batch
            .iter()
            .map(|j| came.iter().position(|a| *a == address(&**j)).unwrap())
            .collect();
        assert_eq!(order, [7, 3, 1, 4, 5, 2, 6, 0]);
    }

    /// A connection whose first `n` inserts into `t` fail as a deadlock would.
    struct Flaky {
        inner: Counting,
        failures: usize,
    }

    impl Conn for Flaky {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
            if sql.starts_with("INSERT INTO t") && self.failures > 0 {
                self.failures -= 1;
                return Err(StoreError::Retryable("deadlock detected".into()));
            }
            self.inner.execute(sql, params)
        }
        fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
            self.inner.query(sql, params)
        }
        fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
            self.inner.batch(sql)
        }
    }

    /// A job alone in its transaction that loses to a concurrent one runs again, a few times,
    /// before the conflict is its answer.
    #[test]
    fn a_job_alone_that_loses_a_conflict_runs_again() {
        let (_tx, rx) = std::sync::mpsc::channel();
        let mut writer = Writer {
            connect: Arc::new(|| Err(StoreError::Closed)),
            jobs: Arc::new(Mutex::new(rx)),
            vault: Arc::new(Vault::from_key_bytes(&[7; 32]).unwrap()),
            max_batch: 8,
            commits: None,
            claims: None,
            conflicts: Default::default(),
        };
        let run = |writer: &mut Writer, failures: usize| {
            let (reply, mut answer) = tokio::sync::oneshot::channel();
            let job: Box<dyn Job> = Box::new(TypedJob {
                locks: Locks::Plain,
                f: |db: &mut Db<'_>| -> Result<u64, StoreError> {
                    db.exec("INSERT INTO t (k) VALUES ('a')", &[])
                },
                out: None,
                reply: Some(reply),
            });
            let conn = Box::new(Flaky {
                inner: conn(),
                failures,
            });
            assert!(writer.commit_batch(conn, vec![job]).is_some());
            answer.try_recv().unwrap()
        };
        assert_eq!(run(&mut writer, SOLO_TRIES as usize - 1).ok(), Some(1));
        assert_eq!(
            writer.conflicts.load(std::sync::atomic::Ordering::Relaxed),
            3
        );
        assert!(matches!(
            run(&mut writer, SOLO_TRIES as usize),
            Err(StoreError::Retryable(_))
        ));
    }

    /// The ingestion cursor's horizon rule needs every PostgreSQL writer transaction to hold
    /// its xid before its first statement (`Db::delivery_cursor_target`).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_postgres_write_transaction_has_its_xid_before_it_writes() {
        let Some(db) = crate::testing::TestDb::postgres() else {
            return;
        };
        let store = db.open().unwrap();
        let xid = store
            .write(|db| {
                db.int_of(
                    "SELECT CAST(CAST(pg_current_xact_id_if_assigned() AS TEXT) AS BIGINT)",
                    &[],
                )
            })
            .await
            .unwrap();
        assert!(xid.is_some(), "an xid is assigned at BEGIN");
        store.close();
    }
}
