//! Every query polypay runs, written once for both backends, behind intention-revealing methods.
//!
//! Inside a write job (`writing`), single-object reads lock the row on PostgreSQL
//! (`FOR UPDATE`), so a read-modify-write is safe with several nodes on one database.
//! SQLite has one writer, which already serialises them.

use crate::claims::Claims;
use crate::error::StoreError;
use crate::sql::{Conn, Dialect, Row, Value};
use crate::vault::Vault;
use polypay_core::{
    Credentials, Currency, Merchant, MerchantId, Money, Payment, PaymentId, PaymentState, Payout,
    PayoutId, PayoutState, Protocol, Refund, RefundId, RefundState, Timestamp,
};
use serde::{Deserialize, Serialize};

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
    /// Balance credits staged for the end of the batch (see [`Db::credit`]).
    credits: Option<&'a mut Credits>,
}

/// Credits the jobs of a batch staged, summed per balance row, applied just before COMMIT
/// (or before anything in the batch reads or debits a balance), so a hot merchant's balance
/// row is locked for the commit alone, not from its first credit on: two PostgreSQL writers
/// crediting one merchant no longer wait on each other's whole transaction. Keys in order,
/// so writers lock rows in one order.
#[derive(Debug, Default)]
pub(crate) struct Credits(std::collections::BTreeMap<(String, &'static str), i64>);

impl Credits {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// One leg of a double-entry ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub txn_id: String,
    pub merchant_id: MerchantId,
    /// `available` (the merchant's balance) or a counter-account (`customer`, `payout_clearing`, …).
    pub account: String,
    pub amount: Money,
    /// What moved the money: `payment`, `payout`, `payout_reversal`, `refund`, `refund_reversal`,
    /// `refund_fee`, `refund_fee_reversal`.
    pub kind: String,
    pub object_id: String,
    pub created_at: Timestamp,
}

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
    fn values(&self) -> [Value; 7] {
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

/// A replay-guard claim made with an insert ([`Db::insert_payment_with_event`]), as
/// [`Db::claim_nonce`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct NonceArgs<'a> {
    pub scope: &'a str,
    pub nonce: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// What [`Db::insert_payment_with_event`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The payment and its event went in: the event's outbox id.
    Event(i64),
    /// A stored payment holds one of its unique keys: nothing went in (a claim may have).
    KeyTaken,
    /// The nonce is claimed and live: nothing went in.
    NonceTaken,
}

/// A record a protocol keeps for itself (payers, tokens, ...), as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolRecord {
    pub protocol: Protocol,
    /// The owning merchant's id, or `""` for records looked up without one.
    pub merchant_id: String,
    pub kind: String,
    pub key: String,
    pub value: serde_json::Value,
    pub updated_at: Timestamp,
}

pub(crate) const PAYMENT_COLS: &str = "id, merchant_id, protocol, merchant_order_no, public_id, currency, amount_minor, state, \
    refunded_minor, refund_pending_minor, notify_url, return_url, cashier_token, created_at, updated_at, expires_at, \
    finished_at, channel_order_no, error_code, error_message, attrs";
/// `$1, $2, …`: one parameter per column of [`PAYMENT_COLS`], in order ([`PaymentRow`]).
static PAYMENT_PARAMS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    (1..=PAYMENT_COLS.split(", ").count())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
});
pub(crate) const PAYOUT_COLS: &str = "id, merchant_id, protocol, merchant_order_no, public_id, currency, amount_minor, state, \
    notify_url, created_at, updated_at, finished_at, channel_order_no, error_code, error_message, attrs";
pub(crate) const REFUND_COLS: &str = "id, merchant_id, payment_id, protocol, merchant_refund_no, public_id, currency, amount_minor, \
    state, reason, notify_url, created_at, updated_at, finished_at, error_code, error_message, attrs";
const MERCHANT_COLS: &str =
    "id, name, notify_url, enabled, created_at, credentials_sealed, settings";
const OUTBOX_COLS: &str =
    "id, merchant_id, protocol, object_kind, object_id, event, payload, created_at";

