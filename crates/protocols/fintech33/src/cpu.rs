//! A fixed pool of signing threads, one per core.
//!
//! An RSA-2048 signature costs about 0.2–0.3 ms of CPU, too long for the async core threads.
//! tokio's blocking pool is the wrong home for it: it starts a thread per waiting task (62 of
//! them at 64 connections on a 2-core machine), and those threads then spend their time being
//! switched in and out. Here at most one signature per core runs at a time; the rest wait in a
//! queue, which is also where a burst shows up as latency instead of as scheduler overhead.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

type Task = Box<dyn FnOnce() + Send>;

/// The queue the signing threads take their tasks from (started at first use).
fn pool() -> &'static Sender<Task> {
    static POOL: OnceLock<Sender<Task>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("polypay-sign-{i}"))
                .spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "fintech33: cannot start a signing thread");
            }
        }
        tx
    })
}

fn work(rx: &Mutex<Receiver<Task>>) {
    loop {
        let task = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match task {
            // A panicking task drops its reply sender: the caller sees the failure.
            Ok(task) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
            }
            Err(_) => return,
        }
    }
}

/// Runs `f` on the signing pool; `None` if it panicked or the pool could not take it.
pub(crate) async fn run<T, F>(f: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    let task: Task = Box::new(move || {
        let _ = reply.send(f());
    });
    pool().send(task).ok()?;
    answer.await.ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread")]
    async fn runs_tasks_side_by_side_and_survives_a_panicking_one() {
        assert_eq!(super::run(|| 6 * 7).await, Some(42));
        assert_eq!(super::run(|| -> u8 { panic!("boom") }).await, None);
        let tasks: Vec<_> = (0..32)
            .map(|i| tokio::spawn(super::run(move || i * 2)))
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Some(i * 2));
        }
    }
}
