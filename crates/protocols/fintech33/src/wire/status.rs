//! 33 Fintech order `status` / `outcome` values and their mapping to the core states (§6).

use polypay_core::state::{PaymentState, RefundState};
use serde::{Deserialize, Serialize};

/// Every value of the provider's list; polypay emits only the first nine (see [`order_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    New,
    Processing,
    Paid,
    Failed,
    Expired,
    Cancelled,
    RefundRequest,
    RefundCompleted,
    RefundFailed,
    RefundSubmitted,
    RefundResubmitted,
    RefundInProgress,
    RefundFailToSubmit,
    RefundSubmittedError,
    RefundOffsetDealFailed,
    Chargeback,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "New",
            OrderStatus::Processing => "Processing",
            OrderStatus::Paid => "Paid",
            OrderStatus::Failed => "Failed",
            OrderStatus::Expired => "Expired",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::RefundRequest => "RefundRequest",
            OrderStatus::RefundCompleted => "RefundCompleted",
            OrderStatus::RefundFailed => "RefundFailed",
            OrderStatus::RefundSubmitted => "RefundSubmitted",
            OrderStatus::RefundResubmitted => "RefundResubmitted",
            OrderStatus::RefundInProgress => "RefundInProgress",
            OrderStatus::RefundFailToSubmit => "RefundFailToSubmit",
            OrderStatus::RefundSubmittedError => "RefundSubmittedError",
            OrderStatus::RefundOffsetDealFailed => "RefundOffsetDealFailed",
            OrderStatus::Chargeback => "Chargeback",
        }
    }

    /// Whether a change into this status sends a webhook (§7: every change except creation).
    pub fn is_notified(self) -> bool {
        self != OrderStatus::New
    }
}

/// The status polypay reports for a payment and its latest refund (if any).
/// `None` for partially refunded: 33 Fintech only does full refunds, so it never happens.
pub fn order_status(
    payment: PaymentState,
    last_refund: Option<RefundState>,
) -> Option<OrderStatus> {
    Some(match (payment, last_refund) {
        (PaymentState::Created, _) => OrderStatus::New,
        (PaymentState::Pending, _) => OrderStatus::Processing,
        (PaymentState::Failed, _) => OrderStatus::Failed,
        (PaymentState::Expired, _) => OrderStatus::Expired,
        (PaymentState::Cancelled, _) => OrderStatus::Cancelled,
        (PaymentState::Succeeded, None) => OrderStatus::Paid,
        (PaymentState::Succeeded, Some(RefundState::Pending)) => OrderStatus::RefundRequest,
        (PaymentState::Succeeded, Some(RefundState::Failed)) => OrderStatus::RefundFailed,
        // A succeeded refund moves the payment to refunded; if the two are read apart, the
        // refund's outcome is the newer fact.
        (PaymentState::Succeeded, Some(RefundState::Succeeded)) => OrderStatus::RefundCompleted,
        (PaymentState::Refunded, _) => OrderStatus::RefundCompleted,
        (PaymentState::PartiallyRefunded, _) => return None,
    })
}

/// The core reading of a provider value: payment state plus the state of the latest refund.
pub fn core_states(status: OrderStatus) -> (PaymentState, Option<RefundState>) {
    use OrderStatus as S;
    match status {
        S::New => (PaymentState::Created, None),
        S::Processing => (PaymentState::Pending, None),
        S::Paid => (PaymentState::Succeeded, None),
        S::Failed => (PaymentState::Failed, None),
        S::Expired => (PaymentState::Expired, None),
        S::Cancelled => (PaymentState::Cancelled, None),
        S::RefundRequest | S::RefundSubmitted | S::RefundResubmitted | S::RefundInProgress => {
            (PaymentState::Succeeded, Some(RefundState::Pending))
        }
        S::RefundFailToSubmit
        | S::RefundSubmittedError
        | S::RefundFailed
        | S::RefundOffsetDealFailed => (PaymentState::Succeeded, Some(RefundState::Failed)),
        S::RefundCompleted => (PaymentState::Refunded, Some(RefundState::Succeeded)),
        // A chargeback returns the money to the payer outside a refund request.
        S::Chargeback => (PaymentState::Refunded, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_mapping_matches_section_6() {
        use PaymentState as P;
        let cases = [
            (P::Created, None, Some("New")),
            (P::Pending, None, Some("Processing")),
            (P::Succeeded, None, Some("Paid")),
            (P::Failed, None, Some("Failed")),
            (P::Expired, None, Some("Expired")),
            (P::Cancelled, None, Some("Cancelled")),
            (
                P::Succeeded,
                Some(RefundState::Pending),
                Some("RefundRequest"),
            ),
            (
                P::Refunded,
                Some(RefundState::Succeeded),
                Some("RefundCompleted"),
            ),
            (
                P::Succeeded,
                Some(RefundState::Failed),
                Some("RefundFailed"),
            ),
            (P::PartiallyRefunded, Some(RefundState::Succeeded), None),
        ];
        for (p, r, want) in cases {
            assert_eq!(
                order_status(p, r).map(OrderStatus::as_str),
                want,
                "{p:?} {r:?}"
            );
        }
    }

    #[test]
    fn reverse_mapping_round_trips_emitted_values() {
        for s in [
            OrderStatus::New,
            OrderStatus::Processing,
            OrderStatus::Paid,
            OrderStatus::Failed,
            OrderStatus::Expired,
            OrderStatus::Cancelled,
            OrderStatus::RefundRequest,
            OrderStatus::RefundCompleted,
            OrderStatus::RefundFailed,
        ] {
            let (p, r) = core_states(s);
            assert_eq!(order_status(p, r), Some(s));
        }
        assert_eq!(
            core_states(OrderStatus::RefundOffsetDealFailed),
            (PaymentState::Succeeded, Some(RefundState::Failed))
        );
        assert_eq!(
            core_states(OrderStatus::Chargeback).0,
            PaymentState::Refunded
        );
    }

    #[test]
    fn serde_names_are_the_provider_spelling() {
        assert_eq!(
            serde_json::to_string(&OrderStatus::RefundRequest).unwrap(),
            "\"RefundRequest\""
        );
        let s: OrderStatus = serde_json::from_str("\"RefundSubmittedError\"").unwrap();
        assert_eq!(s.as_str(), "RefundSubmittedError");
    }
}
