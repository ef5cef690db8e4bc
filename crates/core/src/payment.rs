//! A pay-in: what the customer owes the merchant, and the pure transitions that move it.

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::id::{MerchantId, PaymentId};
use crate::merchant::Protocol;
use crate::money::Money;
use crate::state::PaymentState;
use serde::{Deserialize, Serialize};

/// A payment as the core knows it. Protocol-specific fields travel in `attrs`, opaque here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    /// The merchant's order number, unique per merchant among payments.
    pub merchant_order_no: String,
    /// The provider-style id the protocol shows the merchant (`P…`, a sequence number, …); unique.
    pub public_id: String,
    pub amount: Money,
    pub state: PaymentState,
    /// Minor units refunded successfully so far.
    pub refunded_minor: i64,
    /// Minor units held by refunds still pending.
    pub refund_pending_minor: i64,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    /// The unguessable token of the hosted cashier page for this payment.
    pub cashier_token: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub channel_order_no: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attrs: serde_json::Value,
}

/// What can happen to a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentCommand {
    /// The customer opened the cashier page.
    Open,
    Succeed {
        channel_order_no: String,
    },
    Fail {
        code: String,
        message: String,
    },
    Cancel,
    Expire,
}

impl PaymentCommand {
    pub fn target(&self) -> PaymentState {
        match self {
            PaymentCommand::Open => PaymentState::Pending,
            PaymentCommand::Succeed { .. } => PaymentState::Succeeded,
            PaymentCommand::Fail { .. } => PaymentState::Failed,
            PaymentCommand::Cancel => PaymentState::Cancelled,
            PaymentCommand::Expire => PaymentState::Expired,
        }
    }
}

impl Payment {
    /// Applies a command at `now`, returning the payment it becomes (self is untouched).
    pub fn apply(&self, cmd: &PaymentCommand, now: Timestamp) -> Result<Payment, CoreError> {
        let mut next = self.clone();
        next.state = self.state.transition(cmd.target())?;
        next.updated_at = now;
        match cmd {
            PaymentCommand::Open => {}
            PaymentCommand::Succeed { channel_order_no } => {
                next.channel_order_no = Some(channel_order_no.clone());
                next.finished_at = Some(now);
            }
            PaymentCommand::Fail { code, message } => {
                next.error_code = Some(code.clone());
                next.error_message = Some(message.clone());
                next.finished_at = Some(now);
            }
            PaymentCommand::Cancel | PaymentCommand::Expire => next.finished_at = Some(now),
        }
        Ok(next)
    }

    /// Minor units that can still be refunded (paid, minus refunded, minus refunds in flight).
    pub fn refundable_minor(&self) -> i64 {
        if !self.state.was_paid() {
            return 0;
        }
        self.amount.minor - self.refunded_minor - self.refund_pending_minor
    }

    /// Reserves `minor` for a new pending refund.
    pub fn hold_refund(&self, minor: i64, now: Timestamp) -> Result<Payment, CoreError> {
        if minor <= 0 {
            return Err(CoreError::NonPositiveAmount);
        }
        if !matches!(
            self.state,
            crate::PaymentState::Succeeded | crate::PaymentState::PartiallyRefunded
        ) {
            let refused = crate::TransitionError {
                kind: "payment",
                from: self.state.as_str(),
                to: PaymentState::PartiallyRefunded.as_str(),
            };
            return Err(refused.into());
        }
        let refundable = self.refundable_minor();
        if minor > refundable {
            return Err(CoreError::RefundExceeds {
                requested: minor,
                refundable,
            });
        }
        let mut next = self.clone();
        next.refund_pending_minor += minor;
        next.updated_at = now;
        Ok(next)
    }

    /// Settles a pending refund of `minor`: succeeded moves the money, failed releases the hold.
    pub fn settle_refund(
        &self,
        minor: i64,
        succeeded: bool,
        now: Timestamp,
    ) -> Result<Payment, CoreError> {
        let mut next = self.clone();
        next.refund_pending_minor = (self.refund_pending_minor - minor).max(0);
        next.updated_at = now;
        if succeeded {
            next.refunded_minor += minor;
            let target = if next.refunded_minor >= self.amount.minor {
                PaymentState::Refunded
            } else {
                PaymentState::PartiallyRefunded
            };
            next.state = self.state.transition(target)?;
        }
        Ok(next)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::money::Currency;

    pub fn sample(state: PaymentState) -> Payment {
        Payment {
            id: PaymentId::from_random("1"),
            merchant_id: MerchantId::from_random("1"),
            protocol: Protocol::Passtopay,
            merchant_order_no: "o1".into(),
            public_id: "P1".into(),
            amount: Money::new(1000, Currency::CNY),
            state,
            refunded_minor: 0,
            refund_pending_minor: 0,
            notify_url: None,
            return_url: None,
            cashier_token: "t".into(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            expires_at: Timestamp(1000),
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: serde_json::Value::Null,
        }
    }

    #[test]
    fn success_records_channel_and_time() {
        let p = sample(PaymentState::Pending);
        let cmd = PaymentCommand::Succeed {
            channel_order_no: "c1".into(),
        };
        let next = p.apply(&cmd, Timestamp(5)).unwrap();
        assert_eq!(next.state, PaymentState::Succeeded);
        assert_eq!(next.finished_at, Some(Timestamp(5)));
        assert_eq!(next.channel_order_no.as_deref(), Some("c1"));
        assert!(next.apply(&PaymentCommand::Cancel, Timestamp(6)).is_err());
    }

    #[test]
    fn refunds_never_exceed_the_amount() {
        let p = sample(PaymentState::Succeeded);
        let held = p.hold_refund(600, Timestamp(1)).unwrap();
        assert!(matches!(
            held.hold_refund(401, Timestamp(1)),
            Err(CoreError::RefundExceeds {
                requested: 401,
                refundable: 400
            })
        ));
        let part = held.settle_refund(600, true, Timestamp(2)).unwrap();
        assert_eq!(part.state, PaymentState::PartiallyRefunded);
        let rest = part.hold_refund(400, Timestamp(3)).unwrap();
        let full = rest.settle_refund(400, true, Timestamp(4)).unwrap();
        assert_eq!(full.state, PaymentState::Refunded);
        assert_eq!(full.refundable_minor(), 0);
        assert!(
            sample(PaymentState::Pending)
                .hold_refund(1, Timestamp(0))
                .is_err()
        );
    }

    #[test]
    fn failed_refund_releases_the_hold() {
        let p = sample(PaymentState::Succeeded)
            .hold_refund(1000, Timestamp(1))
            .unwrap();
        assert_eq!(p.refundable_minor(), 0);
        let back = p.settle_refund(1000, false, Timestamp(2)).unwrap();
        assert_eq!(back.state, PaymentState::Succeeded);
        assert_eq!(back.refundable_minor(), 1000);
    }
}
