//! The dispatcher: turns outbox events into deliveries, leases the due ones, sends them under a
//! concurrency bound, records every attempt and reschedules by each protocol's offsets.
//!
//! Each phase is one store job for the whole batch (ingest, lease, record), which keeps the
//! group-commit writer's batches large. Every due time reads the engine's clock, so sandbox time
//! travel and tests move the schedule; only network timeouts use real time.

use crate::error::NotifyError;
use crate::ingest::Ingested;
use crate::protocol::ProtocolNotifier;
use crate::{attempt, metrics, schedule, worker};
use polypay_core::{Merchant, MerchantId, Protocol};
use polypay_engine::Engine;
use polypay_store::{AfterAttempt, AttemptOutcome, Delivery, FinishedAttempt, LeaseRequest};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

/// Most deliveries leased by one run.
const LEASE_BATCH: usize = 256;
/// Cycles in a row that may fail to record held attempts before they are given up (their
/// leases then expire and their deliveries are attempted again, as after a crash): a batch the
/// database keeps refusing must not stop every later cycle for long. The retries back off
/// from one tick to four: the eighth failure comes 11.5 s after the first at the default
/// 500 ms tick, well inside a lease.
const HOLD_CYCLES: u32 = 8;

/// How the dispatcher runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Attempts in flight at once on this node.
    pub concurrency: usize,
    /// A cap on one attempt's time limit; `None`: each protocol's own (its spec's).
    pub timeout_cap: Option<Duration>,
    /// Allow callbacks to loopback, private and link-local addresses (sandbox on a laptop).
    pub allow_private: bool,
    /// This node's name in leases and the attempt log.
    pub node_id: String,
    /// How long a lease lasts (real ms, not the engine clock's: time travel never ends a lease
    /// early); an attempt interrupted by a crash is retried
    /// once it expires. Never shorter than twice the attempt timeout.
    pub lease_ms: i64,
    /// Record-and-lease cycles in flight at once: more than one only helps a store whose write
    /// jobs can run side by side (PostgreSQL with several writers; `polypay serve` uses one
    /// per writer). While one cycle's statements run, attempts that finish start the next.
    pub cycles: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            concurrency: 64,
            timeout_cap: None,
            allow_private: false,
            node_id: "node".into(),
            lease_ms: 60_000,
            cycles: 1,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Outbox events turned into deliveries (by this node).
    pub ingested: usize,
    /// Attempts made and recorded.
    pub attempted: usize,
    /// Attempts the merchant acknowledged.
    pub acknowledged: usize,
    /// Attempts not acknowledged (refused, unreachable, timed out, or another answer).
    pub failed: usize,
    /// Deliveries that became dead (their last attempt failed).
    pub dead: usize,
}

/// The callback dispatcher of one node. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub engine: Engine,
    pub notifiers: HashMap<Protocol, Arc<dyn ProtocolNotifier>>,
    /// The events no notifier sends: ingestion passes them without a delivery.
    pub silent: Arc<polypay_store::SilentEvents>,
    pub config: DispatchConfig,
    /// The HTTP client, or why it could not be built (every attempt then records that).
    pub client: Result<reqwest::Client, String>,
    pub permits: Arc<Semaphore>,
    /// The highest outbox id this node has looked at (see `ingest`).
    pub scanned: std::sync::atomic::AtomicI64,
    /// The outbox horizon the last full ingestion pass read, for the next one (PostgreSQL; see
    /// `Db::delivery_cursor_target`).
    pub horizon: std::sync::Mutex<Option<polypay_store::OutboxHorizon>>,
    /// Cycles tests make fail ([`Dispatcher::fail_next_cycles`]).
    pub faults: std::sync::Mutex<Option<(u32, tokio::sync::oneshot::Sender<()>)>>,
}

