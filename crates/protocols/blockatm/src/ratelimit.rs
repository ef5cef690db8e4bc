//! Per-API-key rate limiting of spec 3.5 (429, then 418 and a cool-down), driven by an explicit clock.
//!
//! The request that pushes a key over its limit gets 429 and marks the key "limited" until the
//! sliding-window count drops below the limit again. Any request while limited gets 418 and
//! blocks the key for the cool-down, during which every request gets 418. Refused requests are
//! not counted, so a key recovers by itself once it stops or slows down.

use std::collections::{HashMap, VecDeque};

/// Limits; the defaults are the provider's documented 100 requests per 60 s and a 60 s cool-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Requests allowed per window.
    pub limit: u32,
    /// Sliding window length (ms).
    pub window_ms: u64,
    /// Block length after a request arrives while limited (ms).
    pub cooldown_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            limit: 100,
            window_ms: 60_000,
            cooldown_ms: 60_000,
        }
    }
}

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead (the request was counted).
    Allow,
    /// HTTP 429: this request exceeded the limit.
    TooManyRequests { retry_after_ms: u64 },
    /// HTTP 418: the key is blocked.
    Blocked { retry_after_ms: u64 },
}

impl Decision {
    /// The HTTP status of a refusal (`None` for [`Decision::Allow`]).
    pub fn status(self) -> Option<u16> {
        match self {
            Decision::Allow => None,
            Decision::TooManyRequests { .. } => Some(429),
            Decision::Blocked { .. } => Some(418),
        }
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1 (`None` for [`Decision::Allow`]).
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            Decision::Allow => None,
            Decision::TooManyRequests { retry_after_ms } | Decision::Blocked { retry_after_ms } => {
                Some(retry_after_ms.div_ceil(1000).max(1))
            }
        }
    }
}

#[derive(Debug, Default)]
struct KeyState {
    /// Times (ms) of counted requests inside the window, oldest first.
    hits: VecDeque<u64>,
    /// Set by a 429; cleared once the count drops below the limit or a block ends.
    limited: bool,
    blocked_until: Option<u64>,
}

/// Sliding-window limiter keyed by API key. Not thread-safe by itself: wrap it in a mutex.
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: RateLimitConfig,
    keys: HashMap<String, KeyState>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            keys: HashMap::new(),
        }
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Decides one request of `api_key` arriving at `now_ms`. Times must not go backwards by
    /// more than a window; earlier times are treated as `now` for pruning.
    pub fn check(&mut self, api_key: &str, now_ms: u64) -> Decision {
        let config = self.config;
        let state = self.keys.entry(api_key.to_owned()).or_default();
        prune(state, now_ms, config.window_ms);
        if let Some(until) = state.blocked_until {
            if now_ms < until {
                return Decision::Blocked {
                    retry_after_ms: until - now_ms,
                };
            }
            state.blocked_until = None;
            state.limited = false;
        }
        let full = state.hits.len() >= config.limit as usize;
        if !full {
            state.limited = false;
            state.hits.push_back(now_ms);
            return Decision::Allow;
        }
        if state.limited {
            state.blocked_until = Some(now_ms.saturating_add(config.cooldown_ms));
            return Decision::Blocked {
                retry_after_ms: config.cooldown_ms,
            };
        }
        state.limited = true;
        let oldest = state.hits.front().copied().unwrap_or(now_ms);
        let frees_at = oldest.saturating_add(config.window_ms);
        Decision::TooManyRequests {
            retry_after_ms: frees_at.saturating_sub(now_ms),
        }
    }

    /// Drops keys with nothing to remember, bounding memory to recently active keys.
    pub fn purge(&mut self, now_ms: u64) {
        let window = self.config.window_ms;
        self.keys.retain(|_, state| {
            prune(state, now_ms, window);
            !state.hits.is_empty()
                || state.limited
                || state.blocked_until.is_some_and(|u| u > now_ms)
        });
    }

    /// Number of keys currently tracked.
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }
}

/// Forgets hits that left the window `(now - window, now]`.
fn prune(state: &mut KeyState, now_ms: u64, window_ms: u64) {
    while state
        .hits
        .front()
        .is_some_and(|&t| t.saturating_add(window_ms) <= now_ms)
    {
        state.hits.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            limit: 3,
            window_ms: 10_000,
            cooldown_ms: 20_000,
        })
    }

    #[test]
    fn default_is_100_per_minute() {
        let mut limiter = RateLimiter::new(RateLimitConfig::default());
        for i in 0..100 {
            assert_eq!(
                limiter.check("k", 1_000 + i),
                Decision::Allow,
                "request {i}"
            );
        }
        assert_eq!(limiter.check("k", 1_100).status(), Some(429));
    }

    #[test]
    fn too_many_then_blocked_then_cooldown() {
        let mut limiter = small();
        for t in [0, 1_000, 2_000] {
            assert_eq!(limiter.check("k", t), Decision::Allow);
        }
        // Fourth request in the window: 429; the first hit leaves at 10 000.
        assert_eq!(
            limiter.check("k", 3_000),
            Decision::TooManyRequests {
                retry_after_ms: 7_000
            }
        );
        // Still limited: 418 and a 20 s block from now.
        let blocked = limiter.check("k", 4_000);
        assert_eq!(
            blocked,
            Decision::Blocked {
                retry_after_ms: 20_000
            }
        );
        assert_eq!(blocked.retry_after_secs(), Some(20));
        // The window has emptied, but the block holds until 24 000.
        assert_eq!(
            limiter.check("k", 23_999),
            Decision::Blocked { retry_after_ms: 1 }
        );
        assert_eq!(limiter.check("k", 24_000), Decision::Allow);
        // Other keys are unaffected throughout.
        assert_eq!(limiter.check("other", 4_000), Decision::Allow);
    }

    #[test]
    fn limited_clears_when_window_frees() {
        let mut limiter = small();
        for t in [0, 1_000, 2_000] {
            limiter.check("k", t);
        }
        assert_eq!(limiter.check("k", 3_000).status(), Some(429));
        // At 10 000 the first hit leaves the window: count 2 < 3, the key is no longer limited.
        assert_eq!(limiter.check("k", 10_000), Decision::Allow);
        // Full again: a fresh 429, not a 418.
        assert_eq!(limiter.check("k", 10_500).status(), Some(429));
    }

    #[test]
    fn refusals_are_not_counted() {
        let mut limiter = small();
        for t in [0, 1, 2] {
            limiter.check("k", t);
        }
        assert_eq!(limiter.check("k", 3).status(), Some(429));
        assert_eq!(limiter.check("k", 4).status(), Some(418));
        // After the block (ends 20 004) only the three allowed hits ever counted and they are gone.
        for t in [20_004, 20_005, 20_006] {
            assert_eq!(limiter.check("k", t), Decision::Allow);
        }
    }

    #[test]
    fn purge_forgets_idle_keys() {
        let mut limiter = small();
        limiter.check("a", 0);
        limiter.check("b", 9_000);
        limiter.purge(10_000);
        assert_eq!(limiter.tracked_keys(), 1);
        limiter.purge(19_000);
        assert_eq!(limiter.tracked_keys(), 0);
        assert_eq!(
            Decision::TooManyRequests { retry_after_ms: 1 }.retry_after_secs(),
            Some(1)
        );
    }
}