impl<'a> Db<'a> {
    pub(crate) fn new(conn: &'a mut dyn Conn, vault: &'a Vault, writing: bool) -> Db<'a> {
        Db {
            conn,
            vault,
            writing,
            failure: None,
            changed: false,
            claims: None,
            credits: None,
        }
    }

    /// A write job run without a savepoint gets its batch's staged credits.
    pub(crate) fn with_credits(mut self, credits: Option<&'a mut Credits>) -> Db<'a> {
        self.credits = credits;
        self
    }

    /// Applies the batch's staged credits. They are the writes of jobs that already
    /// succeeded, so they do not count as this job's changes.
    pub(crate) fn flush_credits(&mut self) -> Result<(), StoreError> {
        let staged = match self.credits.as_deref_mut() {
            Some(c) if !c.0.is_empty() => std::mem::take(&mut c.0),
            _ => return Ok(()),
        };
        let changed = self.changed;
        for ((merchant, currency), minor) in staged {
            self.apply_credit(&merchant, currency, minor)?;
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
            self.failure = Some(StoreError::Backend(e.to_string()));
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

    /// ` FOR UPDATE` inside a PostgreSQL write job, else nothing.
    pub(crate) fn lock(&self) -> &'static str {
        if self.writing && self.conn.dialect() == Dialect::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    // ---- merchants -------------------------------------------------------------------------

    /// Inserts a merchant with its sealed credentials and its per-protocol lookup keys.
    pub fn insert_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal(&serde_json::to_vec(&m.credentials)?)?;
        self.exec(
            &format!("INSERT INTO merchants ({MERCHANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                m.id.as_str().into(),
                m.name.as_str().into(),
                m.notify_url.clone().into(),
                i64::from(m.enabled).into(),
                m.created_at.0.into(),
                sealed.into(),
                m.settings.to_string().into(),
            ],
        )?;
        for (protocol, key) in m.credentials.lookup_keys() {
            self.exec(
                "INSERT INTO merchant_keys (protocol, key_id, merchant_id) VALUES ($1, $2, $3)",
                &[protocol.as_str().into(), key.into(), m.id.as_str().into()],
            )?;
        }
        Ok(())
    }

    /// Replaces a merchant's credentials (secret rotation) and settings.
    pub fn update_merchant(&mut self, m: &Merchant) -> Result<(), StoreError> {
        let sealed = self.vault.seal(&serde_json::to_vec(&m.credentials)?)?;
        self.exec(
            "UPDATE merchants SET name = $2, notify_url = $3, enabled = $4, credentials_sealed = $5, settings = $6 \
             WHERE id = $1",
            &[
                m.id.as_str().into(),
                m.name.as_str().into(),
                m.notify_url.clone().into(),
                i64::from(m.enabled).into(),
                sealed.into(),
                m.settings.to_string().into(),
            ],
        )?;
        Ok(())
    }

    pub fn merchant(&mut self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLS} FROM merchants WHERE id = $1");
        self.one(&sql, &[id.as_str().into()])?
            .map(|r| self.merchant_row(&r))
            .transpose()
    }

    /// Finds the merchant a protocol's public identifier (mchNo, apiKey, …) belongs to.
    pub fn merchant_by_key(
        &mut self,
        protocol: Protocol,
        key_id: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!(
            "SELECT {} FROM merchants m JOIN merchant_keys k ON k.merchant_id = m.id \
             WHERE k.protocol = $1 AND k.key_id = $2",
            prefixed("m", MERCHANT_COLS)
        );
        self.one(&sql, &[protocol.as_str().into(), key_id.into()])?
            .map(|r| self.merchant_row(&r))
            .transpose()
    }

    pub fn merchants(&mut self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLS} FROM merchants ORDER BY created_at, id");
        let rows = self.rows(&sql, &[])?;
        rows.iter().map(|r| self.merchant_row(r)).collect()
    }

    fn merchant_row(&self, r: &Row) -> Result<Merchant, StoreError> {
        let creds: Credentials = serde_json::from_slice(&self.vault.open(&r.text(5)?)?)?;
        Ok(Merchant {
            id: MerchantId(r.text(0)?),
            name: r.text(1)?,
            notify_url: r.opt_text(2)?,
            enabled: r.int(3)? != 0,
            created_at: Timestamp(r.int(4)?),
            credentials: creds,
            settings: serde_json::from_str(&r.text(6)?)?,
        })
    }

    // ---- payments --------------------------------------------------------------------------

    /// Inserts a payment; `false` when it would take a unique key of a stored payment: the
    /// merchant's order number, or the public id (or the cashier token).
    pub fn insert_payment(&mut self, p: &Payment) -> Result<bool, StoreError> {
        self.insert_payment_row(&PaymentRow::of(p))
    }

    /// [`Db::insert_payment`] with the row's values built beforehand (outside the write job).
    pub fn insert_payment_row(&mut self, row: &PaymentRow) -> Result<bool, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "INSERT INTO payments ({PAYMENT_COLS}) VALUES ({}) ON CONFLICT DO NOTHING",
                *PAYMENT_PARAMS
            )
        });
        let n = self.exec(&SQL, &row.0)?;
        Ok(n == 1)
    }

    /// Inserts a payment and, only if it went in, its event; with `claim`, claims that nonce
    /// first (as [`Db::claim_nonce`]) and inserts nothing if it is taken. A payment that would
    /// take a unique key of a stored one (the merchant's order number, the public id or the
    /// cashier token) is not inserted ([`Inserted::KeyTaken`]), and neither is its event; the
    /// claim, if made, is then the job's to undo by failing.
    ///
    /// On PostgreSQL it is all one statement (each `INSERT … SELECT` reads the `RETURNING` of
    /// the one before): one round trip to the server per create instead of two or three,
    /// inside the writer's group commit. SQLite, in process, runs the statements one by one.
    pub fn insert_payment_with_event(
        &mut self,
        row: &PaymentRow,
        event: &OutboxAppend<'_>,
        claim: Option<&NonceArgs<'_>>,
    ) -> Result<Inserted, StoreError> {
        if self.conn.dialect() == Dialect::Sqlite {
            if let Some(c) = claim
                && !self.claim_nonce(c.scope, c.nonce, c.now, c.expires_at)?
            {
                return Ok(Inserted::NonceTaken);
            }
            if !self.insert_payment_row(row)? {
                return Ok(Inserted::KeyTaken);
            }
            return self.append_outbox_json(event).map(Inserted::Event);
        }
        const OUTBOX: &str = "INSERT INTO outbox (merchant_id, protocol, object_kind, object_id, event, payload, created_at) \
             SELECT $22, $23, $24, $25, $26, $27, $28 FROM p RETURNING id";
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH p AS (INSERT INTO payments ({PAYMENT_COLS}) VALUES ({}) \
                 ON CONFLICT DO NOTHING RETURNING 1) {OUTBOX}",
                *PAYMENT_PARAMS
            )
        });
        static CLAIMING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH c AS (INSERT INTO nonces (scope, nonce, expires_at) VALUES ($29, $30, $31) \
                 ON CONFLICT (scope, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE nonces.expires_at <= $32 RETURNING 1), \
                 p AS (INSERT INTO payments ({PAYMENT_COLS}) SELECT {} \
                 FROM c ON CONFLICT DO NOTHING RETURNING 1), \
                 o AS ({OUTBOX}) \
                 SELECT (SELECT COUNT(*) FROM c), (SELECT id FROM o)",
                *PAYMENT_PARAMS
            )
        });
        let mut params = Vec::with_capacity(row.0.len() + 11);
        params.extend_from_slice(&row.0);
        params.extend(event.values());
        let Some(c) = claim else {
            let r = self.conn.query(&SQL, &params);
            // No row back means neither insert wrote (the event's only follows the payment's):
            // a refused duplicate leaves the job unchanged, so its batch needs no savepoints.
            self.changed |= !matches!(&r, Ok(rows) if rows.is_empty());
            let rows = self.note(r)?;
            return Ok(match rows.first() {
                Some(r) => Inserted::Event(r.int(0)?),
                None => Inserted::KeyTaken,
            });
        };
        params.extend([
            c.scope.into(),
            c.nonce.into(),
            c.expires_at.0.into(),
            c.now.0.into(),
        ]);
        let r = self.conn.query(&CLAIMING, &params);
        // A change until the answer says otherwise: nothing was written unless the claim was
        // (the payment's insert reads the claim's).
        let was = self.changed;
        self.changed = true;
        let rows = self.note(r)?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("the create statement gave no row".into()))?;
        let (claimed, event) = (row.int(0)? > 0, row.opt_int(1)?);
        self.changed = was || claimed;
        Ok(match (claimed, event) {
            (false, _) => Inserted::NonceTaken,
            (true, Some(id)) => Inserted::Event(id),
            (true, None) => Inserted::KeyTaken,
        })
    }

    pub fn update_payment(&mut self, p: &Payment) -> Result<(), StoreError> {
        self.exec(
            "UPDATE payments SET state = $2, refunded_minor = $3, refund_pending_minor = $4, updated_at = $5, \
             finished_at = $6, channel_order_no = $7, error_code = $8, error_message = $9, attrs = $10 WHERE id = $1",
            &[
                p.id.as_str().into(),
                p.state.as_str().into(),
                p.refunded_minor.into(),
                p.refund_pending_minor.into(),
                p.updated_at.0.into(),
                p.finished_at.map(|t| t.0).into(),
                p.channel_order_no.clone().into(),
                p.error_code.clone().into(),
                p.error_message.clone().into(),
                p.attrs.to_string().into(),
            ],
        )?;
        Ok(())
    }

    pub fn payment(&mut self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        self.payment_where("id = $1", &[id.as_str().into()])
    }

    pub fn payment_by_order_no(
        &mut self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Option<Payment>, StoreError> {
        self.payment_where(
            "merchant_id = $1 AND merchant_order_no = $2",
            &[m.as_str().into(), order_no.into()],
        )
    }

    pub fn payment_by_public_id(&mut self, public_id: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("public_id = $1", &[public_id.into()])
    }

    pub fn payment_by_cashier_token(&mut self, token: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("cashier_token = $1", &[token.into()])
    }

    fn payment_where(
        &mut self,
        cond: &str,
        params: &[Value],
    ) -> Result<Option<Payment>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE {cond}{}",
            self.lock()
        );
        self.one(&sql, params)?.map(|r| payment_row(&r)).transpose()
    }

    /// Open payments whose expiry is at or before `now`, oldest first.
    pub fn payments_due_for_expiry(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<PaymentId>, StoreError> {
        let rows = self.rows(
            &format!("SELECT id FROM payments WHERE state IN ('created', 'pending') AND expires_at <= $1 \
             AND succeed_at IS NULL ORDER BY expires_at LIMIT {limit}"),
            &[now.0.into()],
        )?;
        rows.iter().map(|r| r.text(0).map(PaymentId)).collect()
    }

    /// Open payments created at or before `before`, oldest first (sandbox auto-completion).
    pub fn open_payments_created_before(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<Vec<Payment>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE state IN ('created', 'pending') AND created_at <= $1 \
             ORDER BY created_at LIMIT {limit}"
        );
        self.rows(&sql, &[before.0.into()])?
            .iter()
            .map(payment_row)
            .collect()
    }

    /// A merchant's payments, newest first (all merchants when `merchant` is None).
    pub fn payments(
        &mut self,
        merchant: Option<&MerchantId>,
        limit: i64,
    ) -> Result<Vec<Payment>, StoreError> {
        let (cond, mut params): (&str, Vec<Value>) = match merchant {
            Some(m) => ("WHERE merchant_id = $1", vec![m.as_str().into()]),
            None => ("", vec![]),
        };
        params.push(limit.into());
        let n = params.len();
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments {cond} ORDER BY created_at DESC, id LIMIT ${n}"
        );
        self.rows(&sql, &params)?.iter().map(payment_row).collect()
    }

    pub fn count_payments(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) FROM payments", &[])?
            .map_or(Ok(0), |r| r.int(0))
    }

    // ---- payouts ---------------------------------------------------------------------------

    /// Inserts a payout; `false` when the merchant already has one with that order number.
    pub fn insert_payout(&mut self, p: &Payout) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO payouts ({PAYOUT_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (merchant_id, merchant_order_no) DO NOTHING"
        );
        Ok(self.exec(&sql, &payout_values(p))? == 1)
    }

    pub fn update_payout(&mut self, p: &Payout) -> Result<(), StoreError> {
        self.exec(
            "UPDATE payouts SET state = $2, updated_at = $3, finished_at = $4, channel_order_no = $5, \
             error_code = $6, error_message = $7, attrs = $8 WHERE id = $1",
            &[
                p.id.as_str().into(),
                p.state.as_str().into(),
                p.updated_at.0.into(),
                p.finished_at.map(|t| t.0).into(),
                p.channel_order_no.clone().into(),
                p.error_code.clone().into(),
                p.error_message.clone().into(),
                p.attrs.to_string().into(),
            ],
        )?;
        Ok(())
    }

    pub fn payout(&mut self, id: &PayoutId) -> Result<Option<Payout>, StoreError> {
        self.payout_where("id = $1", &[id.as_str().into()])
    }

    pub fn payout_by_order_no(
        &mut self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Option<Payout>, StoreError> {
        self.payout_where(
            "merchant_id = $1 AND merchant_order_no = $2",
            &[m.as_str().into(), order_no.into()],
        )
    }

    pub fn payout_by_public_id(&mut self, public_id: &str) -> Result<Option<Payout>, StoreError> {
        self.payout_where("public_id = $1", &[public_id.into()])
    }

    fn payout_where(&mut self, cond: &str, params: &[Value]) -> Result<Option<Payout>, StoreError> {
        let sql = format!(
            "SELECT {PAYOUT_COLS} FROM payouts WHERE {cond}{}",
            self.lock()
        );
        self.one(&sql, params)?.map(|r| payout_row(&r)).transpose()
    }

    /// Payouts not yet final, oldest first (the sandbox payout processor's work list).
    pub fn unfinished_payouts(&mut self, limit: i64) -> Result<Vec<Payout>, StoreError> {
        let sql = format!(
            "SELECT {PAYOUT_COLS} FROM payouts WHERE state IN ('pending', 'processing') ORDER BY created_at LIMIT $1"
        );
        self.rows(&sql, &[limit.into()])?
            .iter()
            .map(payout_row)
            .collect()
    }

    /// The merchant's payouts in flight (pending or processing), summed per currency, in
    /// currency-code order: what it has committed but not yet paid out.
    pub fn unfinished_payout_totals(
        &mut self,
        merchant: &MerchantId,
    ) -> Result<Vec<Money>, StoreError> {
        self.rows(
            "SELECT currency, CAST(SUM(amount_minor) AS BIGINT) FROM payouts \
             WHERE merchant_id = $1 AND state IN ('pending', 'processing') \
             GROUP BY currency ORDER BY currency",
            &[merchant.as_str().into()],
        )?
        .iter()
        .map(|r| Ok(Money::new(r.int(1)?, currency(&r.text(0)?)?)))
        .collect()
    }

    // ---- refunds ---------------------------------------------------------------------------

    /// Inserts a refund; `false` when the merchant already has one with that refund number.
    pub fn insert_refund(&mut self, r: &Refund) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO refunds ({REFUND_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (merchant_id, merchant_refund_no) DO NOTHING"
        );
        Ok(self.exec(&sql, &refund_values(r))? == 1)
    }

    pub fn update_refund(&mut self, r: &Refund) -> Result<(), StoreError> {
        self.exec(
            "UPDATE refunds SET state = $2, updated_at = $3, finished_at = $4, error_code = $5, error_message = $6, \
             attrs = $7 WHERE id = $1",
            &[
                r.id.as_str().into(),
                r.state.as_str().into(),
                r.updated_at.0.into(),
                r.finished_at.map(|t| t.0).into(),
                r.error_code.clone().into(),
                r.error_message.clone().into(),
                r.attrs.to_string().into(),
            ],
        )?;
        Ok(())
    }

    pub fn refund(&mut self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        self.refund_where("id = $1", &[id.as_str().into()])
    }

    pub fn refund_by_no(
        &mut self,
        m: &MerchantId,
        refund_no: &str,
    ) -> Result<Option<Refund>, StoreError> {
        self.refund_where(
            "merchant_id = $1 AND merchant_refund_no = $2",
            &[m.as_str().into(), refund_no.into()],
        )
    }

    pub fn refund_by_public_id(&mut self, public_id: &str) -> Result<Option<Refund>, StoreError> {
        self.refund_where("public_id = $1", &[public_id.into()])
    }

    fn refund_where(&mut self, cond: &str, params: &[Value]) -> Result<Option<Refund>, StoreError> {
        let sql = format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE {cond}{}",
            self.lock()
        );
        self.one(&sql, params)?.map(|r| refund_row(&r)).transpose()
    }

    pub fn refunds_of_payment(&mut self, payment: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let sql = format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE payment_id = $1 ORDER BY created_at, id"
        );
        self.rows(&sql, &[payment.as_str().into()])?
            .iter()
            .map(refund_row)
            .collect()
    }

    /// Marks an open payment to be succeeded by the sandbox sweeper at `at` (a transfer
    /// gathering confirmations); the expiry sweep passes it by meanwhile.
    pub fn schedule_payment_success(
        &mut self,
        id: &PaymentId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE payments SET succeed_at = $2 WHERE id = $1",
            &[id.as_str().into(), at.0.into()],
        )?;
        Ok(())
    }

    /// Open payments whose scheduled success is due at `now`, earliest first, each with its
    /// channel reference (a seen transfer's hash, which the success keeps).
    pub fn due_payment_successes(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(PaymentId, Option<String>)>, StoreError> {
        let sql = format!(
            "SELECT id, channel_order_no FROM payments WHERE state IN ('created', 'pending') \
             AND succeed_at IS NOT NULL AND succeed_at <= $1 ORDER BY succeed_at, id LIMIT {}",
            limit.max(1)
        );
        self.rows(&sql, &[now.0.into()])?
            .iter()
            .map(|r| Ok((PaymentId(r.text(0)?), r.opt_text(1)?)))
            .collect()
    }

    /// Marks a pending refund to be settled by the sandbox sweeper at `at` (`None`: not).
    pub fn schedule_refund_settlement(
        &mut self,
        id: &RefundId,
        at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE refunds SET settle_at = $2 WHERE id = $1",
            &[id.as_str().into(), at.map(|t| t.0).into()],
        )?;
        Ok(())
    }

    /// Pending refunds whose scheduled settlement is due at `now`, earliest first.
    pub fn due_refund_settlements(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<RefundId>, StoreError> {
        let sql = format!(
            "SELECT id FROM refunds WHERE state = 'pending' AND settle_at IS NOT NULL \
             AND settle_at <= $1 ORDER BY settle_at, id LIMIT {}",
            limit.max(1)
        );
        self.rows(&sql, &[now.0.into()])?
            .iter()
            .map(|r| Ok(RefundId(r.text(0)?)))
            .collect()
    }

    // ---- balances and ledger ---------------------------------------------------------------

    /// Adds `minor` (which may be negative) to the merchant's available balance, unconditionally.
    ///
    /// In a write job run without a savepoint the credit is staged for the batch and applied,
    /// summed with the batch's other credits of that balance, just before COMMIT or before
    /// the batch next reads or debits a balance ([`Credits`]); inside the transaction nothing
    /// can tell the difference.
    pub fn credit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<(), StoreError> {
        if let Some(credits) = self.credits.as_deref_mut() {
            *credits
                .0
                .entry((m.as_str().to_string(), currency.code()))
                .or_insert(0) += minor;
            self.changed = true;
            return Ok(());
        }
        self.apply_credit(m.as_str(), currency.code(), minor)
    }

    fn apply_credit(&mut self, m: &str, currency: &str, minor: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO balances (merchant_id, currency, available_minor) VALUES ($1, $2, $3) \
             ON CONFLICT (merchant_id, currency) DO UPDATE SET available_minor = balances.available_minor + $3",
            &[m.into(), currency.into(), minor.into()],
        )?;
        Ok(())
    }

    /// Takes `minor` from the available balance only if it covers it; `false` (and no change) if not.
    /// One conditional UPDATE, so two concurrent debits can never overdraw.
    pub fn try_debit(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        minor: i64,
    ) -> Result<bool, StoreError> {
        self.flush_credits()?;
        let n = self.exec(
            "UPDATE balances SET available_minor = available_minor - $3 \
             WHERE merchant_id = $1 AND currency = $2 AND available_minor >= $3",
            &[m.as_str().into(), currency.code().into(), minor.into()],
        )?;
        Ok(n == 1)
    }

    pub fn balance(&mut self, m: &MerchantId, currency: Currency) -> Result<i64, StoreError> {
        self.flush_credits()?;
        let row = self.one(
            "SELECT available_minor FROM balances WHERE merchant_id = $1 AND currency = $2",
            &[m.as_str().into(), currency.code().into()],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    /// Every currency the merchant has a balance in.
    pub fn balances(&mut self, m: &MerchantId) -> Result<Vec<Money>, StoreError> {
        self.flush_credits()?;
        let rows = self.rows(
            "SELECT currency, available_minor FROM balances WHERE merchant_id = $1 ORDER BY currency",
            &[m.as_str().into()],
        )?;
        rows.iter()
            .map(|r| Ok(Money::new(r.int(1)?, currency(&r.text(0)?)?)))
            .collect()
    }

    pub fn append_ledger(&mut self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        for e in entries {
            self.exec(
                "INSERT INTO ledger_entries (txn_id, merchant_id, account, currency, amount_minor, kind, object_id, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    e.txn_id.as_str().into(),
                    e.merchant_id.as_str().into(),
                    e.account.as_str().into(),
                    e.amount.currency.code().into(),
                    e.amount.minor.into(),
                    e.kind.as_str().into(),
                    e.object_id.as_str().into(),
                    e.created_at.0.into(),
                ],
            )?;
        }
        Ok(())
    }

    /// The sum of a merchant's ledger entries on one account (the truth the balance table caches).
    pub fn ledger_sum(
        &mut self,
        m: &MerchantId,
        currency: Currency,
        account: &str,
    ) -> Result<i64, StoreError> {
        let row = self.one(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM ledger_entries \
             WHERE merchant_id = $1 AND currency = $2 AND account = $3",
            &[m.as_str().into(), currency.code().into(), account.into()],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    pub fn ledger_of_object(&mut self, object_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = self.rows(
            "SELECT txn_id, merchant_id, account, currency, amount_minor, kind, object_id, created_at \
             FROM ledger_entries WHERE object_id = $1 ORDER BY id",
            &[object_id.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LedgerEntry {
                    txn_id: r.text(0)?,
                    merchant_id: MerchantId(r.text(1)?),
                    account: r.text(2)?,
                    amount: Money::new(r.int(4)?, currency(&r.text(3)?)?),
                    kind: r.text(5)?,
                    object_id: r.text(6)?,
                    created_at: Timestamp(r.int(7)?),
                })
            })
            .collect()
    }

    // ---- outbox ----------------------------------------------------------------------------

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

    // ---- platform secrets and nonces -------------------------------------------------------

    /// Stores a sealed platform value unless one exists; returns the value now stored.
    pub fn platform_secret_or_insert(
        &mut self,
        name: &str,
        value: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, StoreError> {
        let sealed = self.vault.seal(value)?;
        self.exec(
            "INSERT INTO platform_secrets (name, value_sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[name.into(), sealed.into(), now.0.into()],
        )?;
        self.platform_secret(name)?
            .ok_or_else(|| StoreError::Corrupt("platform secret vanished".into()))
    }

    pub fn platform_secret(&mut self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self.one(
            "SELECT value_sealed FROM platform_secrets WHERE name = $1",
            &[name.into()],
        )?;
        row.map(|r| self.vault.open(&r.text(0)?)).transpose()
    }

    /// Claims a nonce in `scope` until `expires_at`; `false` if it was already claimed and is
    /// still live. Works across nodes: on PostgreSQL the primary key of `nonces` decides; on
    /// SQLite the writer's in-memory guard over the append-only `nonce_log` (`claims.rs`), which
    /// is exact for every process writing the same file.
    pub fn claim_nonce(
        &mut self,
        scope: &str,
        nonce: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.conn.dialect() == Dialect::Sqlite {
            let Some(claims) = self.claims.as_deref_mut() else {
                return Err(StoreError::Config(
                    "nonces are claimed in write jobs only".into(),
                ));
            };
            let r = claims.claim(&mut *self.conn, scope, nonce, now.0, expires_at.0);
            self.changed |= !matches!(r, Ok(false));
            return self.note(r);
        }
        // One statement: a new claim is inserted, an expired one taken over, a live one left
        // alone (no row changed). A concurrent claim of the same nonce waits for the first to
        // end, then sees it.
        let n = self.exec(
            "INSERT INTO nonces (scope, nonce, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (scope, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $4",
            &[
                scope.into(),
                nonce.into(),
                expires_at.0.into(),
                now.0.into(),
            ],
        )?;
        Ok(n == 1)
    }

    /// Inserts a protocol record; `false` (and no change) if the key exists.
    pub fn insert_record(&mut self, r: &ProtocolRecord) -> Result<bool, StoreError> {
        let n = self.exec(
            "INSERT INTO protocol_records (protocol, merchant_id, kind, record_key, value, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (protocol, merchant_id, kind, record_key) DO NOTHING",
            &[
                r.protocol.as_str().into(),
                r.merchant_id.as_str().into(),
                r.kind.as_str().into(),
                r.key.as_str().into(),
                r.value.to_string().into(),
                r.updated_at.0.into(),
            ],
        )?;
        Ok(n == 1)
    }

    /// Deletes up to `limit` records of one kind created at or before `created_before`, oldest
    /// first (a protocol's expired tokens); returns how many.
    pub fn purge_records(
        &mut self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        created_before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM protocol_records WHERE (protocol, merchant_id, kind, record_key) IN \
             (SELECT protocol, merchant_id, kind, record_key FROM protocol_records \
              WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND created_at <= $4 \
              ORDER BY created_at LIMIT {})",
            limit.max(1)
        );
        let params = [
            protocol.as_str().into(),
            merchant_id.into(),
            kind.into(),
            created_before.0.into(),
        ];
        self.exec(&sql, &params)
    }

    /// Replaces the value of an existing protocol record; `false` if there is none.
    pub fn update_record(&mut self, r: &ProtocolRecord) -> Result<bool, StoreError> {
        let n = self.exec(
            "UPDATE protocol_records SET value = $5, updated_at = $6 \
             WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND record_key = $4",
            &[
                r.protocol.as_str().into(),
                r.merchant_id.as_str().into(),
                r.kind.as_str().into(),
                r.key.as_str().into(),
                r.value.to_string().into(),
                r.updated_at.0.into(),
            ],
        )?;
        Ok(n == 1)
    }

    pub fn record(
        &mut self,
        protocol: Protocol,
        merchant_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<ProtocolRecord>, StoreError> {
        let sql = format!(
            "SELECT protocol, merchant_id, kind, record_key, value, updated_at FROM protocol_records \
             WHERE protocol = $1 AND merchant_id = $2 AND kind = $3 AND record_key = $4{}",
            self.lock()
        );
        let row = self.one(
            &sql,
            &[
                protocol.as_str().into(),
                merchant_id.into(),
                kind.into(),
                key.into(),
            ],
        )?;
        row.map(|r| {
            Ok(ProtocolRecord {
                protocol: self::protocol(&r.text(0)?)?,
                merchant_id: r.text(1)?,
                kind: r.text(2)?,
                key: r.text(3)?,
                value: json(&r.text(4)?)?,
                updated_at: Timestamp(r.int(5)?),
            })
        })
        .transpose()
    }

    /// The next value of the named sequence, starting at `start` (atomic on both backends).
    pub fn next_sequence(&mut self, name: &str, start: i64) -> Result<i64, StoreError> {
        let row = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            &[name.into(), start.into()],
        )?;
        row.ok_or_else(|| StoreError::Corrupt("sequence gave no row".into()))?
            .int(0)
    }

    /// Reserves `count` consecutive values of sequence `name` (first value `start`); returns the
    /// first. A node hands them out from memory (see the engine's numbered payments).
    pub fn reserve_sequence(
        &mut self,
        name: &str,
        start: i64,
        count: i64,
    ) -> Result<i64, StoreError> {
        let row = self.one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + $3 RETURNING value",
            &[name.into(), (start + count - 1).into(), count.into()],
        )?;
        let last = row
            .ok_or_else(|| StoreError::Corrupt("sequence gave no row".into()))?
            .int(0)?;
        Ok(last - count + 1)
    }

    /// Drops up to `limit` expired nonces, earliest expiry first; returns how many.
    pub fn purge_nonces(&mut self, now: Timestamp, limit: i64) -> Result<u64, StoreError> {
        let sql = match self.conn.dialect() {
            Dialect::Sqlite => format!(
                "DELETE FROM nonce_log WHERE id IN (SELECT id FROM nonce_log \
                 WHERE expires_at <= $1 ORDER BY expires_at LIMIT {})",
                limit.max(1)
            ),
            Dialect::Postgres => format!(
                "DELETE FROM nonces WHERE (scope, nonce) IN (SELECT scope, nonce FROM nonces \
                 WHERE expires_at <= $1 ORDER BY expires_at LIMIT {})",
                limit.max(1)
            ),
        };
        self.exec(&sql, &[now.0.into()])
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

/// A payment's column values, ready to bind.
#[derive(Debug, Clone)]
pub struct PaymentRow(Vec<Value>);

impl PaymentRow {
    pub fn of(p: &Payment) -> PaymentRow {
        PaymentRow(payment_values(p))
    }
}

fn payment_values(p: &Payment) -> Vec<Value> {
    vec![
        p.id.as_str().into(),
        p.merchant_id.as_str().into(),
        p.protocol.as_str().into(),
        p.merchant_order_no.as_str().into(),
        p.public_id.as_str().into(),
        p.amount.currency.code().into(),
        p.amount.minor.into(),
        p.state.as_str().into(),
        p.refunded_minor.into(),
        p.refund_pending_minor.into(),
        p.notify_url.clone().into(),
        p.return_url.clone().into(),
        p.cashier_token.as_str().into(),
        p.created_at.0.into(),
        p.updated_at.0.into(),
        p.expires_at.0.into(),
        p.finished_at.map(|t| t.0).into(),
        p.channel_order_no.clone().into(),
        p.error_code.clone().into(),
        p.error_message.clone().into(),
        p.attrs.to_string().into(),
    ]
}

pub(crate) fn payment_row(r: &Row) -> Result<Payment, StoreError> {
    let state = r.text(7)?;
    Ok(Payment {
        id: PaymentId(r.text(0)?),
        merchant_id: MerchantId(r.text(1)?),
        protocol: protocol(&r.text(2)?)?,
        merchant_order_no: r.text(3)?,
        public_id: r.text(4)?,
        amount: Money::new(r.int(6)?, currency(&r.text(5)?)?),
        state: PaymentState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("payment state {state}")))?,
        refunded_minor: r.int(8)?,
        refund_pending_minor: r.int(9)?,
        notify_url: r.opt_text(10)?,
        return_url: r.opt_text(11)?,
        cashier_token: r.text(12)?,
        created_at: Timestamp(r.int(13)?),
        updated_at: Timestamp(r.int(14)?),
        expires_at: Timestamp(r.int(15)?),
        finished_at: r.opt_int(16)?.map(Timestamp),
        channel_order_no: r.opt_text(17)?,
        error_code: r.opt_text(18)?,
        error_message: r.opt_text(19)?,
        attrs: json(&r.text(20)?)?,
    })
}

