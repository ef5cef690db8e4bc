//! A refund of (part of) a paid payment, and its pure transitions.

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::id::{MerchantId, PaymentId, RefundId};
use crate::merchant::Protocol;
use crate::money::Money;
use crate::state::RefundState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub merchant_id: MerchantId,
    pub payment_id: PaymentId,
    pub protocol: Protocol,
    /// The merchant's refund number, unique per merchant among refunds.
    pub merchant_refund_no: String,
    pub public_id: String,
    pub amount: Money,
    pub state: RefundState,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attrs: serde_json::Value,
    /// The rail's reference for the money sent back, when a settlement report gave one.
    #[serde(default)]
    pub channel_order_no: Option<String>,
}

impl Refund {
    /// Settles the refund: `Ok(None)` error fields on success, a code and message on failure.
    pub fn settle(
        &self,
        failure: Option<(String, String)>,
        now: Timestamp,
    ) -> Result<Refund, CoreError> {
        let target = if failure.is_some() {
            RefundState::Failed
        } else {
            RefundState::Succeeded
        };
        let mut next = self.clone();
        next.state = self.state.transition(target)?;
        next.updated_at = now;
        next.finished_at = Some(now);
        if let Some((code, message)) = failure {
            next.error_code = Some(code);
            next.error_message = Some(message);
        }
        Ok(next)
    }
}
