//! The delivery queries, written once for both backends: ingestion, leasing, recording and the
//! operator's reads.
//!
//! Leasing is safe with several nodes on PostgreSQL: candidate rows are locked with
//! `FOR UPDATE SKIP LOCKED` and re-checked against the newest row version before the lease is
//! written, so two nodes never hold the same delivery. SQLite has one writer, which serialises it.

use super::{
    ATTEMPT_COLS, AfterAttempt, DELIVERY_COLS, Delivery, DeliveryAttempt, DeliveryFilter,
    DeliveryState, FinishedAttempt, LeaseRequest, NewDelivery, OutboxHorizon, Purged, SilentEvents,
    attempt_row, delivery_row, readable, request_values,
};
use crate::db::{Db, OutboxEvent};
use crate::error::StoreError;
use crate::sql::{Dialect, Row, Value};
use polypay_core::{MerchantId, Protocol, Timestamp};
use std::collections::HashMap;
use std::sync::LazyLock;

const OUTBOX_COLS: &str =
    "o.id, o.merchant_id, o.protocol, o.object_kind, o.object_id, o.event, o.payload, o.created_at";

/// Outbox rows above the cursor with no delivery yet (`$1` is the cursor).
///
/// The subquery repeats the bound on `d.outbox_id`: PostgreSQL plans the anti-join as a merge
/// join, whose inner scan of `deliveries_outbox_id_key` otherwise starts at the first delivery
/// ever ingested and walks every one below the cursor on each read (14 ms at 20k deliveries,
/// `auto_explain` during a bench run; with the bound, a few hundred index entries).
const NOT_INGESTED: &str = "FROM outbox o WHERE o.id > $1 \
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = o.id AND d.outbox_id > $1)";

/// The earliest due, unleased, pending deliveries that no earlier pending delivery of their key
/// holds back: the lease's candidates (`$1` is now, `$2` real time, which leases follow; the
/// window size is appended as a literal, see `lease_deliveries`). Only a bounded window is
/// considered, so the cost of a lease does not grow with the backlog (a backlog of 21k made an
/// unbounded lease 50-70 ms, on the writer). The price: while one merchant alone has that many
/// deliveries due before another's, the other waits for them to be attempted (each attempt
/// either succeeds or moves its delivery later). A delivery held back by its key could not be
/// attempted, so it stays out of the window (one probe of `deliveries_in_order` each): a
/// window full of them, due before the retries they wait for, stopped every callback.
const LEASE_CANDIDATES: &str = "SELECT id, merchant_id, lease_owner, leased_at, attempts FROM deliveries d \
    WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $2) \
    AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.order_key = d.order_key \
      AND e.state = 'pending' AND e.outbox_id < d.outbox_id) \
    ORDER BY next_attempt_at, id LIMIT ";

/// Leases are held by a merchant's deliveries (`$1` the merchant, `$2` real time).
const LEASES_HELD: &str = "SELECT COUNT(*) FROM deliveries \
    WHERE merchant_id = $1 AND state = 'pending' AND lease_until > $2";

/// Deliveries per multi-row `INSERT` (18 parameters each: 576, well inside both backends'
/// limits).
const INSERT_CHUNK: usize = 32;
/// Parameters per delivery in `insert_deliveries_sql`.
const INSERT_PARAMS: usize = 18;

/// The columns `delivery_values` fills, in its order.
const INSERT_COLUMNS: &str = "outbox_id, merchant_id, protocol, object_kind, object_id, order_key, \
    event, state, method, url, headers, body, body_base64, attempts, schedule_start, schedule_at, \
    next_attempt_at, lease_seq, last_error, created_at, updated_at, finished_at";

/// The SQL type of each of a new delivery's `INSERT_PARAMS` values (`insert_delivery_rows`).
const INSERT_TYPES: [&str; INSERT_PARAMS] = [
    "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT",
    "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT",
];

/// One delivery's `INSERT_COLUMNS` values, its `k`-th parameter (from 1) written `p(k)`.
fn delivery_values(p: impl Fn(usize) -> String) -> String {
    format!(
        "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, 0, {}, {}, 0, {}, {}, {}, {}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8),
        p(9),
        p(10),
        p(11),
        p(12),
        p(13),
        p(14),
        p(15),
        p(16),
        p(17),
        p(17),
        p(18)
    )
}

/// `INSERT` of `rows` deliveries (`INSERT_PARAMS` parameters each), built once per size.
fn insert_deliveries_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| {
            format!(
                "({})",
                delivery_values(|k| format!("${}", i * INSERT_PARAMS + k))
            )
        })
        .collect();
    format!(
        "INSERT INTO deliveries ({INSERT_COLUMNS}) VALUES {} ON CONFLICT (outbox_id) DO NOTHING",
        values.join(", ")
    )
}

/// PostgreSQL: `INSERT` of any number of deliveries from one JSON parameter (`json_rows`).
///
/// Nodes ingest the same recent events (each reads the outbox's last minute), so most rows of
/// a pass exist already: those the statement's snapshot shows are left out before the insert,
/// because the unique index's check would wait for any transaction updating one of them (an
/// attempt's result, in a batch that may wait in turn for this one: a deadlock). The rest go
/// in ascending `outbox_id` order, as on every node, so two ingestions of the same new events
/// meet at the first and never cross.
fn insert_deliveries_json_sql() -> String {
    let outbox_id = json_col(0, INSERT_TYPES[0]);
    format!(
        "INSERT INTO deliveries ({INSERT_COLUMNS}) SELECT {} FROM {} \
         WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = {outbox_id}) \
         ORDER BY {outbox_id} \
         ON CONFLICT (outbox_id) DO NOTHING",
        delivery_values(|k| json_col(k - 1, INSERT_TYPES[k - 1])),
        json_rows(1)
    )
}

/// PostgreSQL: the rows of a JSON array of arrays passed as parameter `$n`, each as `e`
/// (`json_param` builds it). One statement, one parameter, whatever the number of rows: a batch
/// is one round trip and one statement text instead of a chunk of `INSERT_CHUNK` rows per
/// statement (a 500-event ingestion batch was 16 statements). `JSONB`: parsed once; `e->>k` on
/// a `JSON` value parses the element's text again for every column (a 500-row ingestion insert
/// took 29 ms).
fn json_rows(n: usize) -> String {
    format!("jsonb_array_elements(CAST(CAST(${n} AS TEXT) AS JSONB)) AS e")
}

/// PostgreSQL: every element of a `json_rows` row, the `k`-th as `types[k]`.
fn json_cols(types: &[&str]) -> impl Iterator<Item = String> {
    types.iter().enumerate().map(|(k, ty)| json_col(k, ty))
}

