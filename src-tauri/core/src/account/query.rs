//! Running an administrator's account query safely.
//!
//! The database is the boundary; the parser is only a filter in front of it:
//!
//! 1. **Filter** ([`super::filter`]): one read-only `SELECT` within the size
//!    and complexity caps, without the denied functions, checked on a thread
//!    of its own.
//! 2. **Boundary**: it runs on a dedicated connection that logs in as the
//!    login role and takes the query role ([`super::role`]: no privilege but
//!    the `SELECT` an administrator grants, and no power over other queries'
//!    sessions), over the extended protocol only (one statement per Parse: a
//!    second statement cannot ride along), inside `BEGIN READ ONLY` with
//!    `statement_timeout` and `lock_timeout`, and is always rolled back; the
//!    connection is then closed, so no session state (settings, advisory
//!    locks, prepared statements) survives.
//! 3. **Caps**: the server turns each row into JSON and sends at most
//!    [`Limits::max_rows`] rows and [`Limits::max_bytes`] bytes of it: rows
//!    past the byte cap come back empty, so neither many rows nor one huge
//!    row can fill Berth's memory. Reading stops at the first row past a
//!    cap, and the connection is closed without reading the rest.
//!
//! Parameters are named (`:name`) in the text, rewritten to positional
//! placeholders and bound by the driver: their values never become SQL.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};

use super::filter::{self, MAX_QUERY_BYTES};
use crate::definition::{Parameter, ParameterType, SqlQuery};
use crate::error::{Error, ErrorCode, Result};

pub use super::role::{ensure_login_role, ensure_role, role_options, LOGIN_ROLE, QUERY_ROLE};

/// Limits of one query run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `statement_timeout`.
    pub statement_timeout: Duration,
    /// `lock_timeout`.
    pub lock_timeout: Duration,
    /// Rows read at most (one more is read to tell that there were more).
    pub max_rows: usize,
    /// Bytes of rows (as JSON text) read at most.
    pub max_bytes: usize,
}

/// Bytes of rows (as JSON text) a query returns at most by default: ample
/// for 10,000 accounts of 1.6 KB each, and small enough that reading it
/// (a few copies while it is decoded and stored) stays far below the memory
/// of a small server or container.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(1),
            max_rows: 10_000,
            max_bytes: MAX_RESULT_BYTES,
        }
    }
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows (at most the caps), each column's value as JSON.
    pub rows: Vec<BTreeMap<String, serde_json::Value>>,
    /// Whether more rows existed than the caps allowed.
    pub truncated: bool,
}

/// Why a query was refused before it ran.
fn refused(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::QueryRefused, message)
}

/// Rewrites `:name` placeholders to `$1…$n` (outside strings and `::`
/// casts) and orders the parameters to match. Unknown names are errors, and
/// so is a text over [`MAX_QUERY_BYTES`] (before it is copied).
pub fn positional(query: &SqlQuery) -> Result<(String, Vec<&Parameter>)> {
    if query.select.len() > MAX_QUERY_BYTES {
        return Err(refused(format!(
            "the query is {} bytes long; at most {} KiB are allowed",
            query.select.len(),
            MAX_QUERY_BYTES / 1024
        )));
    }
    let chars: Vec<char> = query.select.chars().collect();
    let mut out = String::with_capacity(query.select.len());
    let mut order: Vec<&Parameter> = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == ':' && chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
                continue;
            }
            None if c == ':' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                if end == start {
                    out.push(c);
                } else {
                    let name: String = chars[start..end].iter().collect();
                    let p = query
                        .parameters
                        .iter()
                        .find(|p| p.name == name)
                        .ok_or_else(|| refused(format!(":{name} is not among the parameters")))?;
                    let n = match order.iter().position(|q| q.name == p.name) {
                        Some(k) => k + 1,
                        None => {
                            order.push(p);
                            order.len()
                        }
                    };
                    out.push_str(&format!("${n}"));
                    i = end;
                    continue;
                }
            }
            None => out.push(c),
        }
        i += 1;
    }
    Ok((out, order))
}

/// Runs an account query under every safeguard in this module's docs.
pub async fn run(
    options: &PgConnectOptions,
    query: &SqlQuery,
    limits: Limits,
) -> Result<QueryResult> {
    let (sql, params) = positional(query)?;
    filter::check_off_thread(&sql).await?;
    connect_and_run(options, &sql, &params, limits).await
}

/// One dedicated connection for one query; closing it (not returning it to
/// a pool) drops every bit of session state.
async fn connect_and_run(
    options: &PgConnectOptions,
    sql: &str,
    params: &[&Parameter],
    limits: Limits,
) -> Result<QueryResult> {
    let mut conn = super::role::connect(options).await?;
    let result = run_on(&mut conn, sql, params, limits).await;
    let _ = conn.close().await;
    result
}

/// [`run`] without the parser's filter, to show that the database alone
/// refuses what the filter would have caught. Tests only (`experiments`).
#[cfg(feature = "experiments")]
pub async fn run_unfiltered(
    options: &PgConnectOptions,
    query: &SqlQuery,
    limits: Limits,
) -> Result<QueryResult> {
    let (sql, params) = positional(query)?;
    connect_and_run(options, &sql, &params, limits).await
}

