//! The three state machines of the core model and their legal transitions.
//!
//! Payment: created -> pending -> {succeeded, failed, expired, cancelled};
//! created may also end directly; succeeded -> partially_refunded -> refunded.
//! Payout: pending -> processing -> {succeeded, failed}; pending may also fail.
//! Refund: pending -> {succeeded, failed}.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a transition was refused: the object was in `from` and cannot move to `to`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal {kind} transition from {from} to {to}")]
pub struct TransitionError {
    pub kind: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

macro_rules! state_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case name used in storage, logs and the admin API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            fn refuse(self, to: $name) -> TransitionError {
                TransitionError { kind: $kind, from: self.as_str(), to: to.as_str() }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

state_enum!(
    /// Where a pay-in stands.
    PaymentState, "payment", {
        Created => "created",
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Expired => "expired",
        Cancelled => "cancelled",
        PartiallyRefunded => "partially_refunded",
        Refunded => "refunded",
    }
);

state_enum!(
    /// Where a payout (transfer) stands.
    PayoutState, "payout", {
        Pending => "pending",
        Processing => "processing",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

state_enum!(
    /// Where a refund stands.
    RefundState, "refund", {
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

impl PaymentState {
    /// True while the customer can still pay.
    pub fn is_open(self) -> bool {
        matches!(self, PaymentState::Created | PaymentState::Pending)
    }

    /// True once the money was received (refunds may follow).
    pub fn was_paid(self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded
        )
    }

    /// The one transition table of payments.
    pub fn transition(self, to: PaymentState) -> Result<PaymentState, TransitionError> {
        use PaymentState::*;
        let legal = matches!(
            (self, to),
            (Created, Pending)
                | (Created | Pending, Succeeded | Failed | Expired | Cancelled)
                | (Succeeded | PartiallyRefunded, PartiallyRefunded | Refunded)
        );
        if legal { Ok(to) } else { Err(self.refuse(to)) }
    }
}

impl PayoutState {
    pub fn is_final(self) -> bool {
        matches!(self, PayoutState::Succeeded | PayoutState::Failed)
    }

    /// The one transition table of payouts.
    pub fn transition(self, to: PayoutState) -> Result<PayoutState, TransitionError> {
        use PayoutState::*;
        let legal = matches!(
            (self, to),
            (Pending, Processing) | (Pending | Processing, Succeeded | Failed)
        );
        if legal { Ok(to) } else { Err(self.refuse(to)) }
    }
}

impl RefundState {
    pub fn is_final(self) -> bool {
        !matches!(self, RefundState::Pending)
    }

    /// The one transition table of refunds.
    pub fn transition(self, to: RefundState) -> Result<RefundState, TransitionError> {
        use RefundState::*;
        if matches!((self, to), (Pending, Succeeded | Failed)) {
            Ok(to)
        } else {
            Err(self.refuse(to))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payment_state() -> impl Strategy<Value = PaymentState> {
        proptest::sample::select(PaymentState::ALL)
    }
    fn payout_state() -> impl Strategy<Value = PayoutState> {
        proptest::sample::select(PayoutState::ALL)
    }

    #[test]
    fn payment_table_is_exactly_the_spec() {
        use PaymentState::*;
        let legal: &[(PaymentState, PaymentState)] = &[
            (Created, Pending),
            (Created, Succeeded),
            (Created, Failed),
            (Created, Expired),
            (Created, Cancelled),
            (Pending, Succeeded),
            (Pending, Failed),
            (Pending, Expired),
            (Pending, Cancelled),
            (Succeeded, PartiallyRefunded),
            (Succeeded, Refunded),
            (PartiallyRefunded, PartiallyRefunded),
            (PartiallyRefunded, Refunded),
        ];
        for &from in PaymentState::ALL {
            for &to in PaymentState::ALL {
                assert_eq!(
                    from.transition(to).is_ok(),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn final_payment_states_only_move_to_refunds(from in payment_state(), to in payment_state()) {
            if let Ok(next) = from.transition(to) {
                prop_assert_eq!(next, to);
                if !from.is_open() {
                    prop_assert!(from.was_paid() && to.was_paid());
                }
            }
        }

        #[test]
        fn payouts_never_leave_a_final_state(from in payout_state(), to in payout_state()) {
            if from.is_final() {
                prop_assert!(from.transition(to).is_err());
            }
        }

        #[test]
        fn state_names_round_trip(s in payment_state()) {
            prop_assert_eq!(PaymentState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn refund_table() {
        use RefundState::*;
        assert!(Pending.transition(Succeeded).is_ok());
        assert!(Pending.transition(Failed).is_ok());
        assert!(Succeeded.transition(Failed).is_err());
        assert!(Failed.transition(Succeeded).is_err());
    }
}
