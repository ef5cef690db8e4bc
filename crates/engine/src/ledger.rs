//! Double-entry postings: each money movement is two entries that sum to zero, plus the
//! matching change of the cached available balance, written in the caller's transaction.

use crate::error::EngineError;
use polypay_core::{MerchantId, Money, Timestamp};
use polypay_store::{Db, LedgerEntry};

/// The merchant's spendable account.
pub const AVAILABLE: &str = "available";

/// Moves `amount` between the merchant's available account and `counter` (positive = into available).
pub fn post(
    db: &mut Db<'_>,
    merchant: &MerchantId,
    counter: &str,
    amount: Money,
    kind: &str,
    object_id: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    let txn_id = format!("{kind}:{object_id}:{}", now.0);
    let negated = Money::new(-amount.minor, amount.currency);
    let entry = |account: &str, amount: Money| LedgerEntry {
        txn_id: txn_id.clone(),
        merchant_id: merchant.clone(),
        account: account.to_string(),
        amount,
        kind: kind.to_string(),
        object_id: object_id.to_string(),
        created_at: now,
    };
    db.append_ledger(&[entry(AVAILABLE, amount), entry(counter, negated)])?;
    Ok(())
}

/// Credits the available balance and posts the entries.
pub fn credit(
    db: &mut Db<'_>,
    merchant: &MerchantId,
    counter: &str,
    amount: Money,
    kind: &str,
    object_id: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    db.credit(merchant, amount.currency, amount.minor)?;
    post(db, merchant, counter, amount, kind, object_id, now)
}

/// Debits the available balance if it covers `amount`, and posts the entries; otherwise
/// [`EngineError::InsufficientBalance`] and nothing is written.
pub fn debit(
    db: &mut Db<'_>,
    merchant: &MerchantId,
    counter: &str,
    amount: Money,
    kind: &str,
    object_id: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    if !db.try_debit(merchant, amount.currency, amount.minor)? {
        let available = db.balance(merchant, amount.currency)?;
        return Err(EngineError::InsufficientBalance {
            available,
            requested: amount.minor,
        });
    }
    post(
        db,
        merchant,
        counter,
        Money::new(-amount.minor, amount.currency),
        kind,
        object_id,
        now,
    )
}