/// `body` wrapped so the server applies the caps: each row becomes one JSON
/// document; a running total of their sizes blanks every row past
/// `max_bytes`; `LIMIT` stops after one row more than `max_rows`. The body
/// was checked to be one `SELECT`.
fn capped(body: &str, limits: Limits) -> String {
    let body = body.trim().trim_end_matches(';').trim_end();
    format!(
        "SELECT CASE WHEN berth_sized.total <= {max_bytes} THEN berth_sized.doc::text END, berth_sized.total
         FROM (SELECT berth_json.doc,
                      sum(octet_length(berth_json.doc::text)) OVER (ROWS UNBOUNDED PRECEDING) AS total
               FROM (SELECT to_json(berth_row) AS doc FROM (
{body}
) AS berth_row LIMIT {rows}) AS berth_json) AS berth_sized",
        max_bytes = limits.max_bytes,
        rows = limits.max_rows + 1,
    )
}

async fn run_on(
    conn: &mut PgConnection,
    sql: &str,
    params: &[&Parameter],
    limits: Limits,
) -> Result<QueryResult> {
    let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
    // The time zone makes timestamps come back in UTC; standard strings make
    // the server read quotes and backslashes as the filter did.
    sqlx::query(
        "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
                set_config('TimeZone', 'UTC', true), set_config('standard_conforming_strings', 'on', true)",
    )
    .bind(format!("{}ms", limits.statement_timeout.as_millis()))
    .bind(format!("{}ms", limits.lock_timeout.as_millis()))
    .execute(&mut *tx)
    .await?;
    let text = capped(sql, limits);
    let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
    for p in params {
        q = match (p.kind, &p.value) {
            (ParameterType::String, serde_json::Value::String(s)) => q.bind(s.clone()),
            (ParameterType::Int, v) if v.is_i64() => q.bind(v.as_i64()),
            (ParameterType::Float, v) if v.is_number() => q.bind(v.as_f64()),
            (ParameterType::Bool, serde_json::Value::Bool(b)) => q.bind(*b),
            (kind, v) => {
                return Err(Error::new(
                    ErrorCode::DefinitionInvalid,
                    format!("{}: {v} is not a {kind:?} value", p.name),
                ))
            }
        };
    }
    let mut out = QueryResult {
        columns: Vec::new(),
        rows: Vec::new(),
        truncated: false,
    };
    // Whether the stream was read to its end (then the transaction can be
    // rolled back as usual), and what came of it.
    let (to_the_end, outcome) = {
        let mut stream = q.fetch(&mut *tx);
        loop {
            let row = match stream.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break (true, Ok(())),
                Err(e) => break (true, Err(query_error(e))),
            };
            match take(&mut out, &row, limits) {
                Ok(true) => {}
                Ok(false) => break (false, Ok(())),
                Err(e) => break (false, Err(e)),
            }
        }
    };
    if to_the_end {
        let rolled_back = tx.rollback().await;
        outcome?;
        rolled_back.map_err(query_error)?;
    } else {
        // Stopped early: the rest is never read. Dropping the transaction
        // and closing the connection (the caller does) ends it on the
        // server, which rolls it back.
        drop(tx);
        outcome?;
    }
    Ok(out)
}

/// Adds `row` (a JSON document and the running total of sizes) to `out`;
/// `false` when it is past a cap (`out` is then marked truncated).
fn take(out: &mut QueryResult, row: &sqlx::postgres::PgRow, limits: Limits) -> Result<bool> {
    let doc: Option<String> = row.try_get(0)?;
    let total: i64 = row.try_get(1)?;
    let doc = match doc {
        Some(doc) if out.rows.len() < limits.max_rows && total >= 0 => doc,
        _ => {
            out.truncated = true;
            return Ok(false);
        }
    };
    if out.columns.is_empty() {
        out.columns = keys_in_order(&doc)?;
    }
    let row = serde_json::from_str(&doc)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("a row is not JSON: {e}")))?;
    out.rows.push(row);
    Ok(true)
}

/// The keys of a JSON object, in the order written (the columns' order).
fn keys_in_order(doc: &str) -> Result<Vec<String>> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(k);
            }
            Ok(keys)
        }
    }
    serde_json::Deserializer::from_str(doc)
        .deserialize_map(Keys)
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("a row is not a JSON object: {e}"),
            )
        })
}

fn query_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let why = match code.as_str() {
                "57014" => "cancelled: the query ran longer than its statement timeout",
                "55P03" => "cancelled: a lock was not granted within the lock timeout",
                "25006" => "refused by the read-only transaction",
                "42501" if db.message().contains("table") => {
                    "refused: the query role lacks a privilege (grant it SELECT on the table)"
                }
                "42501" => "refused: the query role lacks a privilege",
                _ => "the database refused the query",
            };
            Error::new(ErrorCode::QueryRefused, format!("{why}: {}", db.message()))
        }
        _ => Error::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(select: &str, params: &[(&str, ParameterType, serde_json::Value)]) -> SqlQuery {
        SqlQuery {
            select: select.into(),
            parameters: params
                .iter()
                .map(|(n, k, v)| Parameter {
                    name: n.to_string(),
                    kind: *k,
                    value: v.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn named_parameters_become_positional_once_each() {
        let query = q(
            "SELECT a::text FROM t WHERE s = :s AND n > :n AND m = ':x' OR s2 = :s",
            &[
                ("n", ParameterType::Int, 1.into()),
                ("s", ParameterType::String, "a".into()),
            ],
        );
        let (sql, order) = positional(&query).unwrap();
        assert_eq!(
            sql,
            "SELECT a::text FROM t WHERE s = $1 AND n > $2 AND m = ':x' OR s2 = $1"
        );
        let names: Vec<&str> = order.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["s", "n"]);
        assert_eq!(
            positional(&q("SELECT :nope", &[])).unwrap_err().code(),
            ErrorCode::QueryRefused
        );
    }
}
