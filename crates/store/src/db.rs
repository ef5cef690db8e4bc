//! Every query polypay runs, written once for both backends, behind intention-revealing methods:
//! here the connection wrapper every job and read goes through, in `db/` the queries by domain
//! (the callback deliveries' are in `delivery/queries.rs`).
//!
//! Inside a write job (`writing`), single-object reads lock the row on PostgreSQL
//! (`FOR NO KEY UPDATE`), so a read-modify-write is safe with several nodes on one database.
//! SQLite has one writer, which already serialises them.

use crate::claims::Claims;
use crate::error::StoreError;
use crate::sql::{Conn, Dialect, Row, Value};
use crate::vault::Vault;
use polypay_core::{Currency, Protocol};

mod audit;
mod leases;
mod ledger;
mod merchants;
mod outbox;
mod payments;
mod payouts;
mod refunds;
mod secrets;

pub use audit::{AuditEntry, AuditFilter};
pub use ledger::LedgerEntry;
pub use outbox::{OutboxAppend, OutboxEvent};
pub use payments::{Inserted, NonceArgs, PaymentRow};
pub(crate) use payments::{PAYMENT_COLS, payment_row};
pub(crate) use payouts::{PAYOUT_COLS, payout_row};
pub(crate) use refunds::{REFUND_COLS, refund_row};
pub use secrets::ProtocolRecord;

/// A connection in use by one job or read, with the vault to seal and open secrets.
pub struct Db<'a> {
    conn: &'a mut dyn Conn,
    vault: &'a Vault,
    writing: bool,
    failure: Option<StoreError>,
    /// Whether a statement of this job may have changed data (see [`Db::changed`]).
    changed: bool,
    /// SQLite's replay guard, in a write job (see [`Db::claim_nonce`]).
    claims: Option<&'a mut Claims>,
    /// Balance changes staged for the end of the batch (see [`Db::credit`], [`Db::try_debit`]).
    staged: Option<&'a mut Staged>,
}

/// The balance changes the jobs of a batch staged, summed per balance row and applied just
/// before COMMIT, in key order. So every batch takes its balance rows last, all at once and in
/// one order: it never holds a hot merchant's balance while it waits for a row another
/// batch holds (that batch, waiting in turn for the balance, was a deadlock between two
/// PostgreSQL writers or nodes), and a balance row is locked for the commit alone.
#[derive(Debug, Default, Clone)]
pub(crate) struct Staged {
    rows: std::collections::BTreeMap<(String, &'static str), Delta>,
    /// Debits are staged too (a batch of more than one job); alone, a job debits at once.
    debits: bool,
    /// Each credit is checked against the balance it will be added to (read once per row),
    /// so a credit the balance cannot hold fails its own job, not the flush at COMMIT: set
    /// on the run that follows a batch whose flush hit the limit (see the writer).
    bounded: bool,
}

/// One balance row's staged change.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Delta {
    /// The sum of the staged credits and debits.
    net: i64,
    /// The lowest `net` right after a debit: the balance read when the batch's debits were
    /// approved must still cover it when they are applied (another node may have debited it
    /// since), so no debit ever overdraws, whatever ran meanwhile.
    low: Option<i64>,
    /// The balance row as this transaction read it, when [`Staged::bounded`] had a credit read it.
    committed: Option<i64>,
}

impl Staged {
    /// Staging for a batch: credits always, debits when `debits`.
    pub(crate) fn new(debits: bool) -> Staged {
        Staged {
            rows: Default::default(),
            debits,
            bounded: false,
        }
    }

    /// Staging whose credits are checked against the balance as they are staged
    /// ([`Staged::bounded`]).
    pub(crate) fn bounded(mut self) -> Staged {
        self.bounded = true;
        self
    }

    pub(crate) fn is_bounded(&self) -> bool {
        self.bounded
    }

    pub(crate) fn clear(&mut self) {
        self.rows.clear();
    }
}

