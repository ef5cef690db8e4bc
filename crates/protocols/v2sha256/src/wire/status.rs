//! The `status` values of §6 and their mapping to and from the core state enums.

use polypay_core::{PaymentState, PayoutState, RefundState};
use serde::{Deserialize, Serialize};

/// Payment `status` (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    Closed,
    Refunded,
    PartiallyRefunded,
}

/// Payout `status` (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutStatus {
    Pending,
    Processing,
    Paid,
    Failed,
}

/// Refund `status` (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Pending,
    Refunded,
    Failed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::Pending,
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Closed,
        PaymentStatus::Refunded,
        PaymentStatus::PartiallyRefunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Expired => "EXPIRED",
            PaymentStatus::Closed => "CLOSED",
            PaymentStatus::Refunded => "REFUNDED",
            PaymentStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Core -> wire; `created` and `pending` both show as PENDING.
    pub fn from_core(state: PaymentState) -> PaymentStatus {
        match state {
            PaymentState::Created | PaymentState::Pending => PaymentStatus::Pending,
            PaymentState::Succeeded => PaymentStatus::Paid,
            PaymentState::Failed => PaymentStatus::Failed,
            PaymentState::Expired => PaymentStatus::Expired,
            PaymentState::Cancelled => PaymentStatus::Closed,
            PaymentState::Refunded => PaymentStatus::Refunded,
            PaymentState::PartiallyRefunded => PaymentStatus::PartiallyRefunded,
        }
    }

    /// Wire -> core; PENDING maps to `pending` (a client cannot tell `created` apart).
    pub fn to_core(self) -> PaymentState {
        match self {
            PaymentStatus::Pending => PaymentState::Pending,
            PaymentStatus::Paid => PaymentState::Succeeded,
            PaymentStatus::Failed => PaymentState::Failed,
            PaymentStatus::Expired => PaymentState::Expired,
            PaymentStatus::Closed => PaymentState::Cancelled,
            PaymentStatus::Refunded => PaymentState::Refunded,
            PaymentStatus::PartiallyRefunded => PaymentState::PartiallyRefunded,
        }
    }
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "PENDING",
            PayoutStatus::Processing => "PROCESSING",
            PayoutStatus::Paid => "PAID",
            PayoutStatus::Failed => "FAILED",
        }
    }

    pub fn from_core(state: PayoutState) -> PayoutStatus {
        match state {
            PayoutState::Pending => PayoutStatus::Pending,
            PayoutState::Processing => PayoutStatus::Processing,
            PayoutState::Succeeded => PayoutStatus::Paid,
            PayoutState::Failed => PayoutStatus::Failed,
        }
    }

    pub fn to_core(self) -> PayoutState {
        match self {
            PayoutStatus::Pending => PayoutState::Pending,
            PayoutStatus::Processing => PayoutState::Processing,
            PayoutStatus::Paid => PayoutState::Succeeded,
            PayoutStatus::Failed => PayoutState::Failed,
        }
    }
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "PENDING",
            RefundStatus::Refunded => "REFUNDED",
            RefundStatus::Failed => "FAILED",
        }
    }

    pub fn from_core(state: RefundState) -> RefundStatus {
        match state {
            RefundState::Pending => RefundStatus::Pending,
            RefundState::Succeeded => RefundStatus::Refunded,
            RefundState::Failed => RefundStatus::Failed,
        }
    }

    pub fn to_core(self) -> RefundState {
        match self {
            RefundStatus::Pending => RefundState::Pending,
            RefundStatus::Refunded => RefundState::Succeeded,
            RefundStatus::Failed => RefundState::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_table_of_section_6() {
        let rows = [
            (PaymentState::Created, "PENDING"),
            (PaymentState::Pending, "PENDING"),
            (PaymentState::Succeeded, "PAID"),
            (PaymentState::Failed, "FAILED"),
            (PaymentState::Expired, "EXPIRED"),
            (PaymentState::Cancelled, "CLOSED"),
            (PaymentState::Refunded, "REFUNDED"),
            (PaymentState::PartiallyRefunded, "PARTIALLY_REFUNDED"),
        ];
        for (core, wire) in rows {
            let status = PaymentStatus::from_core(core);
            assert_eq!(status.as_str(), wire);
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{wire}\"")
            );
            let back = if core == PaymentState::Created {
                PaymentState::Pending
            } else {
                core
            };
            assert_eq!(status.to_core(), back);
        }
    }

    #[test]
    fn payout_and_refund_tables_of_section_6() {
        let payouts = [
            (PayoutState::Pending, "PENDING"),
            (PayoutState::Processing, "PROCESSING"),
            (PayoutState::Succeeded, "PAID"),
            (PayoutState::Failed, "FAILED"),
        ];
        for (core, wire) in payouts {
            let status = PayoutStatus::from_core(core);
            assert_eq!((status.as_str(), status.to_core()), (wire, core));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{wire}\"")
            );
        }
        let refunds = [
            (RefundState::Pending, "PENDING"),
            (RefundState::Succeeded, "REFUNDED"),
            (RefundState::Failed, "FAILED"),
        ];
        for (core, wire) in refunds {
            let status = RefundStatus::from_core(core);
            assert_eq!((status.as_str(), status.to_core()), (wire, core));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{wire}\"")
            );
        }
    }
}