/// PostgreSQL: element `k` (from 0) of a `json_rows` row, as `ty`.
fn json_col(k: usize, ty: &str) -> String {
    if ty == "TEXT" {
        format!("(e->>{k})")
    } else {
        format!("CAST(e->>{k} AS {ty})")
    }
}

/// PostgreSQL: rows of values as one JSON parameter for `json_rows` (numbers as numbers, text
/// as strings, NULL as null).
fn json_param(rows: Vec<Vec<Value>>) -> Result<Value, StoreError> {
    let rows: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|row| {
            serde_json::Value::Array(
                row.into_iter()
                    .map(|v| match v {
                        Value::Null => serde_json::Value::Null,
                        Value::Int(i) => i.into(),
                        Value::Text(t) => t.into(),
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(Value::Text(serde_json::to_string(&rows)?))
}

/// A batch split into statement-sized chunks: `INSERT_CHUNK` rows each, then the rest in
/// falling powers of two (at most six statement texts per kind, each prepared once).
fn chunked<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= INSERT_CHUNK {
            INSERT_CHUNK
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// The chunk sizes `chunked` yields: 1, 2, 4, … `INSERT_CHUNK`.
fn statement_sizes() -> impl Iterator<Item = usize> {
    const { assert!(INSERT_CHUNK.is_power_of_two()) };
    (0..=INSERT_CHUNK.ilog2()).map(|k| 1 << k)
}

/// The text for `size` rows from a cache built over `statement_sizes`.
fn sized(cache: &[String], size: usize) -> &str {
    &cache[size.ilog2() as usize]
}

/// SQLite: leases `rows` deliveries by id in one `UPDATE … RETURNING` (`$1` node, `$2` now,
/// `$3` lease end, `$4` real time, then the ids; see `take_from`).
fn take_sql(rows: usize) -> String {
    let ids: Vec<String> = (0..rows).map(|i| format!("${}", i + 5)).collect();
    take_from(&format!("x.id IN ({})", ids.join(", ")), "")
}

/// PostgreSQL: `take_sql` for any number of ids, as one array parameter (`$5`, the text of a
/// `BIGINT[]`: `{1,2,3}`), each row locked with `FOR UPDATE … SKIP LOCKED` (a row another node
/// is leasing is skipped, not waited for).
fn take_array_sql() -> String {
    take_from(
        "x.id = ANY(CAST(CAST($5 AS TEXT) AS BIGINT[]))",
        " FOR UPDATE OF x SKIP LOCKED",
    )
}

/// Ids as the list of an SQL `IN (…)` (integers only, so safe to inline).
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// PostgreSQL: ids as the text of a `BIGINT[]` (`CAST(CAST($n AS TEXT) AS BIGINT[])`).
fn id_array(ids: impl Iterator<Item = i64>) -> Value {
    let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
    Value::Text(format!("{{{}}}", ids.join(",")))
}

/// The lease `UPDATE … RETURNING` of the deliveries `ids` (a condition on `x.id`), re-checking
/// each on its newest version: still pending, due, unleased, and not blocked by an earlier
/// pending delivery of its key; `lock` is appended to the candidates' select.
///
/// The state is tested as `x.state || ''` so that no partial index (all are `WHERE state =
/// 'pending'`) matches and the id list is the only way in: with statistics gathered while the
/// table was small, PostgreSQL's generic plan for `x.state = 'pending'` walked `deliveries_due`
/// over every due row instead (15 ms against 0.3 ms for 32 ids, `EXPLAIN ANALYZE` during a bench
/// run).
fn take_from(ids: &str, lock: &str) -> String {
    format!(
        "UPDATE deliveries SET lease_owner = $1, leased_at = $2, lease_until = $3, \
         lease_seq = lease_seq + 1 WHERE id IN (SELECT x.id FROM deliveries x WHERE {ids} \
         AND x.state || '' = 'pending' AND x.next_attempt_at <= $2 \
         AND (x.lease_until IS NULL OR x.lease_until <= $4) \
         AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.order_key = x.order_key \
           AND e.state = 'pending' AND e.outbox_id < x.outbox_id){lock}) \
         RETURNING {DELIVERY_COLS}"
    )
}

/// The operator's delivery list (`Db::deliveries`): its statement and parameters. A payment's
/// deliveries are those whose object is the payment or one of its refunds (found through
/// `refunds_by_payment`), each reached through `deliveries_by_object`, so the console's payment
/// page never scans the table. Not the order key: under a protocol that delivers events
/// independently it is `<payment>#<outbox id>`.
fn filter_sql(f: &DeliveryFilter) -> (String, Vec<Value>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(m) = &f.merchant_id {
        params.push(m.as_str().into());
        conds.push(format!("merchant_id = ${}", params.len()));
    }
    if let Some(p) = &f.payment {
        params.push(p.as_str().into());
        let n = params.len();
        conds.push(format!(
            "object_id IN (SELECT CAST(${n} AS TEXT) \
             UNION ALL SELECT id FROM refunds WHERE payment_id = ${n})"
        ));
    }
    if let Some(s) = f.state {
        params.push(s.as_str().into());
        conds.push(format!("state = ${}", params.len()));
    }
    if f.attempted {
        conds.push("attempts > 0".into());
    }
    if let Some(before) = f.before_id {
        params.push(before.into());
        conds.push(format!("id < ${}", params.len()));
    }
    params.push(f.limit.into());
    let limit = params.len();
    let cond = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql =
        format!("SELECT {DELIVERY_COLS} FROM deliveries {cond} ORDER BY id DESC LIMIT ${limit}");
    (sql, params)
}

/// `rows` parenthesised rows of `width` parameters each, numbered from `$(after + 1)`, each
/// written by `col(k, "$n")` for the row's `k`-th column.
fn value_rows(
    rows: usize,
    width: usize,
    after: usize,
    col: impl Fn(usize, String) -> String,
) -> String {
    let row = |i: usize| {
        let cols: Vec<String> = (0..width)
            .map(|k| col(k, format!("${}", after + i * width + k + 1)))
            .collect();
        format!("({})", cols.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// `(CAST($n AS type), …)` rows of a `VALUES` list, one parameter per type, numbered from
/// `$(after + 1)`. The casts give PostgreSQL each parameter's type (a bare `VALUES` parameter
/// would be text); SQLite accepts them too.
fn typed_values(rows: usize, types: &[&str], after: usize) -> String {
    value_rows(rows, types.len(), after, |k, p| {
        format!("CAST({p} AS {})", types[k])
    })
}

/// Parameters per attempt in `insert_attempts_sql`.
const ATTEMPT_PARAMS: usize = 14;

/// The columns of an attempt log entry, in `attempt_params` order.
const ATTEMPT_INSERT_COLUMNS: &str = "delivery_id, attempt, node_id, started_at, method, url, \
    headers, body, body_base64, outcome, response_status, response_body, latency_ms, error";

/// `INSERT` of `rows` attempt log entries.
fn insert_attempts_sql(rows: usize) -> String {
    format!(
        "INSERT INTO delivery_attempts ({ATTEMPT_INSERT_COLUMNS}) VALUES {}",
        value_rows(rows, ATTEMPT_PARAMS, 0, |_, p| p)
    )
}

/// The columns of one finished attempt's effect, in `finish_sql`'s `VALUES` order: delivery
/// id, lease, new state, next attempt, last status, last error, finished at.
const FINISH_TYPES: [&str; 7] = [
    "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "TEXT", "BIGINT",
];

/// Applies `rows` finished attempts in one `UPDATE … FROM (VALUES …)` (`$1` is now; each row's
/// parameters follow). Only a delivery still pending under the attempt's lease changes.
fn finish_sql(rows: usize) -> String {
    finish_from(
        &format!("(VALUES {})", typed_values(rows, &FINISH_TYPES, 1)),
        "deliveries.state",
        "",
    )
}

/// PostgreSQL: `finish_sql` for any number of attempts, from one JSON parameter (`$3`; `$2`
/// holds their deliveries' ids as a `BIGINT[]`).
fn finish_json_sql() -> String {
    let cols: Vec<String> = json_cols(&FINISH_TYPES)
        .enumerate()
        .map(|(k, col)| format!("{col} AS column{}", k + 1))
        .collect();
    // The rows' count is unknown to the planner (it assumes 100): with `deliveries.state =
    // 'pending'` and statistics from when the table was small, it read every due row through
    // `deliveries_due` and hash-joined them (3.8 ms a statement, `auto_explain` during a bench
    // run), so no partial index may match. Nor may the join be the only way in: a generic plan
    // made while the table held a few thousand rows hash-joined a sequential scan of all of it
    // (10 ms a statement at 20k rows, eleventh session). The id list reaches the rows through
    // the primary key whatever the statistics say (the planner assumes ten elements), as the
    // lease does (`take_array_sql`).
    finish_from(
        &format!("(SELECT {} FROM {})", cols.join(", "), json_rows(3)),
        "deliveries.state || ''",
        " AND deliveries.id = ANY(CAST(CAST($2 AS TEXT) AS BIGINT[]))",
    )
}

/// The `UPDATE` of `finish_sql`, its rows (`column1`…`column7`) from `source`, `state` the
/// delivery's state as tested, `and` more conditions.
fn finish_from(source: &str, state: &str, and: &str) -> String {
    format!(
        "UPDATE deliveries SET attempts = attempts + 1, state = v.column3, next_attempt_at = v.column4, \
         lease_owner = NULL, leased_at = NULL, lease_until = NULL, last_status = v.column5, \
         last_error = v.column6, updated_at = $1, finished_at = v.column7 \
         FROM {source} AS v \
         WHERE deliveries.id = v.column1 AND deliveries.lease_seq = v.column2 \
         AND {state} = 'pending'{and}"
    )
}

/// The SQL type of each of an attempt's `ATTEMPT_PARAMS` values (`attempt_params`).
const ATTEMPT_TYPES: [&str; ATTEMPT_PARAMS] = [
    "BIGINT", "BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "TEXT",
    "BIGINT", "TEXT", "BIGINT", "TEXT",
];

/// PostgreSQL: `insert_attempts_sql` for any number of attempts, from one JSON parameter.
fn insert_attempts_json_sql() -> String {
    let cols: Vec<String> = json_cols(&ATTEMPT_TYPES).collect();
    format!(
        "INSERT INTO delivery_attempts ({ATTEMPT_INSERT_COLUMNS}) SELECT {} FROM {}",
        cols.join(", "),
        json_rows(1)
    )
}

impl Db<'_> {
    /// PostgreSQL: runs `sql` (one of the `json_rows` statements) with `params` and then `rows`
    /// as its last parameter; nothing when there are no rows.
    fn exec_json(
        &mut self,
        sql: &str,
        params: &[Value],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut all = params.to_vec();
        all.push(json_param(rows)?);
        self.exec(sql, &all)
    }

    /// The ingestion cursor: every outbox event at or below it has a delivery.
    pub fn delivery_cursor(&mut self) -> Result<i64, StoreError> {
        let row = self.one(
            "SELECT outbox_id FROM delivery_cursor WHERE name = 'outbox'",
            &[],
        )?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    /// Outbox events above the cursor and above `after` that have no delivery yet, in id order,
    /// leaving out the `silent` ones (they need no delivery).
    pub fn outbox_to_ingest(
        &mut self,
        after: i64,
        limit: i64,
        silent: &SilentEvents,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let cursor = self.delivery_cursor()?.max(after);
        let sql = format!(
            "SELECT {OUTBOX_COLS} {NOT_INGESTED}{} ORDER BY o.id LIMIT {limit}",
            silent.and_not()
        );
        self.rows(&sql, &[cursor.into()])?
            .iter()
            .map(outbox_row)
            .collect()
    }

    /// The highest committed outbox id (`None` while the outbox is empty).
    pub fn outbox_max_id(&mut self) -> Result<Option<i64>, StoreError> {
        self.int_of("SELECT MAX(id) FROM outbox", &[])
    }

    /// One outbox event.
    pub fn outbox_event(&mut self, id: i64) -> Result<Option<OutboxEvent>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLS} FROM outbox o WHERE o.id = $1");
        self.one(&sql, &[id.into()])?
            .map(|r| outbox_row(&r))
            .transpose()
    }

    /// Creates deliveries, each at most once per outbox event (another node may have won the
    /// race: its row stays). Returns how many this call created.
    ///
    /// Rows go in multi-row `INSERT`s of `INSERT_CHUNK` (then falling powers of two for the
    /// rest, see `chunked`): an ingestion batch is a few statements, not one round trip per
    /// row on PostgreSQL, and the statement texts stay few (each is prepared once and cached).
    pub fn insert_deliveries(&mut self, new: &[NewDelivery]) -> Result<u64, StoreError> {
        static SQL: LazyLock<Vec<String>> =
            LazyLock::new(|| statement_sizes().map(insert_deliveries_sql).collect());
        static JSON_SQL: LazyLock<String> = LazyLock::new(insert_deliveries_json_sql);
        if self.dialect() == Dialect::Postgres {
            let rows = new.iter().map(delivery_params).collect::<Result<_, _>>()?;
            return self.exec_json(&JSON_SQL, &[], rows);
        }
        let mut created = 0;
        for chunk in chunked(new) {
            created += self.insert_delivery_rows(sized(&SQL, chunk.len()), chunk)?;
        }
        Ok(created)
    }

    /// Runs `sql` (from `insert_deliveries_sql(rows.len())`) with the values of `rows`.
    fn insert_delivery_rows(&mut self, sql: &str, rows: &[NewDelivery]) -> Result<u64, StoreError> {
        let mut params = Vec::with_capacity(rows.len() * INSERT_PARAMS);
        for d in rows {
            params.extend(delivery_params(d)?);
        }
        self.exec(sql, &params)
    }

    /// Where the ingestion cursor may move, or `None` when it stays: over every event that has
    /// a delivery or is `silent`, but on PostgreSQL not past an id a transaction still in flight
    /// may yet commit. SQLite has one writer and hands out ids in commit order
    /// (`AUTOINCREMENT`), so an id below a committed one is never committed later and no window
    /// is needed. A read: run
    /// it on a read connection, then move the cursor with `advance_delivery_cursor`; a stale
    /// answer is still true later, since deliveries are only removed (with their events) well
    /// below the cursor, by `purge_finished_deliveries`.
    ///
    /// On PostgreSQL an id is final when either rule says so:
    /// - the time rule: it lies below a visible event created before `settled_before` (a
    ///   transaction commits within the settle window of drawing its id, and ids are drawn in
    ///   order);
    /// - the horizon rule, exact: it is at most `horizon.max_id`, and no transaction with an xid
    ///   below `horizon.xid` is still running. Outbox ids come from a sequence without a cache,
    ///   in the order they are drawn, so an id below `max_id` was drawn before the horizon's
    ///   snapshot; every writer transaction takes its xid at `BEGIN`, before drawing one; so
    ///   the transaction that drew it had an xid below `horizon.xid`, and has ended. The rule
    ///   waits only for transactions, not for a minute, but a long transaction anywhere in the
    ///   cluster holds it back (the time rule still applies meanwhile).
    pub fn delivery_cursor_target(
        &mut self,
        settled_before: Timestamp,
        horizon: Option<OutboxHorizon>,
        silent: &SilentEvents,
    ) -> Result<Option<i64>, StoreError> {
        let cursor = self.delivery_cursor()?;
        // The highest id it may pass. On PostgreSQL by the time rule: the last visible event
        // below the first young one (an index walk that stops there: a tick's worth of events,
        // not the last minute's). That event is old, so every id below it was drawn more than
        // the settle window ago and is final; an id between it and the first young event may
        // belong to a transaction still in flight (invisible here), so the cursor stops short
        // of it, not at `young - 1`. Or up to a settled horizon. On SQLite: everything.
        let young = match self.dialect() {
            Dialect::Postgres => self.int_of(
                "SELECT MIN(id) FROM outbox WHERE id > $1 AND created_at > $2",
                &[cursor.into(), settled_before.0.into()],
            )?,
            Dialect::Sqlite => None,
        };
        let mut upper = match young {
            Some(young) => self
                .int_of(
                    "SELECT MAX(id) FROM outbox WHERE id > $1 AND id < $2",
                    &[cursor.into(), young.into()],
                )?
                .unwrap_or(cursor),
            None => self.outbox_max_id()?.unwrap_or(0),
        };
        if let Some(h) = horizon
            && young.is_some()
            && h.max_id > upper
            && self.dialect() == Dialect::Postgres
        {
            let oldest_running = self.int_of(
                "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)",
                &[],
            )?;
            if oldest_running.is_some_and(|x| x >= h.xid) {
                upper = h.max_id;
            }
        }
        if upper <= cursor {
            return Ok(None);
        }
        let first_missing = self.int_of(
            &format!(
                "SELECT MIN(o.id) {NOT_INGESTED} AND o.id <= $2{}",
                silent.and_not()
            ),
            &[cursor.into(), upper.into()],
        )?;
        let next = first_missing.map_or(upper, |m| upper.min(m - 1));
        Ok((next > cursor).then_some(next))
    }

    /// A horizon for `delivery_cursor_target` (PostgreSQL; `None` on SQLite): the highest
    /// committed outbox id, and an xid drawn after the snapshot that read it (one statement: the
    /// snapshot is taken when it starts, the xid while it runs). Costs one xid per call.
    pub fn outbox_horizon(&mut self) -> Result<Option<OutboxHorizon>, StoreError> {
        if self.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        let Some(row) = self.one(
            "SELECT (SELECT MAX(id) FROM outbox), \
             CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)",
            &[],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(OutboxHorizon {
            max_id: row.opt_int(0)?.unwrap_or(0),
            xid: row.int(1)?,
        }))
    }

    /// Moves the ingestion cursor forward to `to` (never back; see `delivery_cursor_target`).
    pub fn advance_delivery_cursor(&mut self, to: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE delivery_cursor SET outbox_id = $1 WHERE name = 'outbox' AND outbox_id < $1",
            &[to.into()],
        )?;
        Ok(())
    }

    /// Leases due deliveries to `req.node_id` (oldest due first, at most `req.per_merchant`
    /// leases held per merchant, in event order per key). A delivery whose previous lease expired
    /// unrecorded gets an `interrupted` attempt in its log. Returns the leased deliveries as now
    /// stored, oldest due first.
    ///
    /// The candidates are read first; each merchant's held leases are counted once (an index
    /// range of at most its quota), and the candidates within their merchant's quota are then
    /// taken together by `take_deliveries` (one `UPDATE … RETURNING` on PostgreSQL, one per
    /// `chunked` chunk on SQLite), which re-checks each on its newest version. A candidate
    /// that fails the re-check gives its merchant's slot back and the next round offers the
    /// following candidates, until the limit is reached or no candidate is left: a merchant
    /// at its quota costs one count, however many of its deliveries are due, and a lease of n
    /// deliveries is a few statements.
    /// Then, if more than `req.reserve` of the limit is still unused, the remaining candidates
    /// borrow it whatever their merchant holds, oldest due first (the fair shares first, spare
    /// slots after: one busy merchant alone is not held to a quarter of the node).
    pub fn lease_deliveries(&mut self, req: &LeaseRequest) -> Result<Vec<Delivery>, StoreError> {
        // A literal, rounded up to a power of two (a few cached statements): SQLite re-prepares
        // a statement whose LIMIT is a bound parameter every time it is bound.
        let window = req.limit.clamp(1, 1 << 20).saturating_mul(4);
        let window = u64::try_from(window).unwrap_or(4).next_power_of_two();
        let sql = format!("{LEASE_CANDIDATES}{window}");
        let at = [req.now.0.into(), req.wall.0.into()];
        let candidates = self.without_bitmap_scans(|db| db.rows(&sql, &at))?;
        let limit = usize::try_from(req.limit).unwrap_or(0);
        let merchants: Vec<String> = candidates
            .iter()
            .map(|c| c.text(1))
            .collect::<Result<_, _>>()?;
        // Leases each merchant may still take in this call.
        let mut quota: HashMap<&str, i64> = HashMap::new();
        let mut offered = vec![false; candidates.len()];
        // (candidate index, delivery as leased)
        let mut leased: Vec<(usize, Delivery)> = Vec::new();
        let borrow_limit = limit.saturating_sub(usize::try_from(req.reserve).unwrap_or(0));
        let mut borrowing = false;
        loop {
            let mut pick: Vec<usize> = Vec::new();
            let cap = if borrowing { borrow_limit } else { limit };
            for (i, merchant) in merchants.iter().enumerate() {
                if leased.len() + pick.len() >= cap {
                    break;
                }
                if offered[i] {
                    continue;
                }
                if borrowing {
                    offered[i] = true;
                    pick.push(i);
                    continue;
                }
                let left = match quota.get_mut(merchant.as_str()) {
                    Some(left) => left,
                    None => {
                        let held = self
                            .int_of(LEASES_HELD, &[merchant.as_str().into(), req.wall.0.into()])?
                            .unwrap_or(0);
                        quota.entry(merchant).or_insert(req.per_merchant - held)
                    }
                };
                if *left <= 0 {
                    continue;
                }
                *left -= 1;
                offered[i] = true;
                pick.push(i);
            }
            if pick.is_empty() {
                if borrowing || leased.len() >= borrow_limit {
                    break;
                }
                borrowing = true;
                continue;
            }
            let ids = pick
                .iter()
                .map(|&i| candidates[i].int(0))
                .collect::<Result<Vec<_>, _>>()?;
            let mut taken: HashMap<i64, Delivery> = HashMap::new();
            for row in self.take_deliveries(req, &ids)? {
                let d = delivery_row(&row)?;
                taken.insert(d.id, d);
            }
            let mut interrupted = Vec::new();
            for i in pick {
                let c = &candidates[i];
                let Some(d) = taken.remove(&c.int(0)?) else {
                    // Taken by another node, or no longer due: its merchant's slot is free.
                    if let Some(left) = quota.get_mut(merchants[i].as_str()) {
                        *left += 1;
                    }
                    continue;
                };
                // The lease this one replaced expired unrecorded: the candidate had an owner
                // and no result was recorded since (every recorded result adds to `attempts`;
                // on PostgreSQL the candidate was read a moment before the row was locked, and
                // its owner may have recorded its result in between). That attempt counts:
                // logged, and in the delivery's attempts, so a delivery whose attempts keep
                // being interrupted (a node that dies sending it) still comes to the end of its
                // schedule.
                let mut d = d;
                let unrecorded = c.int(4)? == d.attempts;
                if let Some(owner) = c.opt_text(2)?.filter(|_| unrecorded) {
                    let started_at = c.opt_int(3)?.map_or(req.now, Timestamp);
                    interrupted.push(interrupted_attempt(&d, &owner, started_at));
                    d.attempts += 1;
                }
                leased.push((i, d));
            }
            if !interrupted.is_empty() {
                self.count_interrupted(&interrupted)?;
            }
            self.insert_attempts(&interrupted.iter().collect::<Vec<_>>())?;
        }
        leased.sort_by_key(|(i, _)| *i);
        Ok(leased.into_iter().map(|(_, d)| d).collect())
    }

    /// Leases the deliveries `ids` that still pass `take_from`'s re-check; their rows as now
    /// stored. PostgreSQL: one statement with the ids as an array; SQLite: one per `chunked`
    /// chunk.
    fn take_deliveries(&mut self, req: &LeaseRequest, ids: &[i64]) -> Result<Vec<Row>, StoreError> {
        static TAKE_ARRAY: LazyLock<String> = LazyLock::new(take_array_sql);
        static TAKE_SQLITE: LazyLock<Vec<String>> =
            LazyLock::new(|| statement_sizes().map(take_sql).collect());
        let lease: [Value; 4] = [
            req.node_id.as_str().into(),
            req.now.0.into(),
            req.lease_until.0.into(),
            req.wall.0.into(),
        ];
        if self.dialect() == Dialect::Postgres {
            let mut params = lease.to_vec();
            params.push(id_array(ids.iter().copied()));
            return self.rows(&TAKE_ARRAY, &params);
        }
        let mut rows = Vec::new();
        for chunk in chunked(ids) {
            let mut params = lease.to_vec();
            params.extend(chunk.iter().map(|&id| Value::from(id)));
            rows.extend(self.rows(sized(&TAKE_SQLITE, chunk.len()), &params)?);
        }
        Ok(rows)
    }

    /// Counts the interrupted attempts found by a lease in their deliveries' `attempts` (rare:
    /// one statement each, fenced by the lease just taken).
    fn count_interrupted(&mut self, interrupted: &[DeliveryAttempt]) -> Result<(), StoreError> {
        for a in interrupted {
            self.exec(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1 AND attempts = $2",
                &[a.delivery_id.into(), (a.attempt - 1).into()],
            )?;
        }
        Ok(())
    }

    /// Appends attempts to the log, in multi-row `INSERT`s (see `chunked`).
    fn insert_attempts(&mut self, attempts: &[&DeliveryAttempt]) -> Result<(), StoreError> {
        static SQL: LazyLock<Vec<String>> =
            LazyLock::new(|| statement_sizes().map(insert_attempts_sql).collect());
        static JSON_SQL: LazyLock<String> = LazyLock::new(insert_attempts_json_sql);
        if self.dialect() == Dialect::Postgres {
            let rows = attempts
                .iter()
                .map(|a| attempt_params(a))
                .collect::<Result<_, _>>()?;
            self.exec_json(&JSON_SQL, &[], rows)?;
            return Ok(());
        }
        for chunk in chunked(attempts) {
            let mut params = Vec::with_capacity(chunk.len() * ATTEMPT_PARAMS);
            for a in chunk {
                params.extend(attempt_params(a)?);
            }
            self.exec(sized(&SQL, chunk.len()), &params)?;
        }
        Ok(())
    }

    /// Logs each attempt and applies its effect (acknowledged, rescheduled, dead) to its
    /// delivery if the attempt's lease is still the current one. Returns how many were applied.
    /// A few statements for any number of attempts: the log in multi-row `INSERT`s, the effects
    /// in one `UPDATE … FROM (VALUES …)` per chunk (`finish_sql`).
    pub fn finish_attempts(
        &mut self,
        done: &[FinishedAttempt],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        static SQL: LazyLock<Vec<String>> =
            LazyLock::new(|| statement_sizes().map(finish_sql).collect());
        static JSON_SQL: LazyLock<String> = LazyLock::new(finish_json_sql);
        self.insert_attempts(&done.iter().map(|f| &f.attempt).collect::<Vec<_>>())?;
        if self.dialect() == Dialect::Postgres {
            let rows = done.iter().map(|f| finish_params(f, now)).collect();
            let ids = id_array(done.iter().map(|f| f.attempt.delivery_id));
            return self.exec_json(&JSON_SQL, &[now.0.into(), ids], rows);
        }
        let mut applied = 0;
        for chunk in chunked(done) {
            let mut params: Vec<Value> = Vec::with_capacity(1 + chunk.len() * FINISH_TYPES.len());
            params.push(now.0.into());
            for f in chunk {
                params.extend(finish_params(f, now));
            }
            applied += self.exec(sized(&SQL, chunk.len()), &params)?;
        }
        Ok(applied)
    }

    /// Makes a delivery due at `now` with a fresh schedule, whatever its state (an in-flight
    /// attempt's result is then logged but no longer applied). `request` replaces the stored
    /// one (a delivery that had none). `false` if there is no such delivery.
    pub fn resend_delivery(
        &mut self,
        id: i64,
        now: Timestamp,
        request: Option<&super::StoredRequest>,
        order_key: Option<&str>,
    ) -> Result<bool, StoreError> {
        if let Some(r) = request {
            let [method, url, headers, body, b64] = request_values(Some(r))?;
            self.exec(
                "UPDATE deliveries SET method = $2, url = $3, headers = $4, body = $5, body_base64 = $6 \
                 WHERE id = $1",
                &[id.into(), method, url, headers, body, b64],
            )?;
        }
        let n = self.exec(
            "UPDATE deliveries SET state = 'pending', next_attempt_at = $2, schedule_at = $2, \
             schedule_start = attempts, lease_owner = NULL, leased_at = NULL, lease_until = NULL, \
             lease_seq = lease_seq + 1, updated_at = $2, finished_at = NULL, \
             order_key = COALESCE($3, order_key) WHERE id = $1",
            &[id.into(), now.0.into(), order_key.into()],
        )?;
        Ok(n == 1)
    }

    /// The earliest pending delivery that `d` (pending) waits for: one of its order key queued
    /// before it. `None` when nothing holds it back.
    pub fn delivery_waiting_for(&mut self, d: &Delivery) -> Result<Option<i64>, StoreError> {
        if d.state != DeliveryState::Pending {
            return Ok(None);
        }
        let row = self.one(
            "SELECT id FROM deliveries WHERE order_key = $1 AND state = 'pending' \
             AND outbox_id < $2 ORDER BY outbox_id LIMIT 1",
            &[d.order_key.as_str().into(), d.outbox_id.into()],
        )?;
        row.map(|r| r.int(0)).transpose()
    }

    /// Pending deliveries whose order key is an object alone (`(id, key, url)`): queued before
    /// keys named the endpoint, or never sent; at most `limit`, oldest first.
    pub fn bare_keyed_pending(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = self.rows(
            &format!(
                "SELECT id, order_key, url FROM deliveries WHERE state = 'pending' \
                 AND url IS NOT NULL AND order_key NOT LIKE '%@%' AND order_key NOT LIKE '%#%' \
                 ORDER BY id LIMIT {}",
                limit.max(1)
            ),
            &[],
        )?;
        rows.iter()
            .map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?)))
            .collect()
    }

    /// Ends every lease that would outlast `latest` there (leases follow real time; one an
    /// earlier version wrote on the engine clock, after sandbox time travel, could otherwise
    /// hold its delivery for as long as the clock was moved). Returns how many.
    pub fn cap_leases(&mut self, latest: Timestamp) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE deliveries SET lease_until = $1 WHERE state = 'pending' AND lease_until > $1",
            &[latest.0.into()],
        )
    }

    /// Sets a delivery's order key.
    pub fn set_order_key(&mut self, id: i64, key: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE deliveries SET order_key = $2 WHERE id = $1",
            &[id.into(), key.into()],
        )?;
        Ok(())
    }

    pub fn delivery(&mut self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE id = $1");
        self.one(&sql, &[id.into()])?
            .map(|r| delivery_row(&r))
            .transpose()
    }

    /// The attempt log of a delivery, oldest first.
    pub fn delivery_attempts(&mut self, id: i64) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLS} FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id"
        );
        self.rows(&sql, &[id.into()])?
            .iter()
            .map(attempt_row)
            .collect()
    }

    /// The attempt logs of the deliveries `ids`, each oldest first, in one read: the attempts
    /// ordered by delivery id, then attempt id.
    pub fn attempts_of(&mut self, ids: &[i64]) -> Result<Vec<DeliveryAttempt>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ATTEMPT_COLS} FROM delivery_attempts WHERE delivery_id IN ({}) \
             ORDER BY delivery_id, id",
            id_list(ids)
        );
        self.rows(&sql, &[])?.iter().map(attempt_row).collect()
    }

    /// Deliveries matching `f`, newest first.
    pub fn deliveries(&mut self, f: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let (sql, params) = filter_sql(f);
        self.rows(&sql, &params)?.iter().map(delivery_row).collect()
    }

    /// Whether any delivery is due at `now` and unleased at `wall` (real time; a cheap read
    /// before leasing, so an idle node queues no write job).
    pub fn any_delivery_due(
        &mut self,
        now: Timestamp,
        wall: Timestamp,
    ) -> Result<bool, StoreError> {
        let row = self.one(
            "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $2) LIMIT 1",
            &[now.0.into(), wall.0.into()],
        )?;
        Ok(row.is_some())
    }

    /// Deletes up to `limit` deliveries that finished (acknowledged, dead or skipped) before
    /// `before`, with their attempt logs and their outbox events; returns how many deliveries
    /// went. The retention of callback history (`callback_retention_days`).
    ///
    /// Walks deliveries in id order (the order they were ingested in) from above `from`, and
    /// stops at the first one created at or after `before` (nothing later can have finished
    /// before it), so the cost does not grow with the history kept; at most `8 × limit` rows
    /// are read per call. A walk that stopped early (at `limit` deleted, or with its rows read)
    /// says where to resume ([`Purged::resume`]): deliveries still pending at the front of the
    /// table (a merchant whose endpoint has been down for days) cannot hold back the purge
    /// of the finished ones behind them.
    /// A delivery still pending (or resent meanwhile: the candidates are locked on PostgreSQL
    /// and re-checked by the `DELETE`) is passed over, and so is any event above the ingestion
    /// cursor, which only ever passes events that have a delivery or are silent. On PostgreSQL
    /// a row another transaction holds (a dispatcher recording an attempt) is skipped, not
    /// waited for: the purge never waits on delivery, and a skipped row goes on a later run.
    pub fn purge_finished_deliveries(
        &mut self,
        before: Timestamp,
        limit: i64,
        from: i64,
    ) -> Result<Purged, StoreError> {
        let limit = limit.max(1);
        let cursor = self.delivery_cursor()?;
        let lock = match self.lock() {
            "" => "",
            _ => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "SELECT id, created_at, outbox_id, state, COALESCE(finished_at, updated_at) \
             FROM deliveries WHERE id > $1 ORDER BY id LIMIT {limit}{lock}"
        );
        let (ids, resume) = self.purge_walk(&sql, &[], before, limit, from, |r| {
            let (outbox_id, state, finished_at) = (r.int(2)?, r.text(3)?, r.int(4)?);
            Ok(state != "pending" && finished_at < before.0 && outbox_id <= cursor)
        })?;
        if ids.is_empty() {
            return Ok(Purged { deleted: 0, resume });
        }
        let ids = id_list(&ids);
        self.exec(
            &format!(
                "DELETE FROM delivery_attempts WHERE delivery_id IN \
                 (SELECT id FROM deliveries WHERE id IN ({ids}) AND state <> 'pending')"
            ),
            &[],
        )?;
        let gone = self.rows(
            &format!(
                "DELETE FROM deliveries WHERE id IN ({ids}) AND state <> 'pending' RETURNING outbox_id"
            ),
            &[],
        )?;
        let events: Vec<i64> = gone.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
        if !events.is_empty() {
            self.exec(
                &format!("DELETE FROM outbox WHERE id IN ({})", id_list(&events)),
                &[],
            )?;
        }
        Ok(Purged {
            deleted: gone.len() as u64,
            resume,
        })
    }

    /// Deletes up to `limit` outbox events created before `before` that are `silent` (their
    /// protocol never sends a callback for them, so ingestion gave them no delivery); returns
    /// how many went. The other half of the retention of callback history, beside
    /// `purge_finished_deliveries`.
    ///
    /// Walks the outbox in id order from above `from` up to the ingestion cursor, and stops at
    /// the first event created at or after `before`; at most `8 × limit` rows are read per
    /// call, and a walk that stopped early says where to resume ([`Purged::resume`]). An
    /// event that has a delivery (a `skipped` row written before its event was known to be
    /// silent) is left for `purge_finished_deliveries`, which removes it with its delivery. No
    /// delivery is ever created at or below the cursor, so the check cannot go stale.
    pub fn purge_silent_events(
        &mut self,
        before: Timestamp,
        limit: i64,
        silent: &SilentEvents,
        from: i64,
    ) -> Result<Purged, StoreError> {
        if silent.is_empty() {
            return Ok(Purged::default());
        }
        let limit = limit.max(1);
        let cursor = self.delivery_cursor()?;
        let sql = format!(
            "SELECT o.id, o.created_at, CASE WHEN {} AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.outbox_id = o.id) THEN 1 ELSE 0 END \
             FROM outbox o WHERE o.id > $1 AND o.id <= $2 ORDER BY o.id LIMIT {limit}",
            silent.sql()
        );
        let (ids, resume) = self.purge_walk(&sql, &[cursor.into()], before, limit, from, |r| {
            Ok(r.int(2)? == 1)
        })?;
        if ids.is_empty() {
            return Ok(Purged { deleted: 0, resume });
        }
        let deleted = self.exec(
            &format!("DELETE FROM outbox WHERE id IN ({})", id_list(&ids)),
            &[],
        )?;
        Ok(Purged { deleted, resume })
    }

    /// The walk of the purges: up to 8 pages of `sql` (rows of `id, created_at, …` in id
    /// order above `$1`, then `params`) from above `from`, stopping at the first row created at
    /// or after `before` or once `limit` rows are `purgeable`; returns their ids and, unless
    /// it reached its end, the last id it read (where the next walk resumes).
    fn purge_walk(
        &mut self,
        sql: &str,
        params: &[Value],
        before: Timestamp,
        limit: i64,
        from: i64,
        purgeable: impl Fn(&Row) -> Result<bool, StoreError>,
    ) -> Result<(Vec<i64>, Option<i64>), StoreError> {
        let (mut after, mut ids) = (from, Vec::new());
        for _ in 0..8 {
            let mut all = vec![Value::from(after)];
            all.extend_from_slice(params);
            let rows = self.rows(sql, &all)?;
            for r in &rows {
                let (id, created_at) = (r.int(0)?, r.int(1)?);
                if created_at >= before.0 {
                    return Ok((ids, None));
                }
                after = id;
                if purgeable(r)? {
                    ids.push(id);
                    if ids.len() as i64 == limit {
                        return Ok((ids, Some(after)));
                    }
                }
            }
            if (rows.len() as i64) < limit {
                return Ok((ids, None));
            }
        }
        Ok((ids, Some(after)))
    }

    /// Deliveries not yet acknowledged, dead or skipped (the queue depth).
    pub fn pending_delivery_count(&mut self) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            &[],
        )?
        .map_or(Ok(0), |r| r.int(0))
    }
}

