//! Refunds: inserts, updates, lookups and scheduled settlements.

use super::{Db, currency, json, protocol};
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Money, PaymentId, Refund, RefundId, RefundState, Timestamp};

pub(crate) const REFUND_COLS: &str = "id, merchant_id, payment_id, protocol, merchant_refund_no, public_id, currency, amount_minor, \
    state, reason, notify_url, created_at, updated_at, finished_at, error_code, error_message, attrs, channel_order_no";

impl Db<'_> {
    /// Inserts a refund; `false` when the merchant already has one with that refund number.
    pub fn insert_refund(&mut self, r: &Refund) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO refunds ({REFUND_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (merchant_id, merchant_refund_no) DO NOTHING"
        );
        Ok(self.exec(&sql, &refund_values(r))? == 1)
    }

    pub fn update_refund(&mut self, r: &Refund) -> Result<(), StoreError> {
        self.exec(
            "UPDATE refunds SET state = $2, updated_at = $3, finished_at = $4, error_code = $5, error_message = $6, \
             attrs = $7, channel_order_no = $8 WHERE id = $1",
            &[
                r.id.as_str().into(),
                r.state.as_str().into(),
                r.updated_at.0.into(),
                r.finished_at.map(|t| t.0).into(),
                r.error_code.clone().into(),
                r.error_message.clone().into(),
                r.attrs.to_string().into(),
                r.channel_order_no.clone().into(),
            ],
        )?;
        Ok(())
    }

    pub fn refund(&mut self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        self.refund_where("id = $1", &[id.as_str().into()], true)
    }

    pub fn refund_by_no(
        &mut self,
        m: &MerchantId,
        refund_no: &str,
    ) -> Result<Option<Refund>, StoreError> {
        self.refund_where(
            "merchant_id = $1 AND merchant_refund_no = $2",
            &[m.as_str().into(), refund_no.into()],
            false,
        )
    }

    pub fn refund_by_public_id(&mut self, public_id: &str) -> Result<Option<Refund>, StoreError> {
        self.refund_where("public_id = $1", &[public_id.into()], false)
    }

    fn refund_where(
        &mut self,
        cond: &str,
        params: &[Value],
        by_id: bool,
    ) -> Result<Option<Refund>, StoreError> {
        let sql = format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE {cond}{}",
            if by_id { self.lock() } else { "" }
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
    ) -> Result<Vec<(RefundId, PaymentId)>, StoreError> {
        let sql = format!(
            "SELECT id, payment_id FROM refunds WHERE state = 'pending' AND settle_at IS NOT NULL \
             AND settle_at <= $1 ORDER BY settle_at, id LIMIT {}",
            limit.max(1)
        );
        self.rows(&sql, &[now.0.into()])?
            .iter()
            .map(|r| Ok((RefundId(r.text(0)?), PaymentId(r.text(1)?))))
            .collect()
    }
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
        r.channel_order_no.clone().into(),
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
        channel_order_no: r.opt_text(17)?,
    })
}