impl Dispatcher {
    pub fn new(
        engine: Engine,
        notifiers: Vec<Arc<dyn ProtocolNotifier>>,
        config: DispatchConfig,
    ) -> Dispatcher {
        metrics::describe();
        let client = attempt::client(config.allow_private).map_err(|e| e.to_string());
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let notifiers: HashMap<_, _> = notifiers.into_iter().map(|n| (n.protocol(), n)).collect();
        let silent = crate::silent_events(notifiers.values());
        Dispatcher {
            inner: Arc::new(Inner {
                engine,
                notifiers,
                silent: Arc::new(silent),
                config,
                client,
                permits,
                scanned: std::sync::atomic::AtomicI64::new(0),
                horizon: std::sync::Mutex::new(None),
                faults: std::sync::Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &DispatchConfig {
        &self.inner.config
    }

    /// Ingests new outbox events into deliveries, then sends every delivery due at the engine
    /// clock's now (respecting per-object order and leases), awaits those attempts and records
    /// them. Tests call this instead of sleeping.
    pub async fn run_once(&self) -> Result<DispatchReport, NotifyError> {
        let ingested = self.inner.ingest(true).await?;
        let mut report = DispatchReport {
            ingested: ingested.created,
            ..DispatchReport::default()
        };
        let mut inflight = JoinSet::new();
        if ingested.due {
            let leased = Inner::cycle(
                self.inner.clone(),
                self.lease_ms(Duration::ZERO),
                Vec::new(),
            )
            .await
            .map_err(|failed| failed.error)?;
            self.start(&mut inflight, leased);
        }
        let mut done = Vec::new();
        while let Some(joined) = inflight.join_next().await {
            collect(joined, &mut done);
        }
        self.record(done, &mut report).await?;
        Ok(report)
    }

    /// Dispatches until `shutdown` resolves. Two loops share this task and never wait for each
    /// other, so a large ingestion batch does not hold back recording and leasing:
    ///
    /// - ingestion turns outbox events into deliveries: a full pass on every tick (from the
    ///   shared cursor, with a look whether anything is due, retries included), a quick pass
    ///   (above what this node has seen) after every delivery cycle, and at once again while a
    ///   pass read a full batch. It wakes delivery when it created deliveries or found some due;
    /// - delivery records finished attempts and leases what is due, both in one store job: as
    ///   soon as an attempt finishes (its permit can take the next delivery), when ingestion
    ///   wakes it, and at once again while a lease filled a whole batch with permits left.
    ///
    /// Slow attempts are never waited for. On shutdown, stops leasing, lets in-flight attempts
    /// finish and records them.
    pub async fn run(self, tick: Duration, shutdown: impl Future<Output = ()>) {
        self.repair_queued().await;
        let tick = tick.max(Duration::from_millis(10));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let created = Notify::new();
        let cycled = Notify::new();
        let stopper = async {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(
            stopper,
            self.ingest_loop(tick, stopped.clone(), &created, &cycled),
            self.deliver_loop(tick, stopped, &created, &cycled),
        );
    }

    /// `run`'s ingestion: wakes `due` when deliveries were created or are due; woken by `cycled`.
    ///
    /// A batch is read and encoded while the one before it is being written (one write in
    /// flight): with a backlog, reading and encoding the next 500 events no longer waits for
    /// the previous insert's commit. Quick passes read above the highest id this node has seen,
    /// so they never read what the write in flight holds; a full pass reads from the shared
    /// cursor, so it waits for that write first.
    async fn ingest_loop(
        &self,
        tick: Duration,
        mut stopped: watch::Receiver<bool>,
        due: &Notify,
        cycled: &Notify,
    ) {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut more = false;
        let mut writing: Option<tokio::task::JoinHandle<Result<Ingested, NotifyError>>> = None;
        loop {
            let full = tokio::select! {
                biased;
                _ = stopped.wait_for(|s| *s) => break,
                written = async { writing.as_mut().expect("guarded").await }, if writing.is_some() => {
                    writing = None;
                    written_batch(written, due);
                    continue;
                }
                _ = interval.tick() => true,
                _ = std::future::ready(()), if more => false,
                _ = cycled.notified() => false,
            };
            if full && let Some(w) = writing.take() {
                written_batch(w.await, due);
            }
            let batch = match self.inner.read_batch(full).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "callback ingestion failed; retrying next tick");
                    more = false;
                    continue;
                }
            };
            more = batch.fetched() >= crate::ingest::INGEST_BATCH as usize;
            if let Some(w) = writing.take() {
                written_batch(w.await, due);
            }
            let inner = self.inner.clone();
            writing = Some(tokio::spawn(async move { inner.write_batch(batch).await }));
        }
        if let Some(w) = writing.take() {
            written_batch(w.await, due);
        }
    }

    /// `run`'s delivery: one record-and-lease store job per cycle, up to `config.cycles` of
    /// them in flight at once; wakes `cycled` after each.
    ///
    /// A cycle reserves the permits that are free when it starts, so cycles in flight together
    /// never lease more than the node may send; attempts that finish while a cycle runs start
    /// the next one (or wait for a cycle to end, when `config.cycles` are in flight).
    async fn deliver_loop(
        &self,
        tick: Duration,
        mut stopped: watch::Receiver<bool>,
        due: &Notify,
        cycled: &Notify,
    ) {
        let lease_ms = self.lease_ms(tick);
        let most = self.inner.config.cycles.max(1);
        let mut inflight = JoinSet::new();
        let mut cycles: JoinSet<Result<Leased, CycleFailed>> = JoinSet::new();
        let mut done = Vec::new();
        // Woken since the last cycle started: there is something to record or to lease.
        let mut wanted = false;
        let mut more = false;
        // Attempts a failed cycle could not record are held in `done` for the next one, which
        // the failure schedules (`holding`: failed cycles in a row, and when to retry).
        let mut holding = Holding::default();
        loop {
            let room = cycles.len() < most;
            let retry = holding.retry_at;
            tokio::select! {
                biased;
                _ = stopped.wait_for(|s| *s) => break,
                Some(ended) = cycles.join_next(), if !cycles.is_empty() => {
                    more = self.cycle_ended(&mut inflight, ended, &mut done, &mut holding, tick);
                    cycled.notify_one();
                }
                _ = tokio::time::sleep_until(retry.unwrap_or_else(tokio::time::Instant::now)), if retry.is_some() => {
                    holding.retry_at = None;
                    wanted = true;
                }
                _ = std::future::ready(()), if more && room => {
                    more = false;
                    wanted = true;
                }
                _ = due.notified() => wanted = true,
                Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                    collect(joined, &mut done);
                    wanted = true;
                }
            }
            // Every finished attempt asks for a cycle, however it was collected: when a cycle
            // and the last attempts in flight end in the same wake, the biased select takes the
            // cycle and the attempts are collected here, and no later wake would come for them.
            while let Some(joined) = inflight.try_join_next() {
                collect(joined, &mut done);
                wanted = true;
            }
            // Invariant: finished attempts always have a way to be recorded: a cycle wanted or
            // in flight, or the retry a failed cycle scheduled. Broken, they would wait for the
            // next ingestion wake, an hour away with a long tick: loud in tests, mended here.
            let stranded =
                !done.is_empty() && !wanted && cycles.is_empty() && holding.retry_at.is_none();
            debug_assert!(
                !stranded,
                "finished callback attempts with nothing to record them"
            );
            if stranded {
                tracing::error!(
                    attempts = done.len(),
                    "finished callback attempts had no cycle to record them; starting one"
                );
                wanted = true;
            }
            // Recording and leasing share one store job: one group commit per cycle. Beside a
            // cycle in flight, another starts only with a share's worth of attempts to record:
            // one started by the first attempt to finish would lease next to nothing (the
            // others still hold their leases until recorded) and hold a slot meanwhile.
            let worth = cycles.is_empty() || done.len() >= self.inner.share();
            if wanted && cycles.len() < most && worth {
                wanted = false;
                let inner = self.inner.clone();
                let done = std::mem::take(&mut done);
                cycles.spawn(Inner::cycle(inner, lease_ms, done));
            }
        }
        // Deliveries a cycle in flight leases are attempted like the others: their leases
        // would otherwise expire unattempted and count as interrupted.
        while let Some(ended) = cycles.join_next().await {
            self.cycle_ended(&mut inflight, ended, &mut done, &mut holding, tick);
        }
        tracing::info!(
            in_flight = inflight.len(),
            "callback dispatcher stopping; finishing attempts in flight"
        );
        while let Some(joined) = inflight.join_next().await {
            collect(joined, &mut done);
        }
        if let Err(e) = self.record(done, &mut DispatchReport::default()).await {
            tracing::warn!(error = %e, "could not record the last callback attempts");
        }
    }

    /// A cycle ended: starts the attempts of what it leased. Returns whether to run another at
    /// once (it filled a whole batch and permits are left).
    ///
    /// A cycle that failed (the database refused or was unreachable: nothing of its job was
    /// written) hands back the finished attempts it was recording; they go back into `done`,
    /// and another cycle is due a `tick` later (at most a second; two, then four, while they
    /// keep failing) whatever else happens meanwhile. Acknowledged callbacks are then
    /// recorded, not sent again once their leases expire. Results are fenced by their lease, so
    /// one recorded late, after another node took the delivery over, is logged but not
    /// applied. After [`HOLD_CYCLES`] failures in a row the held attempts are given up.
    fn cycle_ended(
        &self,
        inflight: &mut JoinSet<FinishedAttempt>,
        ended: Result<Result<Leased, CycleFailed>, tokio::task::JoinError>,
        done: &mut Vec<FinishedAttempt>,
        holding: &mut Holding,
        tick: Duration,
    ) -> bool {
        match ended {
            Ok(Ok(leased)) => {
                holding.failures = 0;
                let count = self.start(inflight, leased);
                count == LEASE_BATCH && self.inner.permits.available_permits() > 0
            }
            Ok(Err(CycleFailed { error, unrecorded })) => {
                holding.failures += 1;
                if unrecorded.is_empty() {
                    tracing::warn!(error = %error, "callback dispatch failed; retrying at the next wake");
                } else if holding.failures >= HOLD_CYCLES {
                    tracing::error!(
                        error = %error, attempts = unrecorded.len(), failures = holding.failures,
                        "callback attempts could not be recorded; giving them up (their leases expire and they are attempted again)"
                    );
                } else {
                    tracing::warn!(
                        error = %error, attempts = unrecorded.len(), failures = holding.failures,
                        "callback attempts could not be recorded; holding them for the next cycle"
                    );
                    done.extend(unrecorded);
                }
                // From a tick (at most a second, whatever the tick) to four.
                let backoff = 1u32 << (holding.failures - 1).min(2);
                let step = tick.min(Duration::from_secs(1));
                holding.retry_at = Some(tokio::time::Instant::now() + step * backoff);
                false
            }
            // Its leases expire and their deliveries are attempted again.
            Err(e) => {
                tracing::error!(error = %e, "callback dispatch cycle failed");
                false
            }
        }
    }

    /// At start, what an earlier version queued is brought in line: leases it took on the
    /// engine clock are ended where no node's lease could reach (no lease is longer than one
    /// taken with the longest tick a node may be given: `sweep_interval_ms` is at most an hour),
    /// and callbacks it keyed by their object alone are keyed by their endpoint.
    async fn repair_queued(&self) {
        let longest_lease = self.lease_ms(Duration::from_secs(3600));
        let latest = self.inner.engine.clock().wall().plus_millis(longest_lease);
        let store = self.inner.engine.store();
        if let Err(e) = store.write(move |db| db.cap_leases(latest)).await {
            tracing::warn!(error = %e, "callback leases could not be capped");
        }
        match self.rekey_bare_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deliveries = n,
                "callbacks queued by an earlier version keyed by endpoint"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "callbacks queued by an earlier version could not be re-keyed")
            }
        }
    }

    /// Gives pending callbacks keyed by their object alone (queued by a version before keys
    /// named the endpoint) the key a callback queued now would get, so they keep holding back
    /// the later callbacks of their object to their endpoint. Returns how many; run at start.
    pub async fn rekey_bare_pending(&self) -> Result<usize, polypay_store::StoreError> {
        let mut total = 0;
        loop {
            let done = self
                .inner
                .engine
                .store()
                .write(|db| {
                    let bare = db.bare_keyed_pending(500)?;
                    for (id, object, url) in &bare {
                        db.set_order_key(*id, &crate::schedule::keyed_at(object, url))?;
                    }
                    Ok::<_, polypay_store::StoreError>(bare.len())
                })
                .await?;
            total += done;
            if done < 500 {
                return Ok(total);
            }
        }
    }

    /// For tests of a database failing under delivery: the next `n` record-and-lease cycles
    /// fail as their store job would, writing nothing. The receiver resolves once the last of
    /// them has failed.
    #[doc(hidden)]
    pub fn fail_next_cycles(&self, n: u32) -> tokio::sync::oneshot::Receiver<()> {
        let (done, failed) = tokio::sync::oneshot::channel();
        let mut faults = self.inner.faults.lock().unwrap_or_else(|e| e.into_inner());
        *faults = (n > 0).then_some((n, done));
        failed
    }

    /// Makes a delivery due now with a fresh schedule, even if it is dead or acknowledged.
    pub async fn resend(&self, delivery_id: i64) -> Result<(), NotifyError> {
        let notifiers: Vec<_> = self.inner.notifiers.values().cloned().collect();
        crate::operator::resend(&self.inner.engine, &notifiers, delivery_id).await
    }

    /// The lease must outlive an attempt plus the wait until its result is recorded.
    fn lease_ms(&self, tick: Duration) -> i64 {
        let longest = self
            .inner
            .notifiers
            .values()
            .map(|n| schedule::attempt_timeout(self.inner.config.timeout_cap, n.attempt_timeout()))
            .max()
            .unwrap_or(schedule::FALLBACK_TIMEOUT);
        let floor = 2 * longest + tick;
        self.inner
            .config
            .lease_ms
            .max(i64::try_from(floor.as_millis()).unwrap_or(i64::MAX))
    }

    /// Starts an attempt for each delivery a cycle leased, each on one of the permits the cycle
    /// reserved (the rest go back). Returns how many started.
    fn start(&self, inflight: &mut JoinSet<FinishedAttempt>, leased: Leased) -> usize {
        let Leased {
            deliveries,
            merchants,
            mut permits,
        } = leased;
        let count = deliveries.len();
        for d in deliveries {
            // A cycle leases at most as many deliveries as it reserved permits.
            let Some(permit) = permits.as_mut().and_then(|p| p.split(1)) else {
                tracing::error!(
                    delivery = d.id,
                    "leased a delivery without a permit; its lease expires and it is attempted again"
                );
                continue;
            };
            let merchant = merchants.get(&d.merchant_id).cloned();
            inflight.spawn(worker::attempt(self.inner.clone(), d, merchant, permit));
        }
        count
    }

    /// Records finished attempts in one store job and counts them.
    async fn record(
        &self,
        done: Vec<FinishedAttempt>,
        report: &mut DispatchReport,
    ) -> Result<(), NotifyError> {
        if done.is_empty() {
            return Ok(());
        }
        for f in &done {
            report.attempted += 1;
            if f.attempt.outcome == AttemptOutcome::Acknowledged {
                report.acknowledged += 1;
            } else {
                report.failed += 1;
            }
            if f.next == AfterAttempt::Dead {
                report.dead += 1;
            }
        }
        let now = self.inner.engine.clock().now();
        let store = self.inner.engine.store().clone();
        store
            .write(move |db| db.finish_attempts(&done, now))
            .await?;
        Ok(())
    }
}

