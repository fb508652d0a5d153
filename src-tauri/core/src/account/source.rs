//! Reading a pool definition's account source (the query, as the query
//! role, or the account directory) and refreshing the pool's accounts from
//! it. Shared by the CLI and the desktop app.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::account::lease::{self, AccountStats, Refreshed};
use crate::account::query::{self, Limits, QueryResult};
use crate::account::role;
use crate::confined::{Confined, Refusal};
use crate::definition::{self, AccountSource, PoolDefinition, SqlQuery};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};

/// Where the query role connects: the main database URL and the explicit
/// `BERTH_QUERY_DATABASE_URL`, if set (see [`role::role_options`]).
#[derive(Debug, Clone, Copy)]
pub struct QueryConnection<'a> {
    /// The URL the instance connected with.
    pub main_url: &'a str,
    /// `BERTH_QUERY_DATABASE_URL`, when set.
    pub explicit: Option<&'a str>,
}

/// Reads `def`'s account source: runs the query as the query role (creating
/// the role if missing), or lists the directory's files as accounts keyed by
/// file name, with the file's `path` ([`read_files`]). `None` without a
/// source. Writes nothing.
pub async fn read(
    db: &PgPool,
    conn: QueryConnection<'_>,
    dir: &Path,
    def: &PoolDefinition,
) -> Result<Option<QueryResult>> {
    read_showing_sql(db, conn, dir, def).await.result
}

/// What [`read_showing_sql`] found.
#[derive(Debug)]
pub struct Reading {
    /// The SQL the source runs (a builder form compiled), when it is an SQL
    /// source whose query could be built.
    pub sql: Option<SqlQuery>,
    /// What reading the source gave ([`read`]).
    pub result: Result<Option<QueryResult>>,
}

/// [`read`], also giving the SQL it ran, so a preview can show it without
/// compiling a builder form twice.
pub async fn read_showing_sql(
    db: &PgPool,
    conn: QueryConnection<'_>,
    dir: &Path,
    def: &PoolDefinition,
) -> Reading {
    match &def.accounts {
        Some(AccountSource::Sql { query, builder, .. }) => {
            let options = match role(db, conn).await {
                Ok(o) => o,
                Err(e) => {
                    return Reading {
                        sql: None,
                        result: Err(e),
                    }
                }
            };
            let sql = match (query, builder) {
                (Some(q), _) => Ok(q.clone()),
                (None, Some(b)) => super::builder::build(&options, b).await,
                (None, None) => Err(Error::new(
                    ErrorCode::DefinitionInvalid,
                    format!("{} has an sql account source without a query", def.name),
                )),
            };
            match sql {
                Ok(q) => {
                    let result = query::run(&options, &q, Limits::default()).await.map(Some);
                    Reading {
                        sql: Some(q),
                        result,
                    }
                }
                Err(e) => Reading {
                    sql: None,
                    result: Err(e),
                },
            }
        }
        _ => Reading {
            sql: None,
            result: read_files(dir, def),
        },
    }
}

/// The file source (or no source) part of [`read`]. The account directory
/// is confined to the pools directory `dir` ([`Confined`]): written relative
/// to it without `..`, and, with symbolic links followed, inside it; else
/// refused (`definition_invalid`; `not_found` when it is missing). Its
/// regular files, hidden ones and subdirectories skipped, become accounts
/// keyed by file name with their canonical `path`, at most as many as a
/// query may return (the first by name; `truncated` beyond). An entry that
/// is a link leading outside is skipped and logged, never listed.
fn read_files(dir: &Path, def: &PoolDefinition) -> Result<Option<QueryResult>> {
    let Some(AccountSource::File { directory, .. }) = &def.accounts else {
        return Ok(None);
    };
    let refused = |e: Refusal| {
        Error::new(
            e.code(),
            format!(
                "{}: the account directory {:?} {e}",
                def.name,
                directory.display().to_string()
            ),
        )
    };
    let listing = Confined::new(dir)
        .and_then(|root| root.files(directory, Limits::default().max_rows))
        .map_err(refused)?;
    for name in &listing.refused {
        tracing::warn!(
            pool = %def.name,
            file = %name,
            "account file skipped: a symbolic link leading outside the pools directory"
        );
    }
    let rows = listing
        .files
        .into_iter()
        .map(|(name, path)| {
            BTreeMap::from([
                ("id".to_string(), serde_json::Value::from(name)),
                (
                    "path".to_string(),
                    serde_json::Value::from(path.display().to_string()),
                ),
            ])
        })
        .collect();
    Ok(Some(QueryResult {
        columns: vec!["id".into(), "path".into()],
        rows,
        truncated: listing.truncated,
    }))
}

