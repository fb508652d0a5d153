//! The database roles account queries run as, and their connections.
//!
//! Two roles, because PostgreSQL lets a role signal (cancel, terminate) and
//! read the activity of every session that *logged in* as a role whose
//! privileges it has, and all account queries would otherwise share one:
//!
//! - [`QUERY_ROLE`] holds the privileges: no login needed, no privilege but
//!   the `SELECT` an administrator grants it. Queries run with its
//!   privileges (`SET ROLE`).
//! - Sessions log in as another role, by default [`LOGIN_ROLE`]: a member of
//!   the query role without privileges of its own (`NOINHERIT`).
//!
//! So a query's current role is the query role, and every other query's
//! session belongs to the login role, which the query role is not a member
//! of: `pg_terminate_backend`, `pg_cancel_backend` and the query text in
//! `pg_stat_activity` are refused to it by the database itself, whatever
//! the filter lets through. (Switching back to the login role takes
//! `set_config('role', …)`, which the filter refuses.) A connection that
//! logs in as the query role itself, or as a superuser, is refused.
//!
//! Berth changes nothing that belongs to the database or to other roles (no
//! `REVOKE … FROM PUBLIC`): the database may be shared, and such changes
//! would touch every other user of it.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::error::{Error, ErrorCode, Result};

/// The role whose privileges account queries use (grant it `SELECT`).
pub const QUERY_ROLE: &str = "berth_query";
/// The role account query sessions log in as by default: a member of
/// [`QUERY_ROLE`] without privileges of its own.
pub const LOGIN_ROLE: &str = "berth_query_login";

/// `name` as a quoted SQL identifier (for hints people may paste).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Connection options for account queries: `BERTH_QUERY_DATABASE_URL` when
/// given, else the main URL with the user replaced by [`LOGIN_ROLE`] (and
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
            .username(LOGIN_ROLE)
            .password(""),
    };
    Ok(options
        .application_name("berth account query")
        .log_statements(tracing::log::LevelFilter::Off))
}

async fn role_exists(db: &PgPool, name: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(name)
            .fetch_one(db)
            .await?,
    )
}

/// Runs role DDL; another instance doing the same first is fine (the role
/// exists, or the catalog row was "concurrently updated").
async fn create(db: &PgPool, ddl: String) -> Result<()> {
    match sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(db).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("42710" | "23505"))
                || (e.code().as_deref() == Some("XX000")
                    && e.message().contains("concurrently")) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates the query role if it is missing (needs `CREATEROLE`): it cannot
/// log in and holds no privilege; administrators grant it `SELECT` on the
/// tables account queries may read. An existing role is left as it is.
/// Concurrent callers are fine.
pub async fn ensure_role(db: &PgPool) -> Result<()> {
    if role_exists(db, QUERY_ROLE).await? {
        return Ok(());
    }
    create(
        db,
        format!("CREATE ROLE {QUERY_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"),
    )
    .await
}

/// Creates the default login role if it is missing (needs `CREATEROLE`),
/// and makes it a member of the query role if it is not: it may log in,
/// holds no privilege of its own, and its sessions default to read-only
/// transactions that may not sit idle. Needs [`ensure_role`] first.
/// Concurrent callers are fine.
pub async fn ensure_login_role(db: &PgPool) -> Result<()> {
    if !role_exists(db, LOGIN_ROLE).await? {
        // One simple query: created with its defaults, or not at all.
        create(
            db,
            format!(
                "CREATE ROLE {LOGIN_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
                 ALTER ROLE {LOGIN_ROLE} SET default_transaction_read_only = on;
                 ALTER ROLE {LOGIN_ROLE} SET idle_in_transaction_session_timeout = '30s';
                 GRANT {QUERY_ROLE} TO {LOGIN_ROLE}"
            ),
        )
        .await?;
    }
    let member: bool = sqlx::query_scalar("SELECT pg_has_role($1, $2, 'MEMBER')")
        .bind(LOGIN_ROLE)
        .bind(QUERY_ROLE)
        .fetch_one(db)
        .await?;
    if !member {
        create(db, format!("GRANT {QUERY_ROLE} TO {LOGIN_ROLE}")).await?;
    }
    Ok(())
}

fn refused(message: String) -> Error {
    Error::new(ErrorCode::QueryRefused, message)
}

/// Opens a connection for account queries and switches to the query role.
/// Refused (`query_refused`) when the session may not take the query role,
/// or logged in as the query role itself or as a superuser (either would
/// let one query disturb another's session). The caller closes it.
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    let mut conn = PgConnection::connect_with(options).await.map_err(|e| {
        Error::new(
            ErrorCode::DatabaseUnavailable,
            format!(
                "cannot connect for account queries as {}: {e}",
                options.get_username()
            ),
        )
    })?;
    match checked(&mut conn, options.get_username()).await {
        Ok(()) => Ok(conn),
        Err(e) => {
            let _ = conn.close().await;
            Err(e)
        }
    }
}

async fn checked(conn: &mut PgConnection, login: &str) -> Result<()> {
    let set = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET ROLE {QUERY_ROLE}")))
        .execute(&mut *conn)
        .await;
    if let Err(e) = set {
        return Err(refused(format!(
            "the account query login {login} cannot take the query role {QUERY_ROLE} ({e}); grant it: GRANT {QUERY_ROLE} TO {}",
            quote_ident(login)
        )));
    }
    let (session, superuser): (String, bool) = sqlx::query_as(
        "SELECT session_user::text, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if session == QUERY_ROLE {
        return Err(refused(format!(
            "account queries log in as {QUERY_ROLE} itself, so one query could cancel or read another's session; log in as {LOGIN_ROLE} instead (CREATE ROLE {LOGIN_ROLE} LOGIN NOINHERIT; GRANT {QUERY_ROLE} TO {LOGIN_ROLE}), or point BERTH_QUERY_DATABASE_URL at another member of {QUERY_ROLE}"
        )));
    }
    if superuser {
        return Err(refused(format!(
            "account queries log in as the superuser {session}; use a login role without privileges of its own ({LOGIN_ROLE})"
        )));
    }
    Ok(())
}
