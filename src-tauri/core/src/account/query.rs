//! Running an administrator's account query safely.
//!
//! The database is the boundary; the parser is only a filter in front of it:
//!
//! 1. **Filter**: the text must parse (PostgreSQL dialect) as exactly one
//!    query statement: no DML anywhere (not in a CTE either), no
//!    `SELECT … INTO`, no row locks (`FOR UPDATE`/`SHARE`), and none of the
//!    side-effect functions in [`DENIED_FUNCTIONS`].
//! 2. **Boundary**: it runs on a dedicated connection, logged in as the query
//!    role (which holds no privilege but `SELECT` on the tables an
//!    administrator grants it), over the extended protocol only (one
//!    statement per Parse: a second statement cannot ride along), inside
//!    `BEGIN READ ONLY` with `statement_timeout` and `lock_timeout`, and is
//!    always rolled back; the connection is then closed, so no session state
//!    (settings, advisory locks, prepared statements) survives.
//! 3. **Caps**: rows are streamed and reading stops after the row cap.
//!
//! Parameters are named (`:name`) in the text, rewritten to positional
//! placeholders and bound by the driver: their values never become SQL.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Duration;

use futures::TryStreamExt;
use serde::Serialize;
use sqlparser::ast::{Expr, Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Column, ConnectOptions, Connection, PgConnection, Row, TypeInfo};

use crate::definition::{Parameter, ParameterType, SqlQuery};
use crate::error::{Error, ErrorCode, Result};

/// The login role account queries run as.
pub const QUERY_ROLE: &str = "berth_query";

/// Functions refused by the filter: they write, signal, sleep, lock, or
/// change session state. (The read-only transaction and the role refuse
/// most of them anyway; this only makes the refusal early and clear.)
pub const DENIED_FUNCTIONS: &[&str] = &[
    "pg_notify",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "set_config",
    "lo_import",
    "lo_export",
    "lo_from_bytea",
    "lo_create",
    "lo_creat",
    "lo_unlink",
    "lo_put",
    "lowrite",
    "dblink",
    "dblink_exec",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
];

/// Limits of one query run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `statement_timeout`.
    pub statement_timeout: Duration,
    /// `lock_timeout`.
    pub lock_timeout: Duration,
    /// Rows read at most (one more is read to tell that there were more).
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(1),
            max_rows: 10_000,
        }
    }
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows (at most the cap), each column's value as JSON.
    pub rows: Vec<BTreeMap<String, serde_json::Value>>,
    /// Whether more rows existed than the cap allowed.
    pub truncated: bool,
}

/// Why a query was refused before it ran.
fn refused(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::QueryRefused, message)
}