impl Inner {
    /// One delivery cycle: records `done` (finished attempts), then leases as many due
    /// deliveries as there were free permits when it started (reserved for them); both in one
    /// store job, recording first (a recorded attempt may unblock the next delivery of its
    /// key). Starting the attempts is the caller's ([`Dispatcher::start`]).
    ///
    /// When the store job fails, nothing of it was written: the attempts come back with the
    /// error ([`CycleFailed`]).
    pub(crate) async fn cycle(
        self: Arc<Self>,
        lease_ms: i64,
        done: Vec<FinishedAttempt>,
    ) -> Result<Leased, CycleFailed> {
        let free = self.permits.available_permits().min(LEASE_BATCH);
        let reserved = u32::try_from(free)
            .ok()
            .filter(|&n| n > 0)
            .and_then(|n| self.permits.clone().try_acquire_many_owned(n).ok());
        if reserved.is_none() && done.is_empty() {
            return Ok(Leased::default());
        }
        let (now, wall) = (self.engine.clock().now(), self.engine.clock().wall());
        let share = i64::try_from(self.share()).unwrap_or(i64::MAX);
        let lease = reserved.as_ref().map(|r| LeaseRequest {
            now,
            wall,
            node_id: self.config.node_id.clone(),
            lease_until: wall.plus_millis(lease_ms),
            per_merchant: share,
            limit: i64::try_from(r.num_permits()).unwrap_or(i64::MAX),
            // A share stays free for a merchant whose callbacks arrive meanwhile; the rest of
            // the node is lent to merchants with more due than their share.
            reserve: share,
        });
        if self.take_fault() {
            return Err(CycleFailed {
                error: NotifyError::Store(polypay_store::StoreError::Backend(
                    "injected fault".into(),
                )),
                unrecorded: done,
            });
        }
        let done = Arc::new(done);
        let recording = done.clone();
        let written: Result<Vec<Delivery>, polypay_store::StoreError> = self
            .engine
            .store()
            .write(move |db| {
                if !recording.is_empty() {
                    db.finish_attempts(&recording, now)?;
                }
                lease
                    .as_ref()
                    .map_or(Ok(Vec::new()), |req| db.lease_deliveries(req))
            })
            .await;
        let leased: Vec<Delivery> = match written {
            Ok(leased) => leased,
            Err(e) => {
                let unrecorded = Arc::try_unwrap(done).unwrap_or_else(|shared| (*shared).clone());
                return Err(CycleFailed {
                    error: NotifyError::from(e),
                    unrecorded,
                });
            }
        };
        // The attempts are recorded: a failure from here on only loses this cycle's leases.
        let merchants = self
            .merchants_for_retries(&leased)
            .await
            .map_err(CycleFailed::recorded)?;
        Ok(Leased {
            deliveries: leased,
            merchants,
            permits: reserved,
        })
    }

