//! Time as milliseconds since the Unix epoch, and the clocks that tell it.
//!
//! Every time-dependent rule (expiry, retry schedules, payout delays, replay windows) reads a
//! [`Clock`], so tests and the sandbox can move time explicitly instead of sleeping.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    pub fn plus_seconds(self, s: i64) -> Timestamp {
        self.plus_millis(s.saturating_mul(1000))
    }

    /// RFC 3339 in UTC with milliseconds, for logs and the admin API.
    pub fn to_rfc3339(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => format!("{t:.3}"),
            Err(_) => self.0.to_string(),
        }
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The platform's time: what expiries, schedules, delays and every stored time follow. The
    /// sandbox's time travel moves it.
    fn now(&self) -> Timestamp;

    /// The time a merchant's clock shows: what request authentication checks a signed
    /// timestamp against, and how long replay claims and access tokens live. Time travel does
    /// not move it: the merchant's client keeps signing with real time. The same as
    /// [`Clock::now`] for a clock that is not the wall clock (tests).
    fn wall(&self) -> Timestamp {
        self.now()
    }
}

/// The real wall clock plus an adjustable offset (the sandbox's time travel): [`Clock::now`] is
/// the wall clock moved by the offset, [`Clock::wall`] the wall clock alone.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_ms: AtomicI64,
    elapsed_ms: AtomicI64,
    /// The shared offset last followed ([`SystemClock::follow`]).
    followed_ms: AtomicI64,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock::default()
    }

    /// Moves this clock forward (or back) by `ms`; every reader sees the new time at once.
    /// The wall clock stays where it is: this is time travel, not time passing.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Follows the installation's shared offset (which only grows): moves this clock by how
    /// far `shared` is past the value it followed last, once, however many callers report the
    /// same value. Time moved on this clock alone ([`SystemClock::advance`]) is kept.
    pub fn follow(&self, shared: i64) {
        let before = self.followed_ms.fetch_max(shared, Ordering::SeqCst);
        if shared > before {
            self.offset_ms.fetch_add(shared - before, Ordering::SeqCst);
        }
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves both clocks by `ms`, as if that much real time had passed: for tests of what
    /// lives by the merchant's clock (replay claims, tokens, timestamp windows).
    pub fn elapse(&self, ms: i64) {
        self.elapsed_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        self.wall()
            .plus_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    fn wall(&self) -> Timestamp {
        let real = jiff::Timestamp::now().as_millisecond();
        Timestamp(real + self.elapsed_ms.load(Ordering::SeqCst))
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(at: Timestamp) -> FixedClock {
        FixedClock(AtomicI64::new(at.0))
    }

    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_offset_is_followed_once_and_time_moved_locally_is_kept() {
        let c = SystemClock::new();
        c.advance(5);
        c.follow(100);
        c.follow(100);
        assert_eq!(c.offset_ms(), 105, "the same value twice moves it once");
        c.follow(40);
        assert_eq!(c.offset_ms(), 105, "an older report never moves it back");
        c.follow(250);
        assert_eq!(c.offset_ms(), 255);
    }
}
