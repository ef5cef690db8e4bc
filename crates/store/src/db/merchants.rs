//! Merchants: sealed credentials and per-protocol lookup keys.

use super::{Db, prefixed};
use crate::error::StoreError;
use crate::sql::Row;
use polypay_core::{Credentials, Merchant, MerchantId, Protocol, Timestamp};

const MERCHANT_COLS: &str =
    "id, name, notify_url, enabled, created_at, credentials_sealed, settings";

impl Db<'_> {
    /// Inserts a merchant with its sealed credentials and its per-protocol lookup keys.
    pub fn insert_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal(&serde_json::to_vec(&m.credentials)?)?;
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

    /// Replaces a merchant's credentials (secret rotation) and settings.
    pub fn update_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal(&serde_json::to_vec(&m.credentials)?)?;
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

    pub fn merchant(&mut self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLS} FROM merchants WHERE id = $1");
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

    pub fn merchants(&mut self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLS} FROM merchants ORDER BY created_at, id");
        let rows = self.rows(&sql, &[])?;
        rows.iter().map(|r| self.merchant_row(r)).collect()
    }

    fn merchant_row(&self, r: &Row) -> Result<Merchant, StoreError> {
        let creds: Credentials = serde_json::from_slice(&self.vault.open(&r.text(5)?)?)?;
        Ok(Merchant {
            id: MerchantId(r.text(0)?),
            name: r.text(1)?,
            notify_url: r.opt_text(2)?,
            enabled: r.int(3)? != 0,
            created_at: Timestamp(r.int(4)?),
            credentials: creds,
            settings: serde_json::from_str(&r.text(6)?)?,
        })
    }
}