    /// Takes one injected cycle failure, if any is left ([`Dispatcher::fail_next_cycles`]).
    fn take_fault(&self) -> bool {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let Some((left, _)) = faults.as_mut() else {
            return false;
        };
        *left -= 1;
        if *left == 0
            && let Some((_, done)) = faults.take()
        {
            let _ = done.send(());
        }
        true
    }

    /// A merchant's fair share of this node's attempts in flight.
    fn share(&self) -> usize {
        self.config.concurrency.max(1).div_ceil(4)
    }

    /// Merchants of deliveries whose attempt is re-encoded per protocol (retries, and first
    /// attempts held back: [`crate::worker::reencoded`]).
    async fn merchants_for_retries(
        &self,
        leased: &[Delivery],
    ) -> Result<HashMap<MerchantId, Merchant>, NotifyError> {
        let now = self.engine.clock().now();
        let mut ids: Vec<MerchantId> = leased
            .iter()
            .filter(|d| crate::worker::reencoded(d, now))
            .map(|d| d.merchant_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let store = self.engine.store().clone();
        let found = store
            .read(move |db| {
                let mut found = HashMap::new();
                for id in ids {
                    if let Some(m) = db.merchant(&id)? {
                        found.insert(id, m);
                    }
                }
                Ok::<_, NotifyError>(found)
            })
            .await?;
        Ok(found)
    }
}

/// A cycle whose store job failed, with the finished attempts it could not record.
pub(crate) struct CycleFailed {
    pub error: NotifyError,
    pub unrecorded: Vec<FinishedAttempt>,
}

impl CycleFailed {
    /// A failure after the attempts were recorded.
    fn recorded(error: NotifyError) -> CycleFailed {
        CycleFailed {
            error,
            unrecorded: Vec::new(),
        }
    }
}

/// Attempts held after failed cycles: how many failed in a row, and when the next is due.
#[derive(Default)]
struct Holding {
    failures: u32,
    retry_at: Option<tokio::time::Instant>,
}

/// What a cycle leased, with the permits it reserved for their attempts.
#[derive(Default)]
pub(crate) struct Leased {
    deliveries: Vec<Delivery>,
    merchants: HashMap<MerchantId, Merchant>,
    permits: Option<OwnedSemaphorePermit>,
}

/// Ingestion's write finished: wakes delivery when it created deliveries, or when a full pass
/// found some due (a quick pass's `due` says nothing new while delivery is busy; a full pass's
/// is how retries that came due are noticed).
fn written_batch(
    written: Result<Result<Ingested, NotifyError>, tokio::task::JoinError>,
    due: &Notify,
) {
    match written {
        Ok(Ok(ingested)) => {
            if ingested.created > 0 || (ingested.full && ingested.due) {
                due.notify_one();
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "callback ingestion failed; retrying next tick");
        }
        Err(e) => tracing::error!(error = %e, "callback ingestion task failed"),
    }
}

fn collect(
    joined: Result<FinishedAttempt, tokio::task::JoinError>,
    done: &mut Vec<FinishedAttempt>,
) {
    match joined {
        Ok(f) => done.push(f),
        // Its lease expires and the delivery is attempted again.
        Err(e) => tracing::error!(error = %e, "callback attempt task failed"),
    }
}
