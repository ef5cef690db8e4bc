//! The core's error type: illegal transitions and money rule violations.

use crate::money::MoneyError;
use crate::state::TransitionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("refund of {requested} exceeds the refundable {refundable}")]
    RefundExceeds { requested: i64, refundable: i64 },
    #[error("amount must be positive")]
    NonPositiveAmount,
    /// A balance holds at most `i64::MAX` minor units; a credit beyond that is refused whole.
    #[error("the merchant's {currency} balance cannot hold this amount")]
    BalanceLimit { currency: String },
}
