//! The status mapping of spec §6 between core states and OTT's status strings, both directions.

use polypay_core::{PaymentState, RefundState};

/// STATUS_QUERY `order_status` of a payment.
pub fn status_query_status(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Created | PaymentState::Pending => "PROCESSING",
        PaymentState::Succeeded => "SUCCESS",
        PaymentState::Failed => "FAIL",
        PaymentState::Expired | PaymentState::Cancelled => "ORDERCLOSE",
        PaymentState::Refunded => "REFUND",
        PaymentState::PartiallyRefunded => "PARTIAL_REFUND",
    }
}

/// PREPAY_QUERY `status` of a payment: refunds do not show, a paid order stays `SUCCESS`.
pub fn prepay_query_status(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Created | PaymentState::Pending => "PROCESSING",
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
            "SUCCESS"
        }
        PaymentState::Failed | PaymentState::Expired | PaymentState::Cancelled => "ORDERCLOSE",
    }
}

/// The redirect `trade_status` of a PREPAY payment that ended on the cashier; `None` while open.
pub fn redirect_trade_status(state: PaymentState) -> Option<&'static str> {
    match state {
        PaymentState::Succeeded => Some("Trade_Finished"),
        PaymentState::Failed => Some("Trade_Failed"),
        PaymentState::Expired | PaymentState::Cancelled => Some("Trade_Closed"),
        _ => None,
    }
}

/// Refund `order_status` (STATUS_QUERY and REFUND).
pub fn refund_status(state: RefundState) -> &'static str {
    match state {
        RefundState::Pending => "PROCESSING",
        RefundState::Succeeded => "SUCCESS",
        RefundState::Failed => "FAIL",
    }
}

/// Reverse of [`status_query_status`]: `ORDERCLOSE` reads as expired.
pub fn payment_state_from_status_query(status: &str) -> Option<PaymentState> {
    Some(match status {
        "SUCCESS" => PaymentState::Succeeded,
        "PROCESSING" => PaymentState::Pending,
        "FAIL" => PaymentState::Failed,
        "ORDERCLOSE" => PaymentState::Expired,
        "REFUND" => PaymentState::Refunded,
        "PARTIAL_REFUND" => PaymentState::PartiallyRefunded,
        _ => return None,
    })
}

/// Reverse of [`prepay_query_status`]: `ORDERCLOSE` reads as failed (the docs: "payment fail").
pub fn payment_state_from_prepay_query(status: &str) -> Option<PaymentState> {
    match status {
        "ORDERCLOSE" => Some(PaymentState::Failed),
        "SUCCESS" | "PROCESSING" | "FAIL" => payment_state_from_status_query(status),
        _ => None,
    }
}

/// Reverse of [`redirect_trade_status`]. The spec lists only `Trade_Finished`; polypay's own
/// failure values map back to failed and (lossily, for cancelled) expired.
pub fn payment_state_from_trade_status(status: &str) -> Option<PaymentState> {
    match status {
        "Trade_Finished" => Some(PaymentState::Succeeded),
        "Trade_Failed" => Some(PaymentState::Failed),
        "Trade_Closed" => Some(PaymentState::Expired),
        _ => None,
    }
}

/// Reverse of [`refund_status`].
pub fn refund_state_from_status(status: &str) -> Option<RefundState> {
    match status {
        "PROCESSING" => Some(RefundState::Pending),
        "SUCCESS" => Some(RefundState::Succeeded),
        "FAIL" => Some(RefundState::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_table_of_section_6() {
        use PaymentState::*;
        let table = [
            (Created, "PROCESSING", "PROCESSING", None),
            (Pending, "PROCESSING", "PROCESSING", None),
            (Succeeded, "SUCCESS", "SUCCESS", Some("Trade_Finished")),
            (Failed, "FAIL", "ORDERCLOSE", Some("Trade_Failed")),
            (Expired, "ORDERCLOSE", "ORDERCLOSE", Some("Trade_Closed")),
            (Cancelled, "ORDERCLOSE", "ORDERCLOSE", Some("Trade_Closed")),
            (Refunded, "REFUND", "SUCCESS", None),
            (PartiallyRefunded, "PARTIAL_REFUND", "SUCCESS", None),
        ];
        assert_eq!(table.len(), PaymentState::ALL.len());
        for (state, query, prepay, redirect) in table {
            assert_eq!(status_query_status(state), query, "{state}");
            assert_eq!(prepay_query_status(state), prepay, "{state}");
            assert_eq!(redirect_trade_status(state), redirect, "{state}");
        }
    }

    #[test]
    fn refund_table_round_trips() {
        for state in RefundState::ALL {
            assert_eq!(
                refund_state_from_status(refund_status(*state)),
                Some(*state)
            );
        }
        assert_eq!(refund_state_from_status("REFUND"), None);
    }

    #[test]
    fn reverse_mapping_of_section_6() {
        use PaymentState::*;
        let query = [
            ("SUCCESS", Succeeded),
            ("PROCESSING", Pending),
            ("FAIL", Failed),
            ("ORDERCLOSE", Expired),
            ("REFUND", Refunded),
            ("PARTIAL_REFUND", PartiallyRefunded),
        ];
        for (text, state) in query {
            assert_eq!(payment_state_from_status_query(text), Some(state));
        }
        assert_eq!(payment_state_from_prepay_query("ORDERCLOSE"), Some(Failed));
        assert_eq!(payment_state_from_prepay_query("SUCCESS"), Some(Succeeded));
        assert_eq!(payment_state_from_prepay_query("REFUND"), None);
        assert_eq!(
            payment_state_from_trade_status("Trade_Finished"),
            Some(Succeeded)
        );
        assert_eq!(payment_state_from_status_query("success"), None);
    }
}
