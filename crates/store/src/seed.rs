//! Bulk fixtures for the benchmark: payment rows by the hundred thousand in one statement each
//! (so "create-payment with 1M orders stored" can be measured), and scratch PostgreSQL schemas
//! that give a bench phase an empty store inside the database it was pointed at.
//!
//! Seeded rows go through the real `payments` table, so every index and constraint of the schema
//! is maintained exactly as for rows the engine writes. Ids and cashier tokens have the engine's
//! shape (12 hex digits of the creation millisecond, then random hex), public ids PassToPay's
//! (`P` + a snowflake id of the creation millisecond, see `polypay_engine::snowflake`), so each
//! index sees the key order production gives it.

use crate::db::{Db, PAYMENT_COLS};
use crate::error::StoreError;
use crate::sql::{Dialect, Value};
use polypay_core::Payment;
use polypay_core::id::SNOWFLAKE_EPOCH_MS;

/// Seeded rows are created in the 30 days before the template, one every `STEP_MS` in number
/// order (a million rows fill the window; further numbers wrap around inside it).
const SPREAD_MS: i64 = 30 * 86_400_000;
const STEP_MS: i64 = 2_592;

/// The SQL fragments that differ between the two dialects; `s.i` is the row's sequence number.
struct Fragments {
    /// `WITH …` before `INSERT` (SQLite's recursive sequence), or nothing.
    with: &'static str,
    /// The `FROM` source that yields `s.i` for `$1 ..= $2`.
    from: &'static str,
    /// The creation millisecond `{ms}` as 12 hex digits, like the engine's `time_ordered_hex`.
    ms_hex: &'static str,
    /// `n` random bytes as hex (`{n}` is replaced).
    random_hex: &'static str,
}

const SQLITE: Fragments = Fragments {
    with: "WITH RECURSIVE s(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < $2) ",
    from: "s",
    ms_hex: "printf('%012x', {ms})",
    random_hex: "lower(hex(randomblob({n})))",
};

const POSTGRES: Fragments = Fragments {
    with: "",
    from: "generate_series(CAST($1 AS BIGINT), CAST($2 AS BIGINT)) AS s(i)",
    ms_hex: "lpad(to_hex({ms}), 12, '0')",
    random_hex: "substr(md5(random()::text || s.i) || md5(s.i || random()::text), 1, 2 * {n})",
};

/// The one `INSERT … SELECT` of [`Db::seed_payments`] in `dialect`.
fn seed_sql(dialect: Dialect) -> String {
    let f = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    // $1..$2 the sequence, $3 order prefix, $4 public-id prefix, $5 template created_at,
    // $6 step ms, $7 ttl ms; $8.. the template's shared columns.
    let created =
        format!("(CAST($5 AS BIGINT) - {SPREAD_MS} + (s.i * CAST($6 AS BIGINT)) % {SPREAD_MS})");
    let ms = f.ms_hex.replace("{ms}", &created);
    let random = |bytes: u32| f.random_hex.replace("{n}", &bytes.to_string());
    // The engine's shapes: `time_ordered_hex(10)` ids and `time_ordered_hex(26)` tokens.
    let id = format!("'pay_' || {ms} || {}", random(10));
    let token = format!("{ms} || {}", random(26));
    // A snowflake of the creation millisecond; the row number stands in for worker and sequence
    // (22 bits), which keeps the ids unique.
    let public_id = format!(
        "CAST($4 AS TEXT) || CAST(({created} - {SNOWFLAKE_EPOCH_MS}) * 4194304 + s.i % 4194304 AS TEXT)"
    );
    let state = "CASE s.i % 10 WHEN 7 THEN 'expired' WHEN 8 THEN 'expired' WHEN 9 THEN 'failed' \
                 ELSE 'succeeded' END";
    format!(
        "{with}INSERT INTO payments ({PAYMENT_COLS}) SELECT {id}, CAST($8 AS TEXT), CAST($9 AS TEXT), \
         CAST($3 AS TEXT) || CAST(s.i AS TEXT), {public_id}, CAST($10 AS TEXT), \
         CAST($11 AS BIGINT), {state}, 0, 0, CAST($12 AS TEXT), CAST($13 AS TEXT), {token}, \
         {created}, {created} + 60000, {created} + CAST($7 AS BIGINT), {created} + 60000, \
         CASE WHEN s.i % 10 < 7 THEN 'SEED' || CAST(s.i AS TEXT) END, \
         CASE WHEN s.i % 10 = 9 THEN 'SEEDED_FAILURE' END, \
         CASE WHEN s.i % 10 = 9 THEN 'declined (seeded)' END, CAST($14 AS TEXT) FROM {from}",
        with = f.with,
        from = f.from,
    )
}

impl Db<'_> {
    /// Inserts the payments numbered `first .. first + n` in one statement: copies of
    /// `template` (merchant, protocol, amount, URLs, attrs) with order numbers
    /// `order_prefix` + number, fresh ids, public ids and cashier tokens, finished states
    /// (7 in 10 succeeded, 2 expired, 1 failed) and creation times in number order over the 30
    /// days before the template's. Returns how many rows were inserted; a clash with an existing order number
    /// fails the whole statement. Numbers must not be reused for the same prefix.
    pub fn seed_payments(
        &mut self,
        template: &Payment,
        order_prefix: &str,
        first: i64,
        n: i64,
    ) -> Result<u64, StoreError> {
        if n <= 0 {
            return Ok(0);
        }
        let last = first + n - 1;
        let ttl = template.expires_at.0 - template.created_at.0;
        let t = template;
        let params: Vec<Value> = vec![
            first.into(),
            last.into(),
            order_prefix.into(),
            "P".into(),
            t.created_at.0.into(),
            STEP_MS.into(),
            ttl.into(),
            t.merchant_id.as_str().into(),
            t.protocol.as_str().into(),
            t.amount.currency.code().into(),
            t.amount.minor.into(),
            t.notify_url.clone().into(),
            t.return_url.clone().into(),
            t.attrs.to_string().into(),
        ];
        self.exec(&seed_sql(self.dialect()), &params)
    }

    /// How many payments are stored (all merchants).
    pub fn payment_count(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) FROM payments", &[])?
            .map_or(Ok(0), |r| r.int(0))
    }
}

/// Creates the empty schema `name` in the PostgreSQL database of `base_url` and returns a URL
/// whose connections use it (`search_path`). Call it outside an async runtime.
pub fn create_scratch_schema(base_url: &str, name: &str) -> Result<String, StoreError> {
    check_schema_name(name)?;
    crate::store::off_runtime(|| {
        let mut client = postgres::Client::connect(base_url, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE SCHEMA {name}"))?;
        Ok::<_, StoreError>(())
    })?;
    let sep = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!("{base_url}{sep}options=-c%20search_path%3D{name}"))
}

/// Drops a schema made by [`create_scratch_schema`] with everything in it.
pub fn drop_scratch_schema(base_url: &str, name: &str) -> Result<(), StoreError> {
    check_schema_name(name)?;
    crate::store::off_runtime(|| {
        let mut client = postgres::Client::connect(base_url, postgres::NoTls)?;
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))?;
        Ok(())
    })
}

/// Schema names are spliced into SQL: lower-case letters, digits and `_` only.
fn check_schema_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Config(format!("bad schema name {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_number_the_same_parameters() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let sql = seed_sql(d);
            assert!(sql.contains("$14") && !sql.contains("$15"), "{sql}");
        }
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(check_schema_name("bench_callbacks_1a2b").is_ok());
        for bad in ["", "Bench", "1abc", "a;drop", "a b"] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }
}
