//! Merchants: sealed credentials and per-protocol lookup keys.

use super::{Db, prefixed};
use crate::error::StoreError;
use crate::sql::Row;
use polypay_core::{Credentials, Merchant, MerchantId, Protocol, Timestamp};

/// What a merchant's sealed credentials are bound to: their row.
pub(super) fn credentials_binding(id: &MerchantId) -> String {
    format!("merchants/{}/credentials", id.as_str())
}

const MERCHANT_COLS: &str =
    "id, name, notify_url, enabled, created_at, credentials_sealed, settings";

impl Db<'_> {
    /// Inserts a merchant with its sealed credentials and its per-protocol lookup keys.
    pub fn insert_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal_for(
            &credentials_binding(&m.id),
            &serde_json::to_vec(&m.credentials)?,
        )?;
        self.exec(
            &format!("INSERT INTO merchants ({MERCHANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                m.id.as_str().into(),
                m.name.as_str().into(),
                m.notify_url.clone().into(),
                i64::from(m.enabled).into(),
                m.created_at.0.into(),
                sealed.into(),
                m.settings.to_string().into(),
            ],
        )?;
        for (protocol, key) in m.credentials.lookup_keys() {
            self.exec(
                "INSERT INTO merchant_keys (protocol, key_id, merchant_id) VALUES ($1, $2, $3)",
                &[protocol.as_str().into(), key.into(), m.id.as_str().into()],
            )?;
        }
        Ok(())
    }

    /// Writes a merchant's name, notify URL, enabled flag, credentials (sealed again) and
    /// settings, as given: read it in the same write job ([`Db::merchant`] locks it).
    pub fn update_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal_for(
            &credentials_binding(&m.id),
            &serde_json::to_vec(&m.credentials)?,
        )?;
        self.exec(
            "UPDATE merchants SET name = $2, notify_url = $3, enabled = $4, credentials_sealed = $5, settings = $6 \
             WHERE id = $1",
            &[
                m.id.as_str().into(),
                m.name.as_str().into(),
                m.notify_url.clone().into(),
                i64::from(m.enabled).into(),
                sealed.into(),
                m.settings.to_string().into(),
            ],
        )?;
        Ok(())
    }

    /// A merchant by id; inside a write job on PostgreSQL its row stays locked until the
    /// commit, so a read-modify-write of one part (profile, settings, a rotated secret) never
    /// writes back another node's change to another part.
    pub fn merchant(&mut self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        let sql = format!(
            "SELECT {MERCHANT_COLS} FROM merchants WHERE id = $1{}",
            self.lock()
        );
        self.one(&sql, &[id.as_str().into()])?
            .map(|r| self.merchant_row(&r))
            .transpose()
    }

    /// Finds the merchant a protocol's public identifier (mchNo, apiKey, …) belongs to.
    pub fn merchant_by_key(
        &mut self,
        protocol: Protocol,
        key_id: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!(
            "SELECT {} FROM merchants m JOIN merchant_keys k ON k.merchant_id = m.id \
             WHERE k.protocol = $1 AND k.key_id = $2",
            prefixed("m", MERCHANT_COLS)
        );
        self.one(&sql, &[protocol.as_str().into(), key_id.into()])?
            .map(|r| self.merchant_row(&r))
            .transpose()
    }

    /// Whether merchant `id` exists (without opening its sealed credentials).
    pub fn merchant_exists(&mut self, id: &MerchantId) -> Result<bool, StoreError> {
        let row = self.one(
            "SELECT 1 FROM merchants WHERE id = $1",
            &[id.as_str().into()],
        )?;
        Ok(row.is_some())
    }

    /// Whether the database holds any merchant (an installation in use, not a new one).
    pub fn has_merchants(&mut self) -> Result<bool, StoreError> {
        Ok(self.one("SELECT 1 FROM merchants LIMIT 1", &[])?.is_some())
    }

    pub fn merchants(&mut self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLS} FROM merchants ORDER BY created_at, id");
        let rows = self.rows(&sql, &[])?;
        let mut merchants = Vec::with_capacity(rows.len());
        for r in &rows {
            match self.merchant_row(r) {
                Ok(m) => merchants.push(m),
                // One unreadable row does not hide the others; it is said in the log.
                Err(e @ StoreError::Corrupt(_)) => tracing::warn!(error = %e, "merchant left out"),
                Err(e) => return Err(e),
            }
        }
        Ok(merchants)
    }

    fn merchant_row(&self, r: &Row) -> Result<Merchant, StoreError> {
        let id = MerchantId(r.text(0)?);
        let sealed = self
            .vault
            .open_for(&credentials_binding(&id), &r.text(5)?)
            .map_err(|e| match e {
                StoreError::Sealed => StoreError::Corrupt(format!(
                    "merchant {}'s credentials do not open: sealed with another master key, \
                     or for another row",
                    id.as_str()
                )),
                other => other,
            })?;
        let creds: Credentials = serde_json::from_slice(&sealed)?;
        Ok(Merchant {
            id,
            name: r.text(1)?,
            notify_url: r.opt_text(2)?,
            enabled: r.int(3)? != 0,
            created_at: Timestamp(r.int(4)?),
            credentials: creds,
            settings: serde_json::from_str(&r.text(6)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;

    /// The lock a read-modify-write of a merchant rests on: on PostgreSQL, `Db::merchant`
    /// inside a write job holds the row (`FOR NO KEY UPDATE`, a `RowShareLock` on the table), and a
    /// read outside one does not.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_merchant_read_in_a_write_job_locks_its_row_on_postgres() {
        let Some(tdb) = TestDb::postgres() else {
            return;
        };
        let store = tdb.open().unwrap();
        let locks = |db: &mut super::Db<'_>| -> Vec<String> {
            let sql = "SELECT mode FROM pg_locks WHERE relation = 'merchants'::regclass \
                       AND pid = pg_backend_pid() ORDER BY mode";
            db.rows(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.text(0).unwrap())
                .collect()
        };
        let id = polypay_core::MerchantId("mch_none".into());
        let held = {
            let id = id.clone();
            store
                .write(move |db| {
                    db.merchant(&id)?;
                    Ok::<_, crate::StoreError>(locks(db))
                })
                .await
                .unwrap()
        };
        assert!(held.contains(&"RowShareLock".to_string()), "{held:?}");
        let read = store
            .read(move |db| {
                db.merchant(&id)?;
                Ok::<_, crate::StoreError>(locks(db))
            })
            .await
            .unwrap();
        assert!(!read.contains(&"RowShareLock".to_string()), "{read:?}");
        store.close();
    }

    /// A merchant's sealed credentials open only in its own row: copied into another
    /// merchant's row (by anyone who can write the database but has no master key), they are
    /// refused, not taken as that merchant's. Unbound values of an earlier version still open,
    /// and are bound at start.
    #[tokio::test(flavor = "multi_thread")]
    async fn sealed_credentials_are_bound_to_their_merchant() {
        for tdb in TestDb::all() {
            let store = tdb.open().unwrap();
            let (a, b) = (crate::testing::merchant("a"), crate::testing::merchant("b"));
            let (a_id, b_id) = (a.id.clone(), b.id.clone());
            store
                .write(move |db| {
                    db.insert_merchant(&a)?;
                    db.insert_merchant(&b)
                })
                .await
                .unwrap();
            let swapped = store
                .write(move |db| {
                    db.exec(
                        "UPDATE merchants SET credentials_sealed = \
                         (SELECT credentials_sealed FROM merchants WHERE id = $1) WHERE id = $2",
                        &[a_id.as_str().into(), b_id.as_str().into()],
                    )?;
                    Ok::<_, crate::StoreError>(db.merchant(&b_id).map(|_| ()))
                })
                .await
                .unwrap();
            match &swapped {
                Err(crate::StoreError::Corrupt(why)) => {
                    assert!(why.contains("do not open"), "{}: {why}", tdb.name)
                }
                other => panic!("{}: {other:?}", tdb.name),
            }

            // An earlier version's unbound value opens, and is bound by the start-up pass.
            let old = crate::testing::merchant("old");
            let creds = old.credentials.clone();
            let sealed = store
                .vault()
                .seal_unbound(&serde_json::to_vec(&creds).unwrap())
                .unwrap();
            let bound = store
                .write(move |db| {
                    db.insert_merchant(&old)?;
                    db.exec(
                        "UPDATE merchants SET credentials_sealed = $2 WHERE id = $1",
                        &[old.id.as_str().into(), sealed.clone().into()],
                    )?;
                    let before = db.merchant(&old.id)?.map(|m| m.credentials);
                    let n = db.bind_legacy_secrets()?;
                    let after = db.merchant(&old.id)?.map(|m| m.credentials);
                    let row = db.one(
                        "SELECT credentials_sealed FROM merchants WHERE id = $1",
                        &[old.id.as_str().into()],
                    )?;
                    let stored = row.map(|r| r.text(0)).transpose()?.unwrap_or_default();
                    Ok::<_, crate::StoreError>((before, n, after, stored))
                })
                .await
                .unwrap();
            let (before, n, after, stored) = bound;
            assert_eq!(before.as_ref(), Some(&creds), "{}", tdb.name);
            assert_eq!(after.as_ref(), Some(&creds), "{}", tdb.name);
            assert_eq!(n, 1, "{}: one unbound secret", tdb.name);
            assert!(crate::Vault::is_bound(&stored), "{}", tdb.name);
            let again = store.write(|db| db.bind_legacy_secrets()).await.unwrap();
            assert_eq!(again, 0, "{}", tdb.name);
            store.close();
        }
    }
}