/// Checks `sql` (named parameters already rewritten to `$n`) is exactly one
/// read-only query statement.
pub fn check(sql: &str) -> Result<()> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| refused(format!("not a valid query: {e}")))?;
    match statements.as_slice() {
        [Statement::Query(_)] => {}
        [] => return Err(refused("the query is empty")),
        [_] => return Err(refused("only a SELECT query is allowed")),
        _ => return Err(refused("exactly one statement is allowed")),
    }
    struct Filter;
    impl Visitor for Filter {
        type Break = String;
        fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<String> {
            match s {
                Statement::Query(_) => ControlFlow::Continue(()),
                other => ControlFlow::Break(format!(
                    "only SELECT is allowed, found {}",
                    other
                        .to_string()
                        .split_whitespace()
                        .next()
                        .unwrap_or("a statement")
                )),
            }
        }
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<String> {
            if !q.locks.is_empty() {
                return ControlFlow::Break("row locks (FOR UPDATE/SHARE) are not allowed".into());
            }
            body_check(&q.body)
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<String> {
            if let Expr::Function(f) = e {
                let last = f
                    .name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.to_ascii_lowercase())
                    .unwrap_or_default();
                if DENIED_FUNCTIONS.contains(&last.as_str()) {
                    return ControlFlow::Break(format!("the function {last} is not allowed"));
                }
            }
            ControlFlow::Continue(())
        }
    }
    fn body_check(body: &SetExpr) -> ControlFlow<String> {
        match body {
            SetExpr::Select(s) if s.into.is_some() => {
                ControlFlow::Break("SELECT … INTO is not allowed".into())
            }
            SetExpr::SetOperation { left, right, .. } => {
                body_check(left)?;
                body_check(right)
            }
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                ControlFlow::Break("data-modifying statements are not allowed".into())
            }
            _ => ControlFlow::Continue(()),
        }
    }
    match statements.visit(&mut Filter) {
        ControlFlow::Break(why) => Err(refused(why)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Rewrites `:name` placeholders to `$1…$n` (outside strings and `::`
/// casts) and orders the parameters to match. Unknown names are errors.
pub fn positional(query: &SqlQuery) -> Result<(String, Vec<&Parameter>)> {
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

/// Connection options for the query role: `BERTH_QUERY_DATABASE_URL` when
/// given, else the main URL with the user replaced by [`QUERY_ROLE`] (and
/// no password).
pub fn role_options(main_url: &str, explicit: Option<&str>) -> Result<PgConnectOptions> {
    let parse = |url: &str, var: &str| {
        url.parse::<PgConnectOptions>().map_err(|e| {
            Error::config(
                ErrorCode::ConfigInvalid,
                var,
                format!("is not a valid PostgreSQL URL: {e}"),
            )
        })
    };
    let options = match explicit {
        Some(url) => parse(url, "BERTH_QUERY_DATABASE_URL")?,
        None => parse(main_url, "DATABASE_URL")?
            .username(QUERY_ROLE)
            .password(""),
    };
    Ok(options
        .application_name("berth account query")
        .log_statements(tracing::log::LevelFilter::Off))
}

/// Creates the query role if it is missing (needs `CREATEROLE`). It may log
/// in but holds no privilege; administrators grant it `SELECT` on the
/// tables account queries may read. Concurrent callers are fine.
pub async fn ensure_role(db: &sqlx::PgPool) -> Result<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(QUERY_ROLE)
            .fetch_one(db)
            .await?;
    if exists {
        return Ok(());
    }
    let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {QUERY_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
    )))
    .execute(db)
    .await;
    match created {
        Ok(_) => Ok(()),
        // Another instance created it first.
        Err(sqlx::Error::Database(e))
            if e.code().as_deref() == Some("42710") || e.code().as_deref() == Some("23505") =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs an account query under every safeguard in this module's docs.
pub async fn run(
    options: &PgConnectOptions,
    query: &SqlQuery,
    limits: Limits,
) -> Result<QueryResult> {
    let (sql, params) = positional(query)?;
    check(&sql)?;
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
    let mut conn = PgConnection::connect_with(options).await.map_err(|e| {
        Error::new(
            ErrorCode::DatabaseUnavailable,
            format!("cannot connect as the query role {QUERY_ROLE}: {e}"),
        )
    })?;
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

async fn run_on(
    conn: &mut PgConnection,
    sql: &str,
    params: &[&Parameter],
    limits: Limits,
) -> Result<QueryResult> {
    let mut tx = conn.begin_with("BEGIN READ ONLY").await?;
    for (name, value) in [
        ("statement_timeout", limits.statement_timeout),
        ("lock_timeout", limits.lock_timeout),
    ] {
        sqlx::query("SELECT set_config($1, $2, true)")
            .bind(name)
            .bind(format!("{}ms", value.as_millis()))
            .execute(&mut *tx)
            .await?;
    }
    // The cap is also put in the query, so the server stops producing rows
    // (a client that merely stops reading would leave it running until the
    // statement timeout). The text was checked to be one SELECT.
    let body = sql.trim().trim_end_matches(';').trim_end();
    let capped = format!(
        "SELECT * FROM (\n{body}\n) AS berth_capped LIMIT {}",
        limits.max_rows + 1
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(capped));
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
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut truncated = false;
    let outcome = {
        let mut stream = q.fetch(&mut *tx);
        loop {
            match stream.try_next().await {
                Ok(Some(row)) => {
                    if rows.len() == limits.max_rows {
                        truncated = true;
                        break Ok(());
                    }
                    if columns.is_empty() {
                        columns = row.columns().iter().map(|c| c.name().to_string()).collect();
                    }
                    rows.push(to_json(&row));
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        }
    };
    // Always rolled back, whatever happened.
    let rolled_back = tx.rollback().await;
    outcome.map_err(query_error)?;
    rolled_back.map_err(query_error)?;
    Ok(QueryResult {
        columns,
        rows,
        truncated,
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
                "42501" => {
                    "refused: the query role lacks a privilege (grant it SELECT on the table)"
                }
                _ => "the database refused the query",
            };
            Error::new(ErrorCode::QueryRefused, format!("{why}: {}", db.message()))
        }
        _ => Error::from(e),
    }
}

fn to_json(row: &PgRow) -> BTreeMap<String, serde_json::Value> {
    use serde_json::Value;
    let mut out = BTreeMap::new();
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_info().name().to_ascii_uppercase();
        let v = match ty.as_str() {
            "INT2" => row
                .try_get::<Option<i16>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
            "INT4" => row
                .try_get::<Option<i32>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
            "INT8" => row
                .try_get::<Option<i64>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
            "FLOAT4" | "FLOAT8" => row
                .try_get::<Option<f64>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
            "BOOL" => row
                .try_get::<Option<bool>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
            "JSON" | "JSONB" => row.try_get::<Option<Value>, _>(i).ok().flatten(),
            "TIMESTAMPTZ" => row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)
                .ok()
                .flatten()
                .map(|t| Value::from(t.to_rfc3339())),
            "UUID" => row
                .try_get::<Option<uuid::Uuid>, _>(i)
                .ok()
                .flatten()
                .map(|u| Value::from(u.to_string())),
            _ => row
                .try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .map(Value::from),
        };
        out.insert(col.name().to_string(), v.unwrap_or(Value::Null));
    }
    out
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

    #[test]
    fn the_filter_allows_plain_reads() {
        for ok in [
            "SELECT id, email FROM accounts WHERE status = $1 ORDER BY id LIMIT $2",
            "WITH a AS (SELECT * FROM accounts) SELECT count(*) FROM a",
            "SELECT * FROM accounts a JOIN teams t ON t.id = a.team UNION SELECT * FROM b",
            "SELECT lower(email), coalesce(x, 0) FROM accounts",
        ] {
            check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn the_filter_refuses_writes_locks_and_side_effects() {
        for bad in [
            "SELECT 1; DELETE FROM accounts",
            "WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d",
            "SELECT * INTO copy FROM accounts",
            "SELECT * FROM accounts FOR UPDATE",
            "SELECT * FROM (SELECT * FROM accounts FOR SHARE) s",
            "EXPLAIN ANALYZE DELETE FROM accounts",
            "DELETE FROM accounts",
            "SELECT pg_notify('c', 'x')",
            "SELECT lo_from_bytea(0, 'x')",
            "SELECT pg_advisory_lock(1)",
            "SELECT set_config('statement_timeout', '0', false)",
            "SELECT pg_catalog.pg_terminate_backend(1)",
            "SELECT pg_sleep(60)",
            "",
        ] {
            let e = check(bad).expect_err(bad);
            assert_eq!(e.code(), ErrorCode::QueryRefused, "{bad}: {e}");
        }
    }
}
