//! The SQLite backend: WAL journal, `synchronous=FULL` (every commit is durable), cached statements.

use crate::error::StoreError;
use crate::sql::{Conn, Dialect, Row, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub struct SqliteConn {
    conn: rusqlite::Connection,
    /// `$n` SQL text -> the same text with `?n`, computed once per statement.
    rewritten: HashMap<String, String>,
}

/// SQLite reads `$3` as a *named* parameter numbered by first appearance; `?3` is truly
/// positional. The shared SQL uses `$n` (PostgreSQL's form), so rewrite it here.
fn positional(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl SqliteConn {
    pub fn open(path: &Path) -> Result<SqliteConn, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // 16 MiB of page cache per connection (the default is 2 MiB): the indexes' hot pages
        // stay in memory as the tables grow. The WAL is checkpointed every 4,096 pages (16 MiB)
        // instead of 1,000: the pages every commit touches (the right edges of the indexes) are
        // copied back to the database once per checkpoint, so fewer checkpoints copy less.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
             PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=4096;",
        )?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(SqliteConn {
            conn,
            rewritten: HashMap::new(),
        })
    }
}

impl SqliteConn {
    /// The cached statement for `sql` (rewritten to positional parameters once).
    fn prepare(&mut self, sql: &str) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
        if !self.rewritten.contains_key(sql) {
            self.rewritten.insert(sql.to_string(), positional(sql));
        }
        let text = &self.rewritten[sql];
        Ok(self.conn.prepare_cached(text)?)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn column(v: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|_| StoreError::Corrupt("text is not UTF-8".into()))?,
        ),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            return Err(StoreError::Corrupt("unexpected column type".into()));
        }
    })
}

impl Conn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.prepare(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.prepare(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let cols = (0..width)
                .map(|i| column(r.get_ref(i)?))
                .collect::<Result<_, StoreError>>()?;
            out.push(Row(cols));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        // One statement (BEGIN, SAVEPOINT, RELEASE, COMMIT: several per group commit) is kept
        // prepared; a script is run as such.
        if sql.contains(';') {
            return Ok(self.conn.execute_batch(sql)?);
        }
        self.conn.prepare_cached(sql)?.raw_execute()?;
        Ok(())
    }
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollar_placeholders_become_positional() {
        assert_eq!(
            super::positional("a = $3 AND b = $1 AND c = '$'"),
            "a = ?3 AND b = ?1 AND c = '$'"
        );
    }
}
