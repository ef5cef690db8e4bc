//! A payout (transfer): money leaving a merchant's balance, and its pure transitions.

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::id::{MerchantId, PayoutId};
use crate::merchant::Protocol;
use crate::money::Money;
use crate::state::PayoutState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: PayoutId,
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    /// The merchant's order number, unique per merchant among payouts.
    pub merchant_order_no: String,
    pub public_id: String,
    pub amount: Money,
    pub state: PayoutState,
    pub notify_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub channel_order_no: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attrs: serde_json::Value,
}

/// What can happen to a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutCommand {
    Process,
    Succeed { channel_order_no: String },
    Fail { code: String, message: String },
}

impl PayoutCommand {
    pub fn target(&self) -> PayoutState {
        match self {
            PayoutCommand::Process => PayoutState::Processing,
            PayoutCommand::Succeed { .. } => PayoutState::Succeeded,
            PayoutCommand::Fail { .. } => PayoutState::Failed,
        }
    }
}

impl Payout {
    pub fn apply(&self, cmd: &PayoutCommand, now: Timestamp) -> Result<Payout, CoreError> {
        let mut next = self.clone();
        next.state = self.state.transition(cmd.target())?;
        next.updated_at = now;
        match cmd {
            PayoutCommand::Process => {}
            PayoutCommand::Succeed { channel_order_no } => {
                next.channel_order_no = Some(channel_order_no.clone());
                next.finished_at = Some(now);
            }
            PayoutCommand::Fail { code, message } => {
                next.error_code = Some(code.clone());
                next.error_message = Some(message.clone());
                next.finished_at = Some(now);
            }
        }
        Ok(next)
    }
}
