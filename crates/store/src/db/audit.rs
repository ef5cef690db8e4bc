//! The operator's audit log (migration 13): who changed what, when and from where. An entry is
//! appended by the write job of the change it records ([`crate::Store::audited`]), so both
//! commit together or neither does. Read newest first, by id.

use crate::db::Db;
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Timestamp};
use serde::Serialize;

/// One operator action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Assigned when stored, increasing in the order of insertion (on PostgreSQL two nodes'
    /// entries may commit in the other order); 0 before.
    pub id: i64,
    /// Real time of the change (never the sandbox's travelled clock).
    pub at: Timestamp,
    /// Who: `admin-api`, `console` (with the session's short id), `cli` (with the OS user).
    pub actor: String,
    /// From where: the client's address (the peer of the TCP connection), `local:<host>` for a
    /// command on the database, `unknown` when the server did not say.
    pub source: String,
    /// What, as `<kind>.<verb>`: `merchant.create`, `payment.settle`, `clock.advance`, …
    pub action: String,
    /// The object changed: its kind (`merchant`, `payment`, …) and polypay's id of it.
    pub object_kind: String,
    pub object_id: String,
    pub merchant_id: Option<String>,
    /// What the action took (a settlement's outcome and reference, the names of the fields
    /// changed, which secret was rotated); never a secret's value.
    pub detail: serde_json::Value,
}

/// Filters of the audit log; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub merchant_id: Option<MerchantId>,
    /// polypay's id of the object.
    pub object_id: Option<String>,
    /// Entries with an id below this one (the last of the page before).
    pub before_id: Option<i64>,
    /// Rows per page (clamped to 1..=[`crate::console::MAX_PAGE`]).
    pub limit: i64,
}

const AUDIT_COLS: &str =
    "id, at_ms, actor, source, action, object_kind, object_id, merchant_id, detail";

impl Db<'_> {
    /// Appends `entry` (its `id` is ignored; the database assigns one).
    pub fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO audit_log (at_ms, actor, source, action, object_kind, object_id, \
             merchant_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                entry.at.0.into(),
                entry.actor.as_str().into(),
                entry.source.as_str().into(),
                entry.action.as_str().into(),
                entry.object_kind.as_str().into(),
                entry.object_id.as_str().into(),
                entry.merchant_id.as_deref().into(),
                entry.detail.to_string().into(),
            ],
        )?;
        Ok(())
    }

    /// Entries matching `filter`, newest first, and whether more follow.
    pub fn audit_log(
        &mut self,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let mut conds = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        let mut bind = |cond: &str, value: Value, params: &mut Vec<Value>| {
            params.push(value);
            conds.push(cond.replace('?', &format!("${}", params.len())));
        };
        if let Some(m) = &filter.merchant_id {
            bind("merchant_id = ?", m.as_str().into(), &mut params);
        }
        if let Some(o) = &filter.object_id {
            bind("object_id = ?", o.as_str().into(), &mut params);
        }
        if let Some(b) = filter.before_id {
            bind("id < ?", b.into(), &mut params);
        }
        let limit = filter.limit.clamp(1, crate::console::MAX_PAGE);
        let cond = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log {cond} ORDER BY id DESC LIMIT {}",
            limit + 1
        );
        let mut entries = self
            .rows(&sql, &params)?
            .iter()
            .map(audit_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        Ok((entries, more))
    }
}

fn audit_row(r: &Row) -> Result<AuditEntry, StoreError> {
    let detail = r.text(8)?;
    Ok(AuditEntry {
        id: r.int(0)?,
        at: Timestamp(r.int(1)?),
        actor: r.text(2)?,
        source: r.text(3)?,
        action: r.text(4)?,
        object_kind: r.text(5)?,
        object_id: r.text(6)?,
        merchant_id: r.opt_text(7)?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?,
    })
}
