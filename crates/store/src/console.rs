//! The operator console's read queries: filtered, paged lists of payments, payouts and refunds,
//! every merchant's balances, and counts by state.
//!
//! Paging is by offset, newest first: an operator pages through a few screens, not millions of
//! rows, and offsets keep "page 3" a stable link while nothing new arrives.

use crate::db::{
    Db, PAYMENT_COLS, PAYOUT_COLS, REFUND_COLS, currency, payment_row, payout_row, refund_row,
};
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Money, Payment, Payout, Protocol, Refund, Timestamp};

/// Most rows one page may hold.
pub const MAX_PAGE: i64 = 200;

/// Filters of a console list; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub merchant_id: Option<MerchantId>,
    pub protocol: Option<Protocol>,
    /// A state name of the listed kind (`succeeded`, `processing`, …), compared exactly.
    pub state: Option<String>,
    /// Created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Created strictly before this time.
    pub created_before: Option<Timestamp>,
    /// The merchant's order (refund) number, the protocol's public id or polypay's id, exactly.
    pub number: Option<String>,
    /// Rows per page (clamped to 1..=[`MAX_PAGE`]).
    pub limit: i64,
    /// Rows skipped (page * limit).
    pub offset: i64,
}

/// One page of a list, newest first; `has_more` when a next page exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// The three listed kinds; each knows its table and its merchant-number column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Payments,
    Payouts,
    Refunds,
}

impl Listing {
    fn table(self) -> &'static str {
        match self {
            Listing::Payments => "payments",
            Listing::Payouts => "payouts",
            Listing::Refunds => "refunds",
        }
    }

    fn columns(self) -> &'static str {
        match self {
            Listing::Payments => PAYMENT_COLS,
            Listing::Payouts => PAYOUT_COLS,
            Listing::Refunds => REFUND_COLS,
        }
    }

    fn number_column(self) -> &'static str {
        match self {
            Listing::Refunds => "merchant_refund_no",
            _ => "merchant_order_no",
        }
    }
}

/// The `WHERE …` text (possibly empty) and its parameters, numbered from `$1`.
fn where_clause(f: &ListFilter, number_column: &str) -> (String, Vec<Value>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut push = |cond: &dyn Fn(usize) -> String, value: Value| {
        params.push(value);
        conds.push(cond(params.len()));
    };
    if let Some(m) = &f.merchant_id {
        push(&|n| format!("merchant_id = ${n}"), m.as_str().into());
    }
    if let Some(p) = f.protocol {
        push(&|n| format!("protocol = ${n}"), p.as_str().into());
    }
    if let Some(s) = &f.state {
        push(&|n| format!("state = ${n}"), s.as_str().into());
    }
    if let Some(t) = f.created_from {
        push(&|n| format!("created_at >= ${n}"), t.0.into());
    }
    if let Some(t) = f.created_before {
        push(&|n| format!("created_at < ${n}"), t.0.into());
    }
    if let Some(no) = &f.number {
        let cond = |n: usize| format!("({number_column} = ${n} OR public_id = ${n} OR id = ${n})");
        push(&cond, no.as_str().into());
    }
    if conds.is_empty() {
        (String::new(), params)
    } else {
        (format!("WHERE {}", conds.join(" AND ")), params)
    }
}

impl Db<'_> {
    /// Rows of one listing matching `f`, one more than the page so the caller knows if more follow.
    fn console_rows(&mut self, kind: Listing, f: &ListFilter) -> Result<Vec<Row>, StoreError> {
        let (cond, mut params) = where_clause(f, kind.number_column());
        params.push((f.limit.clamp(1, MAX_PAGE) + 1).into());
        let limit = params.len();
        params.push(f.offset.max(0).into());
        let offset = params.len();
        let sql = format!(
            "SELECT {} FROM {} {cond} ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}",
            kind.columns(),
            kind.table()
        );
        self.rows(&sql, &params)
    }

    fn console_page<T>(
        &mut self,
        kind: Listing,
        f: &ListFilter,
        row: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let rows = self.console_rows(kind, f)?;
        let page = usize::try_from(f.limit.clamp(1, MAX_PAGE)).unwrap_or(1);
        let has_more = rows.len() > page;
        let items = rows.iter().take(page).map(row).collect::<Result<_, _>>()?;
        Ok(Page { items, has_more })
    }

    /// Payments matching `f`, newest first.
    pub fn console_payments(&mut self, f: &ListFilter) -> Result<Page<Payment>, StoreError> {
        self.console_page(Listing::Payments, f, payment_row)
    }

    /// Payouts matching `f`, newest first.
    pub fn console_payouts(&mut self, f: &ListFilter) -> Result<Page<Payout>, StoreError> {
        self.console_page(Listing::Payouts, f, payout_row)
    }

    /// Refunds matching `f` (the number matches the merchant's refund number), newest first.
    pub fn console_refunds(&mut self, f: &ListFilter) -> Result<Page<Refund>, StoreError> {
        self.console_page(Listing::Refunds, f, refund_row)
    }

    /// How many objects of a listing are in each state, by state name.
    pub fn console_state_counts(
        &mut self,
        kind: Listing,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT state, COUNT(*) FROM {} GROUP BY state ORDER BY state",
            kind.table()
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect()
    }

    /// Every merchant's available balance per currency, by merchant, then currency.
    pub fn all_balances(&mut self) -> Result<Vec<(MerchantId, Money)>, StoreError> {
        let rows = self.rows(
            "SELECT merchant_id, currency, available_minor FROM balances ORDER BY merchant_id, currency",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let amount = Money::new(r.int(2)?, currency(&r.text(1)?)?);
                Ok((MerchantId(r.text(0)?), amount))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_number_their_parameters_in_order() {
        let f = ListFilter {
            merchant_id: Some(MerchantId("mch_1".into())),
            state: Some("succeeded".into()),
            created_from: Some(Timestamp(5)),
            number: Some("o-1".into()),
            ..ListFilter::default()
        };
        let (cond, params) = where_clause(&f, "merchant_order_no");
        assert_eq!(
            cond,
            "WHERE merchant_id = $1 AND state = $2 AND created_at >= $3 AND \
             (merchant_order_no = $4 OR public_id = $4 OR id = $4)"
        );
        assert_eq!(params.len(), 4);
        assert_eq!(where_clause(&ListFilter::default(), "x").0, "");
    }
}
