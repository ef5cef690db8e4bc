//! SQLite: the WAL is checkpointed by a thread of its own, not by the writer.
//!
//! With SQLite's automatic checkpoint, the commit that pushes the WAL past the threshold also
//! copies every page in it back to the database file and syncs that file, on the writer thread,
//! while every queued write waits (about a tenth of the writer's time under load). Here the
//! writer's automatic checkpoint is only a safety net ([`WRITER_AUTOCHECKPOINT`] pages); this
//! thread runs a `PASSIVE` checkpoint on its own connection every [`INTERVAL`] while the
//! database is being written. A passive checkpoint never blocks the writer: it copies what the
//! WAL holds up to the last commit and leaves the rest for the next round. Durability does not
//! depend on it: every commit is already synced to the WAL (`synchronous=FULL`).

use crate::sql::Conn;
use crate::writer::Connect;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer looks for new commits. Small checkpoints often: a checkpoint's
/// fsync of the database file holds back the writer's next WAL fsync, so the pages one
/// checkpoint copies are a latency tail for every request (V2_SHA256's random nonce keys touch
/// many pages: its create p99 was 27–28 ms at 200 ms, 30–34 ms at 1 s and 19–22 ms at 50 ms,
/// with the same throughput; PassToPay's 14–16 ms against 12 ms).
pub(crate) const INTERVAL: Duration = Duration::from_millis(50);

/// The writer's own automatic checkpoint threshold, in pages (64 MiB of WAL): reached only if
/// this thread falls far behind.
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 16_384;

/// Shared between the store, its writer (which counts commits) and the checkpointer thread.
#[derive(Default)]
pub(crate) struct Commits {
    count: AtomicU64,
}

impl Commits {
    pub fn record(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Starts the checkpointer. It stops once `commits` is dropped (the store is gone), at the
/// latest one [`INTERVAL`] later, or at once when its thread is unparked after the drop.
pub(crate) fn start(connect: Connect, commits: &Arc<Commits>) -> std::io::Result<JoinHandle<()>> {
    let commits: Weak<Commits> = Arc::downgrade(commits);
    std::thread::Builder::new()
        .name("polypay-checkpoint".into())
        .spawn(move || run(connect, commits))
}

fn run(connect: Connect, commits: Weak<Commits>) {
    let mut conn: Option<Box<dyn Conn>> = None;
    let mut checkpointed_at = 0;
    loop {
        std::thread::park_timeout(INTERVAL);
        let Some(seen) = commits.upgrade().map(|c| c.get()) else {
            break;
        };
        if seen == checkpointed_at {
            continue;
        }
        let mut c = match conn.take().map_or_else(|| connect(), Ok) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "checkpointer cannot connect");
                continue;
            }
        };
        match c.query("PRAGMA wal_checkpoint(PASSIVE)", &[]) {
            Ok(_) => {
                checkpointed_at = seen;
                conn = Some(c);
            }
            // Busy or broken: the next round tries again on a fresh connection.
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
    // Whatever the last round left is copied when the last connection closes.
}
