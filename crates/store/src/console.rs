//! The operator's read queries: filtered, paged lists of payments, payouts and refunds (the
//! console's, the admin API's and `polypay export`'s), every merchant's balances, and counts by
//! state.
//!
//! Lists are newest first, `(created_at, id)` descending, read from an index (migration 11). The
//! console pages by offset: an operator pages through a few screens, not millions of rows, and
//! offsets keep "page 3" a stable link while nothing new arrives. The admin API and the export
//! page by position ([`ListFilter::before`]): each page starts after the last row of the one
//! before, at the same cost however deep, and rows created meanwhile neither shift nor repeat
//! it.

use crate::db::{
    Db, PAYMENT_COLS, PAYOUT_COLS, REFUND_COLS, currency, payment_row, payout_row, refund_row,
};
use crate::error::StoreError;
use crate::sql::{Row, Value};
use polypay_core::{MerchantId, Money, Payment, Payout, Protocol, Refund, Timestamp};

/// Most rows one page may hold.
pub const MAX_PAGE: i64 = 1000;

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
    /// Finished (succeeded, failed, expired, …) at or after this time.
    pub finished_from: Option<Timestamp>,
    /// Finished strictly before this time.
    pub finished_before: Option<Timestamp>,
    /// The merchant's order (refund) number, the protocol's public id or polypay's id, exactly.
    pub number: Option<String>,
    /// Only rows listed after this one: `(created_at, id)` strictly smaller.
    pub before: Option<Position>,
    /// Rows per page (clamped to 1..=[`MAX_PAGE`]).
    pub limit: i64,
    /// Rows skipped (page * limit).
    pub offset: i64,
}

/// Where a row stands in a list: its creation time and id, the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub created_at: Timestamp,
    pub id: String,
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
    /// The kind's name, in the plural (`payments`): its table, the admin API's path and key.
    pub fn name(self) -> &'static str {
        self.table()
    }

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
    if let Some(t) = f.finished_from {
        push(&|n| format!("finished_at >= ${n}"), t.0.into());
    }
    if let Some(t) = f.finished_before {
        push(&|n| format!("finished_at < ${n}"), t.0.into());
    }
    if let Some(no) = &f.number {
        let cond = |n: usize| format!("({number_column} = ${n} OR public_id = ${n} OR id = ${n})");
        push(&cond, no.as_str().into());
    }
    if let Some(at) = &f.before {
        params.push(at.created_at.0.into());
        params.push(at.id.as_str().into());
        let n = params.len();
        conds.push(format!("(created_at, id) < (${}, ${n})", n - 1));
    }
    if conds.is_empty() {
        (String::new(), params)
    } else {
        (format!("WHERE {}", conds.join(" AND ")), params)
    }
}

/// The query of one page of a listing: newest first, one row more than the page.
fn list_sql(kind: Listing, f: &ListFilter) -> (String, Vec<Value>) {
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
    (sql, params)
}

impl Db<'_> {
    /// Rows of one listing matching `f`, one more than the page so the caller knows if more follow.
    fn console_rows(&mut self, kind: Listing, f: &ListFilter) -> Result<Vec<Row>, StoreError> {
        let (sql, params) = list_sql(kind, f);
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
        let f = ListFilter {
            finished_from: Some(Timestamp(1)),
            number: Some("o-1".into()),
            before: Some(Position {
                created_at: Timestamp(9),
                id: "pay_9".into(),
            }),
            ..ListFilter::default()
        };
        let (cond, params) = where_clause(&f, "merchant_order_no");
        assert_eq!(
            cond,
            "WHERE finished_at >= $1 AND (merchant_order_no = $2 OR public_id = $2 OR id = $2) \
             AND (created_at, id) < ($3, $4)"
        );
        assert_eq!(params.len(), 4);
    }

    /// Every list reads its rows in order from an index: no sort of the whole table per page
    /// (each was one on the console's unfiltered list before migration 11).
    #[test]
    fn lists_read_newest_first_from_an_index() {
        use crate::sql::Conn;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = crate::sqlite::SqliteConn::open(&dir.path().join("l.db")).expect("open");
        crate::migrate::migrate(&mut conn, 0).expect("migrate");
        let position = Some(Position {
            created_at: Timestamp(9),
            id: "x".into(),
        });
        let filters = [
            ListFilter::default(),
            ListFilter {
                state: Some("succeeded".into()),
                before: position.clone(),
                ..ListFilter::default()
            },
            ListFilter {
                merchant_id: Some(MerchantId("mch_1".into())),
                before: position,
                ..ListFilter::default()
            },
        ];
        for kind in [Listing::Payments, Listing::Payouts, Listing::Refunds] {
            for f in &filters {
                let (sql, params) = list_sql(kind, f);
                let plan = conn
                    .query(&format!("EXPLAIN QUERY PLAN {sql}"), &params)
                    .expect("plan");
                let plan: Vec<String> = plan.iter().map(|r| r.text(3).expect("detail")).collect();
                let plan = plan.join("; ");
                assert!(plan.contains("USING INDEX"), "{kind:?} {f:?}: {plan}");
                // Sorting the ties of one creation millisecond by id is fine; the whole list not.
                assert!(
                    !plan.contains("TEMP B-TREE FOR ORDER BY"),
                    "{kind:?} {f:?}: {plan}"
                );
            }
        }
    }
}