/// The log entry of a lease that expired unrecorded: `owner` held it from `started_at`.
fn interrupted_attempt(d: &Delivery, owner: &str, started_at: Timestamp) -> DeliveryAttempt {
    DeliveryAttempt {
        id: 0,
        delivery_id: d.id,
        attempt: d.attempts + 1,
        node_id: owner.to_string(),
        started_at,
        request: None,
        outcome: super::AttemptOutcome::Interrupted,
        response_status: None,
        response_body: None,
        latency_ms: None,
        error: Some(
            "interrupted: the node stopped before recording a result and its lease expired".into(),
        ),
    }
}

/// A new delivery's `INSERT_PARAMS` values (see `delivery_values`).
fn delivery_params(d: &NewDelivery) -> Result<Vec<Value>, StoreError> {
    let pending = d.state == DeliveryState::Pending;
    let [method, url, headers, body, b64] = request_values(d.request.as_ref())?;
    Ok(vec![
        d.outbox_id.into(),
        d.merchant_id.as_str().into(),
        d.protocol.as_str().into(),
        d.object_kind.as_str().into(),
        d.object_id.as_str().into(),
        d.order_key.as_str().into(),
        d.event.as_str().into(),
        d.state.as_str().into(),
        method,
        url,
        headers,
        body,
        b64,
        d.schedule_at.0.into(),
        pending.then_some(d.first_attempt_at.0).into(),
        readable(d.note.as_deref()),
        d.created_at.0.into(),
        (!pending).then_some(d.created_at.0).into(),
    ])
}

