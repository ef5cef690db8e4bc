//! Payments: the create (with its event and claim in one statement on PostgreSQL), lookups, sweeps.

use super::{Db, OutboxAppend, currency, json, protocol};
use crate::error::StoreError;
use crate::sql::{Dialect, Row, Value};
use polypay_core::{Currency, MerchantId, Money, Payment, PaymentId, PaymentState, Timestamp};

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

impl Db<'_> {
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
        self.payment_where("id = $1", &[id.as_str().into()], true)
    }

    pub fn payment_by_order_no(
        &mut self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Option<Payment>, StoreError> {
        self.payment_where(
            "merchant_id = $1 AND merchant_order_no = $2",
            &[m.as_str().into(), order_no.into()],
            false,
        )
    }

    pub fn payment_by_public_id(&mut self, public_id: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("public_id = $1", &[public_id.into()], false)
    }

    pub fn payment_by_cashier_token(&mut self, token: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("cashier_token = $1", &[token.into()], false)
    }

    fn payment_where(
        &mut self,
        cond: &str,
        params: &[Value],
        by_id: bool,
    ) -> Result<Option<Payment>, StoreError> {
        let sql = format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE {cond}{}",
            if by_id { self.lock() } else { "" }
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

    /// Drops a payment's scheduled success that was due at `due_by` (one the state machine
    /// refused): it stays open and the expiry sweep sees it again. A success scheduled later
    /// meanwhile (a transfer seen since) is kept.
    pub fn unschedule_payment_success(
        &mut self,
        id: &PaymentId,
        due_by: Timestamp,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE payments SET succeed_at = NULL WHERE id = $1 AND succeed_at <= $2",
            &[id.as_str().into(), due_by.0.into()],
        )?;
        Ok(())
    }

    /// Open payments whose scheduled success is due at `now`, earliest first, each with its
    /// channel reference (a seen transfer's hash, which the success keeps) and currency.
    pub fn due_payment_successes(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(PaymentId, Option<String>, Currency)>, StoreError> {
        let sql = format!(
            "SELECT id, channel_order_no, currency FROM payments WHERE state IN ('created', 'pending') \
             AND succeed_at IS NOT NULL AND succeed_at <= $1 ORDER BY succeed_at, id LIMIT {}",
            limit.max(1)
        );
        self.rows(&sql, &[now.0.into()])?
            .iter()
            .map(|r| {
                Ok((
                    PaymentId(r.text(0)?),
                    r.opt_text(1)?,
                    currency(&r.text(2)?)?,
                ))
            })
            .collect()
    }
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
