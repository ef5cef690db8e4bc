//! Outbox events: one row per state change, written in the transaction of the change.

use crate::error::EngineError;
use polypay_core::{MerchantId, Payment, Payout, Protocol, Refund, Timestamp};
use polypay_store::{Db, OutboxAppend, StoreError};
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
    prepare(object, now)?.append(db)
}

/// An event built (and its snapshot serialised) before the write job that appends it, so the
/// group-commit writer spends its time on the database only.
#[derive(Debug, Clone)]
pub struct Prepared {
    merchant_id: MerchantId,
    protocol: Protocol,
    kind: &'static str,
    object_id: String,
    event: String,
    payload_json: String,
    created_at: Timestamp,
}

pub fn prepare<T: Tracked>(object: &T, now: Timestamp) -> Result<Prepared, EngineError> {
    let payload_json =
        serde_json::to_string(object).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Prepared {
        merchant_id: object.merchant_id().clone(),
        protocol: object.protocol(),
        kind: T::KIND,
        object_id: object.object_id().to_string(),
        event: format!("{}.{}", T::KIND, object.state_name()),
        payload_json,
        created_at: now,
    })
}

impl Prepared {
    pub fn append(&self, db: &mut Db<'_>) -> Result<i64, EngineError> {
        Ok(db.append_outbox_json(&self.outbox())?)
    }

    /// The outbox row to append.
    pub fn outbox(&self) -> OutboxAppend<'_> {
        OutboxAppend {
            merchant_id: &self.merchant_id,
            protocol: self.protocol,
            object_kind: self.kind,
            object_id: &self.object_id,
            event: &self.event,
            payload_json: &self.payload_json,
            created_at: self.created_at,
        }
    }
}
