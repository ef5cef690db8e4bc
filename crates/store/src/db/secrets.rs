//! Platform secrets, replay-guard nonces, protocol records and numbered sequences.

use super::{Db, json, protocol};
use crate::error::StoreError;
use crate::sql::Dialect;
use polypay_core::{Protocol, Timestamp};
use serde::{Deserialize, Serialize};

/// A record a protocol keeps for itself (payers, tokens, ...), as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolRecord {
    pub protocol: Protocol,
    /// The owning merchant's id, or `""` for records looked up without one.
    pub merchant_id: String,
    pub kind: String,
    pub key: String,
    pub value: serde_json::Value,
    pub updated_at: Timestamp,
}

const SANDBOX_OFFSET: &str = "sandbox_clock_offset_ms";

/// What a platform secret is bound to: its row.
fn platform_binding(name: &str) -> String {
    format!("platform_secrets/{name}")
}

impl Db<'_> {
    /// Whether this connection's master key is the database's: it opens the oldest platform
    /// secret, or on a database that has none yet seals one (`vault_check`) for later runs to
    /// open. [`StoreError::Sealed`] when the key is another one: anything sealed with it would
    /// be unreadable to the nodes that hold the right key.
    pub fn check_vault(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let oldest = self.one(
            "SELECT name, value_sealed FROM platform_secrets ORDER BY created_at, name LIMIT 1",
            &[],
        )?;
        match oldest {
            Some(row) => {
                let binding = platform_binding(&row.text(0)?);
                self.vault.open_for(&binding, &row.text(1)?).map(drop)
            }
            None => self
                .platform_secret_or_insert("vault_check", b"polypay", now)
                .map(drop),
        }
    }

    /// Stores a sealed platform value unless one exists; returns the value now stored.
    pub fn platform_secret_or_insert(
        &mut self,
        name: &str,
        value: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, StoreError> {
        let sealed = self.vault.seal_for(&platform_binding(name), value)?;
        self.exec(
            "INSERT INTO platform_secrets (name, value_sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[name.into(), sealed.into(), now.0.into()],
        )?;
        self.platform_secret(name)?
            .ok_or_else(|| StoreError::Corrupt("platform secret vanished".into()))
    }

    /// Removes a platform value (a claim its maker gave up); `false` if there was none.
    pub fn delete_platform_secret(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(self.exec(
            "DELETE FROM platform_secrets WHERE name = $1",
            &[name.into()],
        )? == 1)
    }

    pub fn platform_secret(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self.one(
            "SELECT value_sealed FROM platform_secrets WHERE name = $1",
            &[name.into()],
        )?;
        row.map(|r| self.vault.open_for(&platform_binding(name), &r.text(0)?))
            .transpose()
    }

    /// Seals again, bound to its row, every secret an earlier version sealed unbound (`v1:`):
    /// merchants' credentials and platform secrets. Returns how many; run at start (by every
    /// node: a value another node sealed meanwhile is left as it is). One that does not open
    /// is left as it is, with a warning naming its row.
    pub fn bind_legacy_secrets(&mut self) -> Result<usize, StoreError> {
        let merchants = self.bind_unbound_in("merchants", "id", "credentials_sealed", |id| {
            super::merchants::credentials_binding(&polypay_core::MerchantId(id.to_owned()))
        })?;
        let platform =
            self.bind_unbound_in("platform_secrets", "name", "value_sealed", |name| {
                platform_binding(name)
            })?;
        Ok(merchants + platform)
    }

    /// [`Db::bind_legacy_secrets`] for one table: its rows' unbound values in column `sealed`,
    /// keyed by `key`, each sealed again for `binding(key)` (only if still the value read).
    fn bind_unbound_in(
        &mut self,
        table: &str,
        key: &str,
        sealed: &str,
        binding: impl Fn(&str) -> String,
    ) -> Result<usize, StoreError> {
        let rows = self.rows(
            &format!(
                "SELECT {key}, {sealed} FROM {table} WHERE {sealed} LIKE 'v1:%' ORDER BY {key}"
            ),
            &[],
        )?;
        let mut bound = 0;
        for r in &rows {
            let (row, old) = (r.text(0)?, r.text(1)?);
            let binding = binding(&row);
            let Some(plain) = self.opened(&binding, &old) else {
                continue;
            };
            let new = self.vault.seal_for(&binding, &plain)?;
            bound += self.exec(
                &format!("UPDATE {table} SET {sealed} = $2 WHERE {key} = $1 AND {sealed} = $3"),
                &[row.into(), new.into(), old.into()],
            )? as usize;
        }
        Ok(bound)
    }

    /// An unbound value opened for binding, or `None` (warned) when it does not open.
    fn opened(&self, binding: &str, sealed: &str) -> Option<Vec<u8>> {
        match self.vault.open_for(binding, sealed) {
            Ok(plain) => Some(plain),
            Err(e) => {
                tracing::warn!(row = binding, error = %e, "a sealed secret does not open with this master key; left as it is");
                None
            }
        }
    }

    /// Claims a nonce in `scope` until `expires_at`; `false` if it was already claimed and is
    /// still live. Works across nodes: on PostgreSQL the primary key of `nonces` decides; on
    /// SQLite the writer's in-memory guard over the append-only `nonce_log` (`claims.rs`), which
    /// is exact for every process writing the same file.
    pub fn claim_nonce(
        &mut self,
        scope: &str,
        nonce: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.conn.dialect() == Dialect::Sqlite {
            let Some(claims) = self.claims.as_deref_mut() else {
                return Err(StoreError::Config(
                    "nonces are claimed in write jobs only".into(),
                ));
            };
            let r = claims.claim(&mut *self.conn, scope, nonce, now.0, expires_at.0);
            self.changed |= !matches!(r, Ok(false));
            return self.note(r);
        }
        // One statement: a new claim is inserted, an expired one taken over, a live one left
        // alone (no row changed). A concurrent claim of the same nonce waits for the first to
        // end, then sees it.
        let n = self.exec(
            "INSERT INTO nonces (scope, nonce, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (scope, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $4",
            &[
                scope.into(),
                nonce.into(),
                expires_at.0.into(),
                now.0.into(),
            ],
        )?;
        Ok(n == 1)
    }

    /// Inserts a protocol record; `false` (and no change) if the key exists.
    pub fn insert_record(&mut self, r: &ProtocolRecord) -> Result<bool, StoreError> {
        let n = self.exec(
            "INSERT INTO protocol_records (protocol, merchant_id, kind, record_key, value, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (protocol, merchant_id, kind, record_key) DO NOTHING",
            &record_values(r),
        )?;
        Ok(n == 1)
    }

    /// Deletes up to `limit` records of one kind created at or before `created_before`, oldest
    /// first (a protocol's expired tokens); returns how many.
    pub fn purge_records(
        &mut self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        created_before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM protocol_records WHERE (protocol, merchant_id, kind, record_key) IN \
             (SELECT protocol, merchant_id, kind, record_key FROM protocol_records \
              WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND created_at <= $4 \
              ORDER BY created_at LIMIT {})",
            limit.max(1)
        );
        let params = [
            protocol.as_str().into(),
            merchant_id.into(),
            kind.into(),
            created_before.0.into(),
        ];
        self.exec(&sql, &params)
    }

    /// Replaces the value of an existing protocol record; `false` if there is none.
    pub fn update_record(&mut self, r: &ProtocolRecord) -> Result<bool, StoreError> {
        let n = self.exec(
            "UPDATE protocol_records SET value = $5, updated_at = $6 \
             WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND record_key = $4",
            &record_values(r),
        )?;
        Ok(n == 1)
    }

    pub fn record(
        &mut self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<ProtocolRecord>, StoreError> {
        let sql = format!(
            "SELECT protocol, merchant_id, kind, record_key, value, updated_at FROM protocol_records \
             WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND record_key = $4{}",
            self.lock()
        );
        let row = self.one(
            &sql,
            &[
                protocol.as_str().into(),
                merchant_id.into(),
                kind.into(),
                key.into(),
            ],
        )?;
        row.map(|r| {
            Ok(ProtocolRecord {
                protocol: self::protocol(&r.text(0)?)?,
                merchant_id: r.text(1)?,
                kind: r.text(2)?,
                key: r.text(3)?,
                value: json(&r.text(4)?)?,
                updated_at: Timestamp(r.int(5)?),
            })
        })
        .transpose()
    }

    /// The next value of the named sequence, starting at `start` (atomic on both backends).
    pub fn next_sequence(&mut self, name: &str, start: i64) -> Result<i64, StoreError> {
        let row = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            &[name.into(), start.into()],
        )?;
        row.ok_or_else(|| StoreError::Corrupt("sequence gave no row".into()))?
            .int(0)
    }

    /// Reserves `count` consecutive values of sequence `name` (first value `start`); returns the
    /// first. A node hands them out from memory (see the engine's numbered payments).
    pub fn reserve_sequence(
        &mut self,
        name: &str,
        start: i64,
        count: i64,
    ) -> Result<i64, StoreError> {
        let row = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + $3 RETURNING value",
            &[name.into(), (start + count - 1).into(), count.into()],
        )?;
        let last = row
            .ok_or_else(|| StoreError::Corrupt("sequence gave no row".into()))?
            .int(0)?;
        Ok(last - count + 1)
    }

    /// The sandbox clock's offset from real time in ms, shared by every node of the
    /// installation (0 until time travel moves it). Kept in `sequences` as the counter
    /// `sandbox_clock_offset_ms`.
    pub fn sandbox_clock_offset(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .int_of(
                "SELECT value FROM sequences WHERE name = $1",
                &[SANDBOX_OFFSET.into()],
            )?
            .unwrap_or(0))
    }

    /// Moves the shared sandbox offset forward by `delta_ms` (> 0) unless that would take it
    /// past `max_ms`; returns the new offset, or `None` (and no change) past the bound.
    /// Callback leases do not move: they follow real time (`LeaseRequest::wall`).
    pub fn advance_sandbox_clock(
        &mut self,
        delta_ms: i64,
        max_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        if delta_ms <= 0 || delta_ms > max_ms {
            return Ok(None);
        }
        let row = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + $2 \
             WHERE sequences.value <= $3 RETURNING value",
            &[
                SANDBOX_OFFSET.into(),
                delta_ms.into(),
                (max_ms - delta_ms).into(),
            ],
        )?;
        row.map(|r| r.int(0)).transpose()
    }

    /// Drops up to `limit` expired nonces, earliest expiry first; returns how many.
    pub fn purge_nonces(&mut self, now: Timestamp, limit: i64) -> Result<u64, StoreError> {
        let sql = match self.conn.dialect() {
            Dialect::Sqlite => format!(
                "DELETE FROM nonce_log WHERE id IN (SELECT id FROM nonce_log \
                 WHERE expires_at <= $1 ORDER BY expires_at LIMIT {})",
                limit.max(1)
            ),
            Dialect::Postgres => format!(
                "DELETE FROM nonces WHERE (scope, nonce) IN (SELECT scope, nonce FROM nonces \
                 WHERE expires_at <= $1 ORDER BY expires_at LIMIT {})",
                limit.max(1)
            ),
        };
        self.exec(&sql, &[now.0.into()])
    }
}

/// A record's key (`$1`–`$4`), value (`$5`) and time (`$6`), as the insert and the update bind them.
fn record_values(r: &ProtocolRecord) -> [crate::sql::Value; 6] {
    [
        r.protocol.as_str().into(),
        r.merchant_id.as_str().into(),
        r.kind.as_str().into(),
        r.key.as_str().into(),
        r.value.to_string().into(),
        r.updated_at.0.into(),
    ]
}
