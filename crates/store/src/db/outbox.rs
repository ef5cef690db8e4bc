//! The outbox: state-change events appended in the change's transaction.

use super::{Db, json, protocol};
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Protocol, Timestamp};
use serde::{Deserialize, Serialize};

/// A state change, appended in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    /// `payment`, `payout` or `refund`.
    pub object_kind: String,
    pub object_id: String,
    /// e.g. `payment.succeeded`.
    pub event: String,
    /// A JSON snapshot of the object after the change.
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
}

/// An outbox event to append whose payload is already JSON text.
#[derive(Debug, Clone, Copy)]
pub struct OutboxAppend<'a> {
    pub merchant_id: &'a MerchantId,
    pub protocol: Protocol,
    pub object_kind: &'a str,
    pub object_id: &'a str,
    pub event: &'a str,
    pub payload_json: &'a str,
    pub created_at: Timestamp,
}

impl OutboxAppend<'_> {
    /// The row's values in the order of the outbox's insert columns.
    pub(super) fn values(&self) -> [Value; 7] {
        [
            self.merchant_id.as_str().into(),
            self.protocol.as_str().into(),
            self.object_kind.into(),
            self.object_id.into(),
            self.event.into(),
            self.payload_json.into(),
            self.created_at.0.into(),
        ]
    }
}

const OUTBOX_COLS: &str =
    "id, merchant_id, protocol, object_kind, object_id, event, payload, created_at";

impl Db<'_> {
    /// Appends an event; returns its id (ids grow in commit order per writer).
    pub fn append_outbox(&mut self, e: &OutboxEvent) -> Result<i64, StoreError> {
        let payload = e.payload.to_string();
        self.append_outbox_json(&OutboxAppend {
            merchant_id: &e.merchant_id,
            protocol: e.protocol,
            object_kind: &e.object_kind,
            object_id: &e.object_id,
            event: &e.event,
            payload_json: &payload,
            created_at: e.created_at,
        })
    }

    /// [`Db::append_outbox`] with the payload already serialised (outside the write job).
    pub fn append_outbox_json(&mut self, e: &OutboxAppend<'_>) -> Result<i64, StoreError> {
        let row = self.one(
            "INSERT INTO outbox (merchant_id, protocol, object_kind, object_id, event, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &e.values(),
        )?;
        row.ok_or_else(|| StoreError::Corrupt("INSERT … RETURNING gave no row".into()))?
            .int(0)
    }

    pub fn outbox_of_object(&mut self, object_id: &str) -> Result<Vec<OutboxEvent>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLS} FROM outbox WHERE object_id = $1 ORDER BY id");
        self.rows(&sql, &[object_id.into()])?
            .iter()
            .map(outbox_row)
            .collect()
    }

    /// Events with an id above `after`, in id order.
    pub fn outbox_after(&mut self, after: i64, limit: i64) -> Result<Vec<OutboxEvent>, StoreError> {
        let sql =
            format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id > $1 ORDER BY id LIMIT {limit}");
        self.rows(&sql, &[after.into()])?
            .iter()
            .map(outbox_row)
            .collect()
    }
}

fn outbox_row(r: &Row) -> Result<OutboxEvent, StoreError> {
    Ok(OutboxEvent {
        id: r.int(0)?,
        merchant_id: MerchantId(r.text(1)?),
        protocol: protocol(&r.text(2)?)?,
        object_kind: r.text(3)?,
        object_id: r.text(4)?,
        event: r.text(5)?,
        payload: json(&r.text(6)?)?,
        created_at: Timestamp(r.int(7)?),
    })
}