/// Connection options for account queries ([`role::role_options`]),
/// creating the query role if missing, and the default login role too when
/// `BERTH_QUERY_DATABASE_URL` does not name another.
pub async fn role(db: &PgPool, conn: QueryConnection<'_>) -> Result<PgConnectOptions> {
    let (q, l) = (role::QUERY_ROLE, role::LOGIN_ROLE);
    role::ensure_role(db).await.map_err(|e| {
        Error::new(
            ErrorCode::QueryRefused,
            format!("the query role {q} is missing and could not be created ({e}); create it: CREATE ROLE {q} NOLOGIN"),
        )
    })?;
    if conn.explicit.is_none() {
        role::ensure_login_role(db).await.map_err(|e| {
            Error::new(
                ErrorCode::QueryRefused,
                format!("the login role {l} is missing and could not be created ({e}); create it: CREATE ROLE {l} LOGIN NOINHERIT; GRANT {q} TO {l}"),
            )
        })?;
    }
    role::role_options(conn.main_url, conn.explicit)
}

/// What a refresh did and where the pool's accounts stand after it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshReport {
    /// Pool name.
    pub name: String,
    /// Accounts added, kept, removed.
    pub refreshed: Refreshed,
    /// Whether the source hit the row cap.
    pub truncated: bool,
    /// Account counts after the refresh.
    pub stats: AccountStats,
}

/// Refreshes the applied pool `def.name`'s accounts from its source
/// ([`read`] then [`lease::refresh`], which records the refresh time) and
/// announces the `pools` topic on `feed` (its owner flushes it).
/// Refused (`invalid_input`) without a source or before the pool is applied.
pub async fn refresh(
    db: &PgPool,
    feed: &Feed,
    conn: QueryConnection<'_>,
    dir: &Path,
    def: &PoolDefinition,
) -> Result<RefreshReport> {
    let name = &def.name;
    if def.accounts.is_none() {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("{name} has no account source to refresh"),
        ));
    }
    if !definition::applied(db).await?.contains_key(name) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("{name} is not applied yet: apply it first"),
        ));
    }
    let result = read(db, conn, dir, def).await?.unwrap_or(QueryResult {
        columns: Vec::new(),
        rows: Vec::new(),
        truncated: false,
    });
    let refreshed = lease::refresh(db, name, &result).await?;
    feed.publish(&[Topic::Pools]);
    Ok(RefreshReport {
        name: name.clone(),
        refreshed,
        truncated: result.truncated,
        stats: lease::stats(db, name).await?,
    })
}

/// Why the last automatic refresh of a pool's accounts failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct RefreshFailure {
    /// Pool name.
    pub pool: String,
    /// When it failed.
    pub failed_at: DateTime<Utc>,
    /// The error's code (`query_refused`, `database_unavailable`, …).
    pub code: String,
    /// The error's message.
    pub message: String,
}

/// Longest message stored with a refresh failure (in characters).
const FAILURE_MESSAGE_CHARS: usize = 1000;

/// Records that the automatic refresh of `pool` failed with `error` now
/// (replacing the previous failure), so every instance and face can show
/// it; a successful refresh clears it ([`lease::refresh`]).
pub async fn record_failure(db: &PgPool, pool: &str, error: &Error) -> Result<()> {
    let message: String = error
        .to_string()
        .chars()
        .take(FAILURE_MESSAGE_CHARS)
        .collect();
    sqlx::query(
        "INSERT INTO pool_account_refresh_failures (pool, failed_at, code, message)
         VALUES ($1, now(), $2, $3)
         ON CONFLICT (pool) DO UPDATE SET failed_at = now(), code = $2, message = $3",
    )
    .bind(pool)
    .bind(error.code().as_str())
    .bind(message)
    .execute(db)
    .await?;
    Ok(())
}

/// Every pool whose last automatic account refresh failed, by pool.
pub async fn refresh_failures(db: &PgPool) -> Result<BTreeMap<String, RefreshFailure>> {
    let rows: Vec<RefreshFailure> = sqlx::query_as(
        "SELECT pool, failed_at, code, message FROM pool_account_refresh_failures ORDER BY pool",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|f| (f.pool.clone(), f)).collect())
}

/// When `pool`'s accounts were last refreshed, if ever.
pub async fn last_refresh(db: &PgPool, pool: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT refreshed_at FROM pool_account_refreshes WHERE pool = $1")
            .bind(pool)
            .fetch_optional(db)
            .await?,
    )
}

/// Whether a column's values look secret (`password`, `secret`, `token`,
/// `credential` in its name), so previews hide them.
pub fn secret_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token", "credential"]
        .iter()
        .any(|s| n.contains(s))
}

/// `row` for showing to people: secret columns' values replaced by `***`.
pub fn redacted(row: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, serde_json::Value> {
    row.iter()
        .map(|(k, v)| {
            let v = if secret_column(k) {
                serde_json::Value::from("***")
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}
