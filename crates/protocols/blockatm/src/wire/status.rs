//! Status mapping of spec section 6 between BlockATM's wire values and the core state enums.

use polypay_core::{PaymentState, PayoutState};
use serde::{Deserialize, Serialize};

/// The string payment status of E2 and of payment webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    WaitingPayment,
    Pending,
    Success,
    Expired,
    Cancelled,
}

impl PaymentStatus {
    /// The E2 status of a core state (failed reads `CANCELLED`: the provider has no failed string).
    pub fn from_state(state: PaymentState) -> PaymentStatus {
        match state {
            PaymentState::Created => PaymentStatus::WaitingPayment,
            PaymentState::Pending => PaymentStatus::Pending,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
                PaymentStatus::Success
            }
            PaymentState::Expired => PaymentStatus::Expired,
            PaymentState::Failed | PaymentState::Cancelled => PaymentStatus::Cancelled,
        }
    }

    /// The webhook status of a core state; `created` is never announced.
    pub fn webhook(state: PaymentState) -> Option<PaymentStatus> {
        match state {
            PaymentState::Created => None,
            other => Some(PaymentStatus::from_state(other)),
        }
    }

    /// Provider → core (`CANCELLED` reads as cancelled).
    pub fn to_state(self) -> PaymentState {
        match self {
            PaymentStatus::WaitingPayment => PaymentState::Created,
            PaymentStatus::Pending => PaymentState::Pending,
            PaymentStatus::Success => PaymentState::Succeeded,
            PaymentStatus::Expired => PaymentState::Expired,
            PaymentStatus::Cancelled => PaymentState::Cancelled,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::WaitingPayment => "WAITING_PAYMENT",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Success => "SUCCESS",
            PaymentStatus::Expired => "EXPIRED",
            PaymentStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses the string form.
    pub fn parse(text: &str) -> Option<PaymentStatus> {
        [
            PaymentStatus::WaitingPayment,
            PaymentStatus::Pending,
            PaymentStatus::Success,
            PaymentStatus::Expired,
            PaymentStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The integer payment status of E3 (−3, −2, −1, 0, 1, 9).
pub fn payment_code(state: PaymentState) -> i32 {
    match state {
        PaymentState::Created => 0,
        PaymentState::Pending => 1,
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => 9,
        PaymentState::Failed => -2,
        PaymentState::Expired => -1,
        PaymentState::Cancelled => -3,
    }
}

/// E3 integer → core state.
pub fn payment_state_from_code(code: i64) -> Option<PaymentState> {
    Some(match code {
        0 => PaymentState::Created,
        1 => PaymentState::Pending,
        9 => PaymentState::Succeeded,
        -1 => PaymentState::Expired,
        -2 => PaymentState::Failed,
        -3 => PaymentState::Cancelled,
        _ => return None,
    })
}

/// A V1 webhook's integer status (client mode): −1 failed, 0 pending, 1 succeeded; 9 = `SUCCESS`.
pub fn payment_state_from_v1_webhook_code(code: i64) -> Option<PaymentState> {
    Some(match code {
        -1 => PaymentState::Failed,
        0 => PaymentState::Pending,
        1 | 9 => PaymentState::Succeeded,
        _ => return None,
    })
}

/// The `status` appended to `redirectURL` (7.1): final states only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectStatus {
    Success,
    Expired,
    Cancelled,
}

impl RedirectStatus {
    /// The redirect status of a final core state; open states redirect nowhere.
    pub fn from_state(state: PaymentState) -> Option<RedirectStatus> {
        match PaymentStatus::from_state(state) {
            PaymentStatus::Success => Some(RedirectStatus::Success),
            PaymentStatus::Expired => Some(RedirectStatus::Expired),
            PaymentStatus::Cancelled => Some(RedirectStatus::Cancelled),
            PaymentStatus::WaitingPayment | PaymentStatus::Pending => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RedirectStatus::Success => "SUCCESS",
            RedirectStatus::Expired => "EXPIRED",
            RedirectStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(text: &str) -> Option<RedirectStatus> {
        match text {
            "SUCCESS" => Some(RedirectStatus::Success),
            "EXPIRED" => Some(RedirectStatus::Expired),
            "CANCELLED" => Some(RedirectStatus::Cancelled),
            _ => None,
        }
    }

    /// Provider → core.
    pub fn to_state(self) -> PaymentState {
        match self {
            RedirectStatus::Success => PaymentState::Succeeded,
            RedirectStatus::Expired => PaymentState::Expired,
            RedirectStatus::Cancelled => PaymentState::Cancelled,
        }
    }
}

/// The integer payout status of E5: 0 pending, 1 success, 2 rejected, 3 locked.
pub fn payout_code(state: PayoutState) -> i32 {
    match state {
        PayoutState::Pending => 0,
        PayoutState::Succeeded => 1,
        PayoutState::Failed => 2,
        PayoutState::Processing => 3,
    }
}

/// E5 integer → core state.
pub fn payout_state_from_code(code: i64) -> Option<PayoutState> {
    Some(match code {
        0 => PayoutState::Pending,
        1 => PayoutState::Succeeded,
        2 => PayoutState::Failed,
        3 => PayoutState::Processing,
        _ => return None,
    })
}

/// The string status of payout webhooks, sent for final states only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutStatus {
    Success,
    Refuse,
}

impl PayoutStatus {
    /// The webhook status of a core payout state; non-final states send nothing.
    pub fn webhook(state: PayoutState) -> Option<PayoutStatus> {
        match state {
            PayoutState::Succeeded => Some(PayoutStatus::Success),
            PayoutState::Failed => Some(PayoutStatus::Refuse),
            PayoutState::Pending | PayoutState::Processing => None,
        }
    }

    pub fn to_state(self) -> PayoutState {
        match self {
            PayoutStatus::Success => PayoutState::Succeeded,
            PayoutStatus::Refuse => PayoutState::Failed,
        }
    }

    pub fn parse(text: &str) -> Option<PayoutStatus> {
        match text {
            "SUCCESS" => Some(PayoutStatus::Success),
            "REFUSE" => Some(PayoutStatus::Refuse),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_table_of_section_6() {
        use PaymentState::*;
        let rows = [
            (Created, "WAITING_PAYMENT", 0, None, None),
            (Pending, "PENDING", 1, Some("PENDING"), None),
            (Succeeded, "SUCCESS", 9, Some("SUCCESS"), Some("SUCCESS")),
            (
                PartiallyRefunded,
                "SUCCESS",
                9,
                Some("SUCCESS"),
                Some("SUCCESS"),
            ),
            (Refunded, "SUCCESS", 9, Some("SUCCESS"), Some("SUCCESS")),
            (
                Failed,
                "CANCELLED",
                -2,
                Some("CANCELLED"),
                Some("CANCELLED"),
            ),
            (Expired, "EXPIRED", -1, Some("EXPIRED"), Some("EXPIRED")),
            (
                Cancelled,
                "CANCELLED",
                -3,
                Some("CANCELLED"),
                Some("CANCELLED"),
            ),
        ];
        for (state, text, code, hook, redirect) in rows {
            assert_eq!(PaymentStatus::from_state(state).as_str(), text, "{state}");
            assert_eq!(payment_code(state), code, "{state}");
            assert_eq!(
                PaymentStatus::webhook(state).map(PaymentStatus::as_str),
                hook
            );
            assert_eq!(
                RedirectStatus::from_state(state).map(RedirectStatus::as_str),
                redirect
            );
        }
        assert_eq!(
            PaymentStatus::parse("CANCELLED").map(|s| s.to_state()),
            Some(Cancelled)
        );
        assert_eq!(payment_state_from_code(-2), Some(Failed));
        assert_eq!(payment_state_from_code(-3), Some(Cancelled));
        assert_eq!(payment_state_from_code(2), None);
        assert_eq!(payment_state_from_v1_webhook_code(-1), Some(Failed));
        assert_eq!(payment_state_from_v1_webhook_code(9), Some(Succeeded));
    }

    #[test]
    fn payout_table_of_section_6() {
        use PayoutState::*;
        for (state, code) in [(Pending, 0), (Processing, 3), (Succeeded, 1), (Failed, 2)] {
            assert_eq!(payout_code(state), code);
            assert_eq!(payout_state_from_code(i64::from(code)), Some(state));
        }
        assert_eq!(
            PayoutStatus::webhook(Succeeded),
            Some(PayoutStatus::Success)
        );
        assert_eq!(PayoutStatus::webhook(Failed), Some(PayoutStatus::Refuse));
        assert_eq!(PayoutStatus::webhook(Processing), None);
        assert_eq!(
            serde_json::to_string(&PayoutStatus::Refuse).unwrap(),
            "\"REFUSE\""
        );
    }
}