/// An attempt's `ATTEMPT_PARAMS` values, in `insert_attempts_sql`'s order.
fn attempt_params(a: &DeliveryAttempt) -> Result<Vec<Value>, StoreError> {
    let [method, url, headers, body, b64] = request_values(a.request.as_ref())?;
    Ok(vec![
        a.delivery_id.into(),
        a.attempt.into(),
        a.node_id.as_str().into(),
        a.started_at.0.into(),
        method,
        url,
        headers,
        body,
        b64,
        a.outcome.as_str().into(),
        a.response_status.into(),
        readable(a.response_body.as_deref()),
        a.latency_ms.into(),
        readable(a.error.as_deref()),
    ])
}

/// A finished attempt's effect, in `FINISH_TYPES` order.
fn finish_params(f: &FinishedAttempt, now: Timestamp) -> Vec<Value> {
    let (state, next, finished) = match f.next {
        AfterAttempt::Acknowledged => (DeliveryState::Acknowledged, None, Some(now.0)),
        AfterAttempt::RetryAt(at) => (DeliveryState::Pending, Some(at.0), None),
        AfterAttempt::Dead => (DeliveryState::Dead, None, Some(now.0)),
    };
    vec![
        f.attempt.delivery_id.into(),
        f.lease_seq.into(),
        state.as_str().into(),
        next.into(),
        f.attempt.response_status.into(),
        readable(f.attempt.error.as_deref()),
        finished.into(),
    ]
}