fn payout_values(p: &Payout) -> Vec<Value> {
    vec![
        p.id.as_str().into(),
        p.merchant_id.as_str().into(),
        p.protocol.as_str().into(),
        p.merchant_order_no.as_str().into(),
        p.public_id.as_str().into(),
        p.amount.currency.code().into(),
        p.amount.minor.into(),
        p.state.as_str().into(),
        p.notify_url.clone().into(),
        p.created_at.0.into(),
        p.updated_at.0.into(),
        p.finished_at.map(|t| t.0).into(),
        p.channel_order_no.clone().into(),
        p.error_code.clone().into(),
        p.error_message.clone().into(),
        p.attrs.to_string().into(),
    ]
}

pub(crate) fn payout_row(r: &Row) -> Result<Payout, StoreError> {
    let state = r.text(7)?;
    Ok(Payout {
        id: PayoutId(r.text(0)?),
        merchant_id: MerchantId(r.text(1)?),
        protocol: protocol(&r.text(2)?)?,
        merchant_order_no: r.text(3)?,
        public_id: r.text(4)?,
        amount: Money::new(r.int(6)?, currency(&r.text(5)?)?),
        state: PayoutState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("payout state {state}")))?,
        notify_url: r.opt_text(8)?,
        created_at: Timestamp(r.int(9)?),
        updated_at: Timestamp(r.int(10)?),
        finished_at: r.opt_int(11)?.map(Timestamp),
        channel_order_no: r.opt_text(12)?,
        error_code: r.opt_text(13)?,
        error_message: r.opt_text(14)?,
        attrs: json(&r.text(15)?)?,
    })
}

