//! The engine's error type: typed business outcomes the protocols render in their own envelopes.

use polypay_core::{CoreError, Payment, Payout, Refund};
use polypay_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The merchant already has a payment with this order number; nothing new was written.
    #[error("duplicate merchant order number")]
    DuplicatePayment(Box<Payment>),
    /// Another payment already has this public id (a protocol that lets the merchant choose
    /// it, such as OTT Pay's `order_id`, or a generated one drawn twice); nothing was written.
    #[error("duplicate payment public id")]
    DuplicatePublicId,
    #[error("duplicate merchant order number")]
    DuplicatePayout(Box<Payout>),
    #[error("duplicate merchant refund number")]
    DuplicateRefund(Box<Refund>),
    #[error("insufficient balance: {available} available, {requested} requested")]
    InsufficientBalance { available: i64, requested: i64 },
    #[error("another refund of this payment is in progress")]
    RefundInProgress,
    /// The request's nonce was already claimed (a replay); nothing was written.
    #[error("nonce already used")]
    NonceReused,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is malformed; the message says what is wrong and is safe to show.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Rule(#[from] CoreError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    /// A balance past its limit is a rule the request broke, not a failure of the store: the
    /// sweeps pass over it as over any other rule, and the front doors say what it is.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BalanceLimit(currency) => {
                EngineError::Rule(CoreError::BalanceLimit { currency })
            }
            other => EngineError::Store(other),
        }
    }
}
