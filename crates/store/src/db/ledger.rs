//! Balances and the double-entry ledger.

use super::{Db, currency};
use crate::error::StoreError;
use polypay_core::{Currency, MerchantId, Money, Timestamp};
use serde::{Deserialize, Serialize};

/// One leg of a double-entry ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub txn_id: String,
    pub merchant_id: MerchantId,
    /// `available` (the merchant's balance) or a counter-account (`customer`, `payout_clearing`, …).
    pub account: String,
    pub amount: Money,
    /// What moved the money: `payment`, `payout`, `payout_reversal`, `refund`, `refund_reversal`,
    /// `refund_fee`, `refund_fee_reversal`.
    pub kind: String,
    pub object_id: String,
    pub created_at: Timestamp,
}

impl Db<'_> {
    /// Adds `minor` (which may be negative) to the merchant's available balance, unconditionally.
    ///
    /// In a write job run without a savepoint the credit is staged for the batch and applied,
    /// summed with the batch's other credits of that balance, just before COMMIT or before
    /// the batch next reads or debits a balance ([`Credits`](super::Credits)); inside the
    /// transaction nothing can tell the difference.
    pub fn credit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<(), StoreError> {
        if let Some(credits) = self.credits.as_deref_mut() {
            let staged = credits
                .0
                .entry((m.as_str().to_string(), currency.code()))
                .or_insert(0);
            *staged = staged
                .checked_add(minor)
                .ok_or_else(|| StoreError::BalanceLimit(currency.code().into()))?;
            self.changed = true;
            return Ok(());
        }
        self.apply_credit(m.as_str(), currency.code(), minor)
    }

    /// Adds `minor` to the balance row unless the sum would leave `i64` (which PostgreSQL
    /// refuses as an error and SQLite would store as a float): then nothing is written and the
    /// answer is [`StoreError::BalanceLimit`]. The bound is computed here, so the statement
    /// itself never overflows.
    pub(super) fn apply_credit(
        &mut self,
        m: &str,
        currency: &str,
        minor: i64,
    ) -> Result<(), StoreError> {
        let (sql, bound) = if minor >= 0 {
            (
                "INSERT INTO balances (merchant_id, currency, available_minor) VALUES ($1, $2, $3) \
                 ON CONFLICT (merchant_id, currency) DO UPDATE SET available_minor = balances.available_minor + $3 \
                 WHERE balances.available_minor <= $4",
                i64::MAX - minor,
            )
        } else {
            (
                "INSERT INTO balances (merchant_id, currency, available_minor) VALUES ($1, $2, $3) \
                 ON CONFLICT (merchant_id, currency) DO UPDATE SET available_minor = balances.available_minor + $3 \
                 WHERE balances.available_minor >= $4",
                i64::MIN - minor,
            )
        };
        let n = self.exec(
            sql,
            &[m.into(), currency.into(), minor.into(), bound.into()],
        )?;
        if n == 0 {
            return Err(StoreError::BalanceLimit(currency.into()));
        }
        Ok(())
    }

    /// Takes `minor` from the available balance only if it covers it; `false` (and no change) if not.
    /// One conditional UPDATE, so two concurrent debits can never overdraw.
    pub fn try_debit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<bool, StoreError> {
        self.flush_credits()?;
        let n = self.exec(
            "UPDATE balances SET available_minor = available_minor - $3 \
             WHERE merchant_id = $1 AND currency = $2 AND available_minor >= $3",
            &[m.as_str().into(), currency.code().into(), minor.into()],
        )?;
        Ok(n == 1)
    }

    pub fn balance(&mut self, m: &MerchantId, currency: Currency) -> Result<i64, StoreError> {
        self.flush_credits()?;
        let row = self.one(
            "SELECT available_minor FROM balances WHERE merchant_id = $1 AND currency = $2",
            &[m.as_str().into(), currency.code().into()],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    /// Every currency the merchant has a balance in.
    pub fn balances(&mut self, m: &MerchantId) -> Result<Vec<Money>, StoreError> {
        self.flush_credits()?;
        let rows = self.rows(
            "SELECT currency, available_minor FROM balances WHERE merchant_id = $1 ORDER BY currency",
            &[m.as_str().into()],
        )?;
        rows.iter()
            .map(|r| Ok(Money::new(r.int(1)?, currency(&r.text(0)?)?)))
            .collect()
    }

    pub fn append_ledger(&mut self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        for e in entries {
            self.exec(
                "INSERT INTO ledger_entries (txn_id, merchant_id, account, currency, amount_minor, kind, object_id, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    e.txn_id.as_str().into(),
                    e.merchant_id.as_str().into(),
                    e.account.as_str().into(),
                    e.amount.currency.code().into(),
                    e.amount.minor.into(),
                    e.kind.as_str().into(),
                    e.object_id.as_str().into(),
                    e.created_at.0.into(),
                ],
            )?;
        }
        Ok(())
    }

    /// The sum of a merchant's ledger entries on one account (the truth the balance table caches).
    pub fn ledger_sum(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        account: &str,
    ) -> Result<i64, StoreError> {
        let row = self.one(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM ledger_entries \
             WHERE merchant_id = $1 AND currency = $2 AND account = $3",
            &[m.as_str().into(), currency.code().into(), account.into()],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    pub fn ledger_of_object(&mut self, object_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = self.rows(
            "SELECT txn_id, merchant_id, account, currency, amount_minor, kind, object_id, created_at \
             FROM ledger_entries WHERE object_id = $1 ORDER BY id",
            &[object_id.into()],
        )?;
        rows.iter().map(entry_row).collect()
    }

    /// A merchant's statement: its entries on the available balance in `currency`, newest
    /// first, each with its id (for paging: only ids below `before`). Walks `ledger_by_merchant`
    /// in order, however long the merchant's history.
    pub fn ledger_statement(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, LedgerEntry)>, StoreError> {
        // The LIMIT is a literal, as everywhere here (a bound one makes SQLite re-prepare).
        let sql = format!(
            "SELECT txn_id, merchant_id, account, currency, amount_minor, kind, object_id, created_at, id \
             FROM ledger_entries WHERE merchant_id = $1 AND currency = $2 AND account = 'available' \
             AND id < $3 ORDER BY id DESC LIMIT {}",
            limit.max(0)
        );
        let rows = self.rows(
            &sql,
            &[
                m.as_str().into(),
                currency.code().into(),
                before.unwrap_or(i64::MAX).into(),
            ],
        )?;
        rows.iter()
            .map(|r| Ok((r.int(8)?, entry_row(r)?)))
            .collect()
    }
}

fn entry_row(r: &crate::sql::Row) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        txn_id: r.text(0)?,
        merchant_id: MerchantId(r.text(1)?),
        account: r.text(2)?,
        amount: Money::new(r.int(4)?, currency(&r.text(3)?)?),
        kind: r.text(5)?,
        object_id: r.text(6)?,
        created_at: Timestamp(r.int(7)?),
    })
}
