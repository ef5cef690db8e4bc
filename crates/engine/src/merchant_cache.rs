//! A short-lived cache of merchants by protocol key (and by id), so a front door does not read the merchant
//! row and open its sealed credentials (AES-GCM, JSON) on every request.
//!
//! Entries live for a bounded time (default one second) and are dropped at once when this node
//! changes any merchant. A change made on another node (rotation, disabling) therefore takes
//! effect here within that time; that bound is the cache's whole contract, documented in
//! ARCHITECTURE.md. Unknown keys are never cached, so probing with random keys cannot fill it.

use polypay_core::{Merchant, Protocol};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// At most this many merchants are cached; past it the cache starts over.
const CAPACITY: usize = 10_000;

/// (protocol, key id); `None` and the merchant id for a lookup by id.
type Key = (Option<Protocol>, String);

pub(crate) struct MerchantCache {
    ttl: Duration,
    entries: RwLock<HashMap<Key, (Instant, Merchant)>>,
}

impl MerchantCache {
    pub fn new(ttl: Duration) -> MerchantCache {
        MerchantCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached merchant, if fresh.
    pub fn get(&self, protocol: Option<Protocol>, key_id: &str, now: Instant) -> Option<Merchant> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (at, m) = entries.get(&(protocol, key_id.to_string()))?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| m.clone())
    }

    pub fn put(
        &self,
        protocol: Option<Protocol>,
        key_id: &str,
        merchant: &Merchant,
        read_at: Instant,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert((protocol, key_id.to_string()), (read_at, merchant.clone()));
        }
    }

    /// Forgets everything: called after this node changes a merchant.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polypay_core::{MerchantId, Timestamp};

    fn merchant(name: &str) -> Merchant {
        Merchant {
            id: MerchantId::from_random("1"),
            name: name.into(),
            notify_url: None,
            enabled: true,
            created_at: Timestamp(0),
            credentials: crate::merchant::issue_credentials(),
            settings: serde_json::json!({}),
        }
    }

    #[test]
    fn entries_expire_after_the_ttl_and_on_clear() {
        let cache = MerchantCache::new(Duration::from_millis(1000));
        let t0 = Instant::now();
        cache.put(Some(Protocol::Passtopay), "M1", &merchant("a"), t0);
        let hit = cache.get(
            Some(Protocol::Passtopay),
            "M1",
            t0 + Duration::from_millis(999),
        );
        assert_eq!(hit.map(|m| m.name), Some("a".to_string()));
        assert!(
            cache
                .get(
                    Some(Protocol::Passtopay),
                    "M1",
                    t0 + Duration::from_millis(1000)
                )
                .is_none()
        );
        assert!(
            cache.get(Some(Protocol::Ottpay), "M1", t0).is_none(),
            "keys are per protocol"
        );
        cache.clear();
        assert!(cache.get(Some(Protocol::Passtopay), "M1", t0).is_none());
    }

    #[test]
    fn a_zero_ttl_disables_the_cache() {
        let cache = MerchantCache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.put(Some(Protocol::Passtopay), "M1", &merchant("a"), t0);
        assert!(cache.get(Some(Protocol::Passtopay), "M1", t0).is_none());
    }
}