impl<'a> Db<'a> {
    pub(crate) fn new(conn: &'a mut dyn Conn, vault: &'a Vault, writing: bool) -> Db<'a> {
        Db {
            conn,
            vault,
            writing,
            failure: None,
            changed: false,
            claims: None,
            staged: None,
        }
    }

    /// A write job run without a savepoint gets its batch's staged balance changes.
    pub(crate) fn with_staged(mut self, staged: Option<&'a mut Staged>) -> Db<'a> {
        self.staged = staged;
        self
    }

    /// Applies the batch's staged balance changes, in key order. They are the writes of jobs
    /// that already succeeded, so they do not count as this job's changes; and one that cannot
    /// be applied (a balance past its limit, or one a concurrent transaction debited below
    /// what the batch's debits were approved against) is not this job's failure but the
    /// batch's: noted as such, the writer retries every job alone, and each gets its own
    /// answer.
    pub(crate) fn flush_staged(&mut self) -> Result<(), StoreError> {
        let rows = match self.staged.as_deref_mut() {
            Some(c) if !c.rows.is_empty() => std::mem::take(&mut c.rows),
            _ => return Ok(()),
        };
        let changed = self.changed;
        for ((merchant, currency), delta) in rows {
            if let Err(e) = self.apply_delta(&merchant, currency, delta) {
                if self.failure.is_none() {
                    self.failure = Some(match &e {
                        StoreError::BalanceLimit(c) => StoreError::BalanceLimit(c.clone()),
                        StoreError::Retryable(s) => StoreError::Retryable(s.clone()),
                        other => StoreError::Backend(other.to_string()),
                    });
                }
                return Err(e);
            }
        }
        self.changed = changed;
        Ok(())
    }

    /// A write job's `Db` on SQLite gets the writer's replay guard.
    pub(crate) fn with_claims(mut self, claims: Option<&'a mut Claims>) -> Db<'a> {
        self.claims = claims;
        self
    }

    /// Whether this job may have changed data: a write statement affected a row, returned a
    /// row, or failed. Conservative by construction: a `false` is exact, so the writer can let a
    /// job that failed without changing anything share a transaction without a savepoint.
    pub(crate) fn changed(&self) -> bool {
        self.changed
    }

    pub fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// The first backend failure seen by this job, if any (the writer then retries the job alone).
    pub(crate) fn take_failure(&mut self) -> Option<StoreError> {
        self.failure.take()
    }

    fn note<T>(&mut self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &r
            && matches!(e, StoreError::Backend(_) | StoreError::Retryable(_))
            && self.failure.is_none()
        {
            self.failure = Some(match e {
                StoreError::Retryable(s) => StoreError::Retryable(s.clone()),
                other => StoreError::Backend(other.to_string()),
            });
        }
        r
    }

    pub(crate) fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let r = self.conn.execute(sql, params);
        self.changed |= !matches!(r, Ok(0));
        self.note(r)
    }

    pub(crate) fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let r = self.conn.query(sql, params);
        // Anything but a plain SELECT (INSERT … RETURNING, UPDATE …) counts as a change.
        let select = sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"));
        self.changed |= r.is_err() || !select;
        self.note(r)
    }

    /// Runs `f` with PostgreSQL's bitmap scans off for this transaction, then restores the
    /// server's setting; on SQLite just runs `f`. For a query whose only good plan walks an
    /// index in order: with the table's statistics stale (a backlog that grew within seconds),
    /// the planner can take a bitmap scan of every matching row and a sort for a few rows.
    pub(crate) fn without_bitmap_scans<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.conn.dialect() != Dialect::Postgres {
            return f(self);
        }
        let r = self.conn.batch("SET LOCAL enable_bitmapscan = off");
        self.note(r)?;
        let out = f(self);
        let r = self.conn.batch("RESET enable_bitmapscan");
        self.note(r)?;
        out
    }

    pub(crate) fn one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// The integer in the first column of the first row: `None` for no row or a NULL (an
    /// aggregate over nothing).
    pub(crate) fn int_of(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<i64>, StoreError> {
        self.one(sql, params)?.map_or(Ok(None), |r| r.opt_int(0))
    }

    /// ` FOR NO KEY UPDATE` inside a PostgreSQL write job, else nothing: it excludes every
    /// other writer of the row, but not the `KEY SHARE` lock an insert elsewhere takes on a
    /// row its foreign key names (a payment's on its merchant), which `FOR UPDATE` would.
    pub(crate) fn lock(&self) -> &'static str {
        if self.writing && self.conn.dialect() == Dialect::Postgres {
            " FOR NO KEY UPDATE"
        } else {
            ""
        }
    }
}

fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn currency(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).ok_or_else(|| StoreError::Corrupt(format!("unknown currency {code}")))
}

fn protocol(text: &str) -> Result<Protocol, StoreError> {
    Protocol::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown protocol {text}")))
}

fn json(text: &str) -> Result<serde_json::Value, StoreError> {
    Ok(serde_json::from_str(text)?)
}
