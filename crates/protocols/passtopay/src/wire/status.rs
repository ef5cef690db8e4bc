//! Spec 6: state codes polypay emits for core states, and how received codes are read.
//! The two directions are deliberately not inverses (e.g. 5 is emitted for refunded but read as
//! refunded; 6 is emitted for cancelled and expired but read as expired).

use polypay_core::{PaymentState, PayoutState, RefundState};

/// The payment `state`/`orderState` polypay emits.
pub fn payment_state_code(state: PaymentState) -> i64 {
    match state {
        PaymentState::Created => 0,
        PaymentState::Pending => 1,
        PaymentState::Succeeded | PaymentState::PartiallyRefunded => 2,
        PaymentState::Failed => 3,
        PaymentState::Cancelled | PaymentState::Expired => 6,
        PaymentState::Refunded => 5,
    }
}

/// How a received payment state code is read (client mode); unknown codes → `None`.
pub fn payment_state_from_code(code: i64) -> Option<PaymentState> {
    Some(match code {
        0 => PaymentState::Created,
        1 => PaymentState::Pending,
        2 => PaymentState::Succeeded,
        3 => PaymentState::Failed,
        4 => PaymentState::Cancelled,
        5 => PaymentState::Refunded,
        6 => PaymentState::Expired,
        _ => return None,
    })
}

/// The transfer `state` polypay emits.
pub fn payout_state_code(state: PayoutState) -> i64 {
    match state {
        PayoutState::Pending => 0,
        PayoutState::Processing => 1,
        PayoutState::Succeeded => 2,
        PayoutState::Failed => 3,
    }
}

/// How a received transfer state is read; 4 (closed) counts as failed.
pub fn payout_state_from_code(code: i64) -> Option<PayoutState> {
    Some(match code {
        0 => PayoutState::Pending,
        1 => PayoutState::Processing,
        2 => PayoutState::Succeeded,
        3 | 4 => PayoutState::Failed,
        _ => return None,
    })
}

/// The refund `state` polypay emits.
pub fn refund_state_code(state: RefundState) -> i64 {
    match state {
        RefundState::Pending => 1,
        RefundState::Succeeded => 2,
        RefundState::Failed => 3,
    }
}

/// How a received refund state is read; 0 is pending too, 4 (closed) failed.
pub fn refund_state_from_code(code: i64) -> Option<RefundState> {
    Some(match code {
        0 | 1 => RefundState::Pending,
        2 => RefundState::Succeeded,
        3 | 4 => RefundState::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_mapping_table() {
        let emitted: Vec<i64> = PaymentState::ALL
            .iter()
            .map(|s| payment_state_code(*s))
            .collect();
        // created, pending, succeeded, failed, expired, cancelled, partially_refunded, refunded
        assert_eq!(emitted, [0, 1, 2, 3, 6, 6, 2, 5]);
        assert_eq!(payment_state_from_code(4), Some(PaymentState::Cancelled));
        assert_eq!(payment_state_from_code(5), Some(PaymentState::Refunded));
        assert_eq!(payment_state_from_code(6), Some(PaymentState::Expired));
        assert_eq!(payment_state_from_code(7), None);
    }

    #[test]
    fn payout_and_refund_mapping() {
        assert_eq!(payout_state_code(PayoutState::Processing), 1);
        assert_eq!(payout_state_from_code(4), Some(PayoutState::Failed));
        assert_eq!(refund_state_code(RefundState::Pending), 1);
        assert_eq!(refund_state_from_code(0), Some(RefundState::Pending));
        assert_eq!(refund_state_from_code(4), Some(RefundState::Failed));
        assert_eq!(refund_state_from_code(5), None);
    }
}