fn outbox_row(r: &Row) -> Result<OutboxEvent, StoreError> {
    let protocol = r.text(2)?;
    Ok(OutboxEvent {
        id: r.int(0)?,
        merchant_id: MerchantId(r.text(1)?),
        protocol: Protocol::parse(&protocol)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown protocol {protocol}")))?,
        object_kind: r.text(3)?,
        object_id: r.text(4)?,
        event: r.text(5)?,
        payload: serde_json::from_str(&r.text(6)?)?,
        created_at: Timestamp(r.int(7)?),
    })
}

#[cfg(test)]
mod plans {
    use super::*;
    use crate::testing::TestDb;

    /// The generic plan PostgreSQL caches for `sql` (after a prepared statement's first five
    /// runs), explained for `args`.
    fn generic_plan(db: &mut Db<'_>, sql: &str, args: &str) -> String {
        db.exec("SET plan_cache_mode = force_generic_plan", &[])
            .unwrap();
        db.exec(&format!("PREPARE p AS {sql}"), &[]).unwrap();
        let rows = db.rows(&format!("EXPLAIN EXECUTE p({args})"), &[]).unwrap();
        db.exec("DEALLOCATE p", &[]).unwrap();
        db.exec("RESET plan_cache_mode", &[]).unwrap();
        rows.iter()
            .map(|r| r.text(0).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The lease and the results `UPDATE` reach `deliveries` through their id list whatever the
    /// planner knows (and a payment's deliveries are found through indexes): their generic plans, made with statistics of a thousand rows, probe the
    /// primary key, and never walk a whole table or index (`deliveries_due` for every due row,
    /// or a sequential scan hash-joined to the results: items 30 and 35 of
    /// docs/performance.md). Below a few hundred rows PostgreSQL rightly scans the table; the
    /// next `ANALYZE` (autovacuum's, as the table grows) invalidates such a cached plan.
    #[tokio::test(flavor = "multi_thread")]
    async fn hot_delivery_statements_probe_the_primary_key_in_their_generic_plans() {
        let Some(tdb) = TestDb::postgres() else {
            return;
        };
        let store = tdb.open().unwrap();
        store
            .write(|db| {
                let rows: Vec<NewDelivery> = (0..1_000)
                    .map(|i| NewDelivery {
                        outbox_id: i + 1,
                        merchant_id: polypay_core::MerchantId(format!("m{}", i % 3)),
                        protocol: polypay_core::Protocol::Passtopay,
                        object_kind: "payment".into(),
                        object_id: format!("pay_{i}"),
                        order_key: format!("pay_{i}"),
                        event: "payment.succeeded".into(),
                        state: match i % 2 {
                            0 => DeliveryState::Pending,
                            _ => DeliveryState::Acknowledged,
                        },
                        request: None,
                        schedule_at: Timestamp(i),
                        first_attempt_at: Timestamp(i),
                        note: None,
                        created_at: Timestamp(i),
                    })
                    .collect();
                db.insert_deliveries(&rows)
            })
            .await
            .unwrap();
        let plans = store
            .read(|db| {
                db.exec("ANALYZE deliveries", &[])?;
                let filter = filter_sql(&DeliveryFilter {
                    payment: Some("pay_10".into()),
                    limit: 500,
                    ..Default::default()
                })
                .0;
                let hot = [
                    (
                        "lease",
                        generic_plan(db, &take_array_sql(), "'n1', 0, 0, 0, '{1,2}'"),
                    ),
                    (
                        "results",
                        generic_plan(db, &finish_json_sql(), "0, '{1}', '[]'"),
                    ),
                ];
                Ok::<_, StoreError>((hot, generic_plan(db, &filter, "'pay_10', 500")))
            })
            .await
            .unwrap();
        let (hot, by_payment) = plans;
        for (name, plan) in hot {
            assert!(
                plan.contains("using deliveries_pkey on deliveries"),
                "{name}:\n{plan}"
            );
            for whole in [
                "Seq Scan on deliveries",
                "deliveries_due",
                "deliveries_by_key",
            ] {
                assert!(!plan.contains(whole), "{name} reads {whole}:\n{plan}");
            }
        }
        // The console's payment page: the payment's and its refunds' deliveries by their object.
        assert!(
            by_payment.contains("deliveries_by_object"),
            "by payment:\n{by_payment}"
        );
        assert!(
            !by_payment.contains("Seq Scan on deliveries"),
            "by payment:\n{by_payment}"
        );
        store.close();
    }
}
