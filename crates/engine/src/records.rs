//! Protocol-owned state the core model does not know: records (payers, tokens), sequences
//! for provider-style ids, and claimed nonces (replay protection shared by every node).

use crate::Engine;
use crate::error::EngineError;
use polypay_core::{Protocol, Timestamp};
use polypay_store::ProtocolRecord;

impl Engine {
    /// Inserts a record; `false` if one with the same key exists (nothing changes then).
    pub async fn insert_record(&self, record: ProtocolRecord) -> Result<bool, EngineError> {
        self.store
            .write(move |db| Ok(db.insert_record(&record)?))
            .await
    }

    /// Replaces an existing record's value; `false` if there is none.
    pub async fn update_record(&self, record: ProtocolRecord) -> Result<bool, EngineError> {
        self.store
            .write(move |db| Ok(db.update_record(&record)?))
            .await
    }

    pub async fn record(
        &self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<ProtocolRecord>, EngineError> {
        let (m, k, key) = (merchant_id.to_string(), kind.to_string(), key.to_string());
        self.store
            .read(move |db| Ok(db.record(protocol, &m, &k, &key)?))
            .await
    }

    /// The next value of a named sequence (the first call returns `start`).
    pub async fn next_sequence(&self, name: &str, start: i64) -> Result<i64, EngineError> {
        let name = name.to_string();
        self.store
            .write(move |db| Ok(db.next_sequence(&name, start)?))
            .await
    }

    /// Claims `nonce` in `scope` for `ttl_ms`; `false` if it is already claimed (a replay),
    /// on this node or any other sharing the database.
    pub async fn claim_nonce(
        &self,
        scope: &str,
        nonce: &str,
        ttl_ms: i64,
    ) -> Result<bool, EngineError> {
        let (scope, nonce) = (scope.to_string(), nonce.to_string());
        let now: Timestamp = self.clock.now();
        self.store
            .write(move |db| Ok(db.claim_nonce(&scope, &nonce, now, now.plus_millis(ttl_ms))?))
            .await
    }
}
