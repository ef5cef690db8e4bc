//! Payouts: inserts, updates, lookups and the unfinished ones.

use super::{Db, currency, json, protocol};
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Money, Payout, PayoutId, PayoutState, Timestamp};

pub(crate) const PAYOUT_COLS: &str = "id, merchant_id, protocol, merchant_order_no, public_id, currency, amount_minor, state, \
    notify_url, created_at, updated_at, finished_at, channel_order_no, error_code, error_message, attrs";

impl Db<'_> {
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
        self.payout_where("id = $1", &[id.as_str().into()], true)
    }

    pub fn payout_by_order_no(
        &mut self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Option<Payout>, StoreError> {
        self.payout_where(
            "merchant_id = $1 AND merchant_order_no = $2",
            &[m.as_str().into(), order_no.into()],
            false,
        )
    }

    pub fn payout_by_public_id(&mut self, public_id: &str) -> Result<Option<Payout>, StoreError> {
        self.payout_where("public_id = $1", &[public_id.into()], false)
    }

    fn payout_where(
        &mut self,
        cond: &str,
        params: &[Value],
        by_id: bool,
    ) -> Result<Option<Payout>, StoreError> {
        let sql = format!(
            "SELECT {PAYOUT_COLS} FROM payouts WHERE {cond}{}",
            if by_id { self.lock() } else { "" }
        );
        self.one(&sql, params)?.map(|r| payout_row(&r)).transpose()
    }

    /// Payouts not yet final that the sandbox payout processor may have to move: every pending
    /// one, and those created at or before `created_by` (whose delay has passed), in `(created
    /// at, id)` order after `after` (the last one of the page before), at most `limit`. The
    /// processor pages on past those it leaves as they are (held by an amount rule, locked).
    pub fn unfinished_payouts(
        &mut self,
        created_by: Timestamp,
        after: Option<(Timestamp, &PayoutId)>,
        limit: i64,
    ) -> Result<Vec<Payout>, StoreError> {
        let mut params: Vec<Value> = vec![created_by.0.into(), limit.into()];
        let position = match after {
            Some((at, id)) => {
                params.extend([at.0.into(), id.as_str().into()]);
                " AND (created_at > $3 OR (created_at = $3 AND id > $4))"
            }
            None => "",
        };
        let sql = format!(
            "SELECT {PAYOUT_COLS} FROM payouts WHERE state IN ('pending', 'processing') \
             AND (state = 'pending' OR created_at <= $1){position} ORDER BY created_at, id LIMIT $2"
        );
        self.rows(&sql, &params)?.iter().map(payout_row).collect()
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
