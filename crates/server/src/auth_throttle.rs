//! Failed admin-token attempts, counted per client address: after [`MAX_FAILURES`] wrong
//! tokens from one address within [`WINDOW`], every attempt from it (the right token too) is
//! answered `429` for [`LOCKOUT`], without looking at the token, so guessing proceeds at ten
//! tries a minute at most and learns nothing while locked out. The admin API, the sandbox
//! control API and the console's sign-in share the count. Loopback addresses are never
//! counted (a local script that gets its token wrong is not an attacker, and whoever can reach
//! loopback can read the data directory anyway). IPv6 addresses count by their /64, which
//! one client can hold whole. The right token does not clear the count: behind a proxy, or a
//! NAT, an operator's requests would otherwise give a guesser nine more tries each (QA). In
//! memory, per node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens from one address within [`WINDOW`] before it is locked out.
pub const MAX_FAILURES: u32 = 10;
/// The window the failures are counted in, from the first.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long an address stays locked out.
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// Addresses tracked at once; past it the entries whose window or lockout ended go first,
/// then the oldest.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    since: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

/// The failed attempts of this node's clients.
#[derive(Default)]
pub struct AuthThrottle {
    map: Mutex<HashMap<IpAddr, Entry>>,
}

/// The address an attempt counts under, or `None` when it is not counted.
fn key(peer: Option<IpAddr>) -> Option<IpAddr> {
    match peer? {
        ip if ip.is_loopback() => None,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if v4.is_loopback() => None,
            Some(v4) => Some(IpAddr::V4(v4)),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                Some(IpAddr::V6(octets.into()))
            }
        },
        ip => Some(ip),
    }
}

impl AuthThrottle {
    /// `Err(how long)` while `peer` is locked out: answer 429 without checking the token.
    pub fn check(&self, peer: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Some(ip) = key(peer) else {
            return Ok(());
        };
        let Ok(map) = self.map.lock() else {
            return Ok(());
        };
        match map.get(&ip).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a wrong token from `peer`; `true` when this one locks it out.
    pub fn failed(&self, peer: Option<IpAddr>, now: Instant) -> bool {
        let Some(ip) = key(peer) else {
            return false;
        };
        let Ok(mut map) = self.map.lock() else {
            return false;
        };
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, e| {
                e.locked_until
                    .map_or(now < e.since + WINDOW, |until| until > now)
            });
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(ip).or_insert(Entry {
            since: now,
            failures: 0,
            locked_until: None,
        });
        let ended = entry
            .locked_until
            .map_or(now >= entry.since + WINDOW, |until| now >= until);
        if ended {
            *entry = Entry {
                since: now,
                failures: 0,
                locked_until: None,
            };
        }
        entry.failures += 1;
        if entry.failures >= MAX_FAILURES && entry.locked_until.is_none() {
            entry.locked_until = Some(now + LOCKOUT);
            metrics::counter!("polypay_admin_auth_lockouts_total").increment(1);
            return true;
        }
        false
    }
}

/// The `429` of a locked-out address: `Retry-After` in whole seconds, rounded up.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn ten_wrong_tokens_in_a_minute_lock_an_address_out_for_a_minute() {
        let t = AuthThrottle::default();
        let start = Instant::now();
        let a = ip("203.0.113.7");
        for n in 1..MAX_FAILURES {
            assert!(!t.failed(a, start + Duration::from_secs(u64::from(n))));
            assert_eq!(
                t.check(a, start + Duration::from_secs(u64::from(n))),
                Ok(())
            );
        }
        let at = start + Duration::from_secs(30);
        assert!(t.failed(a, at), "the tenth locks it out");
        assert_eq!(
            t.check(a, at + Duration::from_secs(1)),
            Err(Duration::from_secs(59))
        );
        assert_eq!(t.check(ip("203.0.113.8"), at), Ok(()), "another address");
        assert_eq!(t.check(a, at + LOCKOUT), Ok(()), "over");
        assert!(!t.failed(a, at + LOCKOUT), "counted afresh");
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock_out() {
        let t = AuthThrottle::default();
        let start = Instant::now();
        let a = ip("198.51.100.1");
        for n in 0..3 * MAX_FAILURES {
            let now = start + Duration::from_secs(7 * u64::from(n));
            assert!(!t.failed(a, now), "failure {n}");
        }
    }

    #[test]
    fn loopback_is_never_counted_and_ipv6_counts_by_its_64() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for peer in [ip("127.0.0.1"), ip("::1"), ip("::ffff:127.0.0.1"), None] {
            for _ in 0..2 * MAX_FAILURES {
                assert!(!t.failed(peer, now));
            }
            assert_eq!(t.check(peer, now), Ok(()));
        }
        for n in 0..MAX_FAILURES {
            t.failed(ip(&format!("2001:db8:1:2::{n:x}")), now);
        }
        assert!(
            t.check(ip("2001:db8:1:2:ffff::1"), now).is_err(),
            "same /64"
        );
        assert_eq!(t.check(ip("2001:db8:1:3::1"), now), Ok(()));
        assert_eq!(retry_after_secs(Duration::from_millis(59_001)), 60);
        assert_eq!(retry_after_secs(Duration::from_secs(59)), 59);
    }
}
