//! Engine outcomes as §4 envelopes. Anything unexpected becomes SYSTEM_ERROR with no detail in
//! the body; the cause goes to the log (engine and store errors carry no secrets).

use crate::envelope::ApiError;
use polypay_core::CoreError;
use polypay_engine::EngineError;

/// 500 SYSTEM_ERROR, logged.
pub(crate) fn internal(e: &EngineError) -> ApiError {
    tracing::error!(error = %e, "v2sha256: engine failure");
    ApiError::internal()
}

/// NOT_FOUND `<object> not found` for a missing object, else [`internal`].
pub(crate) fn lookup(e: EngineError, object: &str) -> ApiError {
    match e {
        EngineError::NotFound(_) => ApiError::object_not_found(object),
        other => internal(&other),
    }
}

/// refund/create: the §4 rows a refund can hit.
pub(crate) fn refund(e: EngineError) -> ApiError {
    match e {
        EngineError::DuplicateRefund(_) => ApiError::duplicate_trade_no(),
        EngineError::InsufficientBalance { .. } => ApiError::insufficient_balance(),
        EngineError::Rule(CoreError::RefundExceeds { .. }) => {
            ApiError::param("amount", "exceeds the refundable amount")
        }
        EngineError::Rule(CoreError::Transition(_)) => ApiError::refund_not_allowed(),
        EngineError::Rule(CoreError::NonPositiveAmount) => {
            ApiError::param("amount", "must be greater than 0")
        }
        EngineError::Rule(CoreError::Money(_)) => {
            ApiError::param("amount", "does not match the payment's currency")
        }
        EngineError::NotFound(_) => ApiError::object_not_found("payment"),
        other => internal(&other),
    }
}

/// payout/create: duplicate, short balance, or internal.
pub(crate) fn payout(e: EngineError) -> ApiError {
    match e {
        EngineError::DuplicatePayout(_) => ApiError::duplicate_trade_no(),
        EngineError::InsufficientBalance { .. } => ApiError::insufficient_balance(),
        EngineError::Rule(CoreError::NonPositiveAmount) => {
            ApiError::param("amount", "must be greater than 0")
        }
        other => internal(&other),
    }
}

/// payment/create: duplicate, or internal.
pub(crate) fn payment(e: EngineError) -> ApiError {
    match e {
        EngineError::DuplicatePayment(_) => ApiError::duplicate_trade_no(),
        EngineError::NonceReused => ApiError::nonce_reused(),
        EngineError::Rule(CoreError::NonPositiveAmount) => {
            ApiError::param("amount", "must be greater than 0")
        }
        other => internal(&other),
    }
}
