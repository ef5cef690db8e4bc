//! Balances and the double-entry ledger.

use super::{Db, Delta, currency};
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
    /// Adds `minor` (which may be negative) to the merchant's available balance, whatever the
    /// balance (no overdraft check), unless the sum would leave `i64`:
    /// [`StoreError::BalanceLimit`].
    ///
    /// In a write job the credit is staged for the batch and applied, summed with the batch's
    /// other changes of that balance, just before COMMIT ([`Staged`](super::Staged)); inside
    /// the transaction nothing can tell the difference. Staged, only the batch's own sum is
    /// checked here, unless the staging is bounded (the run after a flush that hit the limit),
    /// which checks it against the balance row too.
    pub fn credit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<(), StoreError> {
        if let Some(staged) = self.staged.as_deref() {
            let key = (m.as_str().to_string(), currency.code());
            let limit = || StoreError::BalanceLimit(currency.code().into());
            let committed = match (staged.bounded, staged.rows.get(&key)) {
                (false, _) => None,
                (
                    true,
                    Some(Delta {
                        committed: Some(c), ..
                    }),
                ) => Some(*c),
                (true, _) => Some(self.committed_balance(&key.0, key.1)?),
            };
            let Some(staged) = self.staged.as_deref_mut() else {
                return Err(StoreError::Corrupt(
                    "staged balance changes vanished".into(),
                ));
            };
            let delta = staged.rows.entry(key).or_default();
            let net = delta.net.checked_add(minor).ok_or_else(limit)?;
            if let Some(c) = committed {
                c.checked_add(net).ok_or_else(limit)?;
                delta.committed = Some(c);
            }
            delta.net = net;
            self.changed = true;
            return Ok(());
        }
        self.apply_credit(m.as_str(), currency.code(), minor)
    }

    /// Adds `minor` to the balance row unless the sum would leave `i64` (which PostgreSQL
    /// refuses as an error and SQLite would store as a float): then nothing is written and the
    /// answer is [`StoreError::BalanceLimit`]. The bound is computed here, so the statement
    /// itself never overflows.
    fn apply_credit(&mut self, m: &str, currency: &str, minor: i64) -> Result<(), StoreError> {
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

    /// Applies one balance row's staged change. With no debit among it (or none the batch's
    /// own credits did not cover) it is a credit; else the row must still hold what the
    /// debits were approved against, checked in the same statement.
    pub(super) fn apply_delta(
        &mut self,
        m: &str,
        currency: &'static str,
        delta: super::Delta,
    ) -> Result<(), StoreError> {
        let Some(low) = delta.low.filter(|low| *low < 0) else {
            return self.apply_credit(m, currency, delta.net);
        };
        let upper = if delta.net > 0 {
            i64::MAX - delta.net
        } else {
            i64::MAX
        };
        let n = self.exec(
            "UPDATE balances SET available_minor = available_minor + $3 \
             WHERE merchant_id = $1 AND currency = $2 AND available_minor >= $4 AND available_minor <= $5",
            &[
                m.into(),
                currency.into(),
                delta.net.into(),
                (-low).into(),
                upper.into(),
            ],
        )?;
        if n == 0 {
            let available = self.committed_balance(m, currency)?;
            if available >= -low {
                return Err(StoreError::BalanceLimit(currency.into()));
            }
            return Err(StoreError::Retryable(format!(
                "a {currency} balance was debited by another transaction since this batch's debits were approved"
            )));
        }
        Ok(())
    }

    /// Takes `minor` from the available balance only if it covers it; `false` (and no change) if not.
    /// Alone in its transaction, one conditional UPDATE, so two concurrent debits can never
    /// overdraw. In a batch, the debit is staged against the balance as last committed plus
    /// the batch's staged changes, and applied with them just before COMMIT, on the condition
    /// that the balance still covers it ([`Db::flush_staged`]).
    pub fn try_debit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<bool, StoreError> {
        let key = (m.as_str().to_string(), currency.code());
        if let Some(staged) = self.staged.as_deref()
            && staged.debits
        {
            let before = staged.rows.get(&key).copied().unwrap_or_default();
            let committed = self.committed_balance(&key.0, key.1)?;
            let available = committed.saturating_add(before.net);
            if available < minor {
                return Ok(false);
            }
            let after = before.net - minor;
            let delta = self
                .staged
                .as_deref_mut()
                .map(|s| s.rows.entry(key).or_default());
            if let Some(delta) = delta {
                delta.net = after;
                delta.low = Some(delta.low.map_or(after, |low| low.min(after)));
            }
            self.changed = true;
            return Ok(true);
        }
        self.flush_staged()?;
        let n = self.exec(
            "UPDATE balances SET available_minor = available_minor - $3 \
             WHERE merchant_id = $1 AND currency = $2 AND available_minor >= $3",
            &[m.as_str().into(), currency.code().into(), minor.into()],
        )?;
        Ok(n == 1)
    }

    /// The available balance, with what this batch staged for it.
    pub fn balance(&mut self, m: &MerchantId, currency: Currency) -> Result<i64, StoreError> {
        let committed = self.committed_balance(m.as_str(), currency.code())?;
        let staged = self
            .staged
            .as_deref()
            .and_then(|s| s.rows.get(&(m.as_str().to_string(), currency.code())))
            .map_or(0, |d| d.net);
        Ok(committed.saturating_add(staged))
    }

    /// The balance row as this transaction sees it (without the batch's staged changes).
    fn committed_balance(&mut self, m: &str, currency: &str) -> Result<i64, StoreError> {
        let row = self.one(
            "SELECT available_minor FROM balances WHERE merchant_id = $1 AND currency = $2",
            &[m.into(), currency.into()],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    /// Every currency the merchant has a balance in (with what this batch staged).
    pub fn balances(&mut self, m: &MerchantId) -> Result<Vec<Money>, StoreError> {
        let rows = self.rows(
            "SELECT currency, available_minor FROM balances WHERE merchant_id = $1 ORDER BY currency",
            &[m.as_str().into()],
        )?;
        let mut out = std::collections::BTreeMap::new();
        for r in &rows {
            out.insert(currency(&r.text(0)?)?.code(), r.int(1)?);
        }
        if let Some(staged) = self.staged.as_deref() {
            for ((merchant, code), delta) in &staged.rows {
                if merchant == m.as_str() {
                    let v = out.entry(*code).or_insert(0);
                    *v = v.saturating_add(delta.net);
                }
            }
        }
        out.into_iter()
            .map(|(code, minor)| Ok(Money::new(minor, currency(code)?)))
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
