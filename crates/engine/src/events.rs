//! Outbox events: one row per state change, written in the transaction of the change.

use crate::error::EngineError;
use polypay_core::{MerchantId, Payment, Payout, Protocol, Refund, Timestamp};
use polypay_store::{Db, OutboxEvent, StoreError};
use serde::Serialize;

/// An object whose state changes are published: payments, payouts, refunds.
pub trait Tracked: Serialize {
    const KIND: &'static str;
    fn merchant_id(&self) -> &MerchantId;
    fn protocol(&self) -> Protocol;
    fn object_id(&self) -> &str;
    fn state_name(&self) -> &'static str;
}

macro_rules! tracked {
    ($t:ty, $kind:literal) => {
        impl Tracked for $t {
            const KIND: &'static str = $kind;
            fn merchant_id(&self) -> &MerchantId {
                &self.merchant_id
            }
            fn protocol(&self) -> Protocol {
                self.protocol
            }
            fn object_id(&self) -> &str {
                self.id.as_str()
            }
            fn state_name(&self) -> &'static str {
                self.state.as_str()
            }
        }
    };
}

tracked!(Payment, "payment");
tracked!(Payout, "payout");
tracked!(Refund, "refund");

/// Appends `<kind>.<state>` with a JSON snapshot of the object after the change.
pub fn emit<T: Tracked>(db: &mut Db<'_>, object: &T, now: Timestamp) -> Result<i64, EngineError> {
    let payload = serde_json::to_value(object).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let event = OutboxEvent {
        id: 0,
        merchant_id: object.merchant_id().clone(),
        protocol: object.protocol(),
        object_kind: T::KIND.to_string(),
        object_id: object.object_id().to_string(),
        event: format!("{}.{}", T::KIND, object.state_name()),
        payload,
        created_at: now,
    };
    Ok(db.append_outbox(&event)?)
}
