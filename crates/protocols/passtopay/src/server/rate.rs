//! The optional per-merchant rate limit (spec 2): requests per minute per endpoint, counted in
//! fixed one-minute windows of the wall clock (`Clock::wall`: time travel does not move it).
//! Counters live in this node's memory, so with several nodes each enforces the limit on its
//! own share of the traffic.

use crate::wire::Endpoint;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct RateLimiter {
    /// (merchant id, endpoint) → (minute number, requests counted in it).
    windows: Mutex<HashMap<(String, Endpoint), (i64, u32)>>,
}

impl RateLimiter {
    /// Counts one request and answers whether it is within `limit` for the current minute.
    pub fn allow(&self, merchant: &str, endpoint: Endpoint, limit: u32, now_ms: i64) -> bool {
        let minute = now_ms.div_euclid(60_000);
        // A poisoned lock only means another request panicked mid-count; the map is still usable.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let slot = windows
            .entry((merchant.to_owned(), endpoint))
            .or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= limit {
            return false;
        }
        slot.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_minute_per_endpoint() {
        let r = RateLimiter::default();
        assert!(r.allow("m", Endpoint::PayQuery, 2, 0));
        assert!(r.allow("m", Endpoint::PayQuery, 2, 1));
        assert!(!r.allow("m", Endpoint::PayQuery, 2, 59_999));
        assert!(r.allow("m", Endpoint::UnifiedOrder, 2, 59_999));
        assert!(r.allow("other", Endpoint::PayQuery, 2, 59_999));
        assert!(r.allow("m", Endpoint::PayQuery, 2, 60_000));
    }
}