fn refund_values(r: &Refund) -> Vec<Value> {
    vec![
        r.id.as_str().into(),
        r.merchant_id.as_str().into(),
        r.payment_id.as_str().into(),
        r.protocol.as_str().into(),
        r.merchant_refund_no.as_str().into(),
        r.public_id.as_str().into(),
        r.amount.currency.code().into(),
        r.amount.minor.into(),
        r.state.as_str().into(),
        r.reason.clone().into(),
        r.notify_url.clone().into(),
        r.created_at.0.into(),
        r.updated_at.0.into(),
        r.finished_at.map(|t| t.0).into(),
        r.error_code.clone().into(),
        r.error_message.clone().into(),
        r.attrs.to_string().into(),
    ]
}

pub(crate) fn refund_row(r: &Row) -> Result<Refund, StoreError> {
    let state = r.text(8)?;
    Ok(Refund {
        id: RefundId(r.text(0)?),
        merchant_id: MerchantId(r.text(1)?),
        payment_id: PaymentId(r.text(2)?),
        protocol: protocol(&r.text(3)?)?,
        merchant_refund_no: r.text(4)?,
        public_id: r.text(5)?,
        amount: Money::new(r.int(7)?, currency(&r.text(6)?)?),
        state: RefundState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("refund state {state}")))?,
        reason: r.opt_text(9)?,
        notify_url: r.opt_text(10)?,
        created_at: Timestamp(r.int(11)?),
        updated_at: Timestamp(r.int(12)?),
        finished_at: r.opt_int(13)?.map(Timestamp),
        error_code: r.opt_text(14)?,
        error_message: r.opt_text(15)?,
        attrs: json(&r.text(16)?)?,
    })
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
