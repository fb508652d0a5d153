//! Reaching the database for one command: directly (commands that need no
//! adapters), or through an instance that prepares nothing (commands that
//! route or release bots).
//!
//! One-shot commands never migrate or write the environment's
//! configuration (only `serve`, `demo`, `migrate` and the desktop app do):
//! they check that the schema is this build's and write only what they
//! were asked to, so a read-only or refused command leaves the database as
//! it was. They connect to `DATABASE_URL`, or the embedded cluster (stopped
//! at the end only if this process started it).

use berth_core::db::{self, embedded};
use berth_core::{Berth, Options, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::path::Path;
use std::str::FromStr;

/// `DATABASE_URL`, if set and not blank.
pub fn database_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Where the database is, for people: the URL without its password (or
/// any parameter, which might carry one), or the embedded cluster's directory.
pub fn describe(url: Option<&str>, data_dir: &Path) -> String {
    match url {
        None => format!("embedded ({})", data_dir.display()),
        Some(url) => match PgConnectOptions::from_str(url) {
            Ok(o) => format!(
                "postgres://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or_default()
            ),
            Err(_) => "DATABASE_URL (unreadable)".to_string(),
        },
    }
}

/// A direct connection, with the embedded cluster it started (if any).
pub struct Db {
    /// The connection pool.
    pub pool: PgPool,
    /// Where it is (no password).
    pub location: String,
    /// The URL connected to (may hold a password: never print it).
    pub url: String,
    embedded: Option<embedded::EmbeddedPostgres>,
}

impl Db {
    /// Connects; with `check_schema`, refuses a database whose schema is
    /// not this build's (`schema_outdated`), reading only.
    pub async fn open(check_schema: bool) -> Result<Db> {
        let url = database_url();
        let data_dir = embedded::default_data_dir();
        let location = describe(url.as_deref(), &data_dir);
        let (url, mut embedded) = match url {
            Some(url) => (url, None),
            None => {
                let pg = embedded::EmbeddedPostgres::start(&data_dir).await?;
                (pg.url(), Some(pg))
            }
        };
        let pool = match db::connect(&url, 4).await {
            Ok(pool) => pool,
            Err(e) => {
                if let Some(pg) = embedded.as_mut() {
                    let _ = pg.stop().await;
                }
                return Err(e);
            }
        };
        let db = Db {
            pool,
            location,
            url,
            embedded,
        };
        if check_schema {
            if let Err(e) = db::check_schema(&db.pool).await {
                let _ = db.close().await;
                return Err(e);
            }
        }
        Ok(db)
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(mut self) -> Result<()> {
        self.pool.close().await;
        if let Some(mut pg) = self.embedded.take() {
            pg.stop().await?;
        }
        Ok(())
    }
}

/// Runs `f` on a direct connection to a database with this build's schema,
/// closing it afterwards whatever happens.
pub async fn with_db<T>(f: impl AsyncFnOnce(&Db) -> Result<T>) -> Result<T> {
    let db = Db::open(true).await?;
    let result = f(&db).await;
    let closed = db.close().await;
    let value = result?;
    closed?;
    Ok(value)
}

/// Runs `f` on a one-shot instance (adapters and router, no background
/// services, nothing prepared: see [`Options::one_shot`]), then shuts it
/// down gracefully (pending change notifications are flushed) whatever `f`
/// returned.
pub async fn with_berth<T>(dev: bool, f: impl AsyncFnOnce(&Berth) -> Result<T>) -> Result<T> {
    let berth = Berth::start(Options::one_shot(dev)).await?;
    let result = f(&berth).await;
    let stopped = berth.shutdown().await;
    let value = result?;
    stopped?;
    Ok(value)
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM; returns the signal's name.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                r = tokio::signal::ctrl_c() => {
                    if r.is_err() {
                        // No Ctrl-C handler: SIGTERM alone stops us.
                        term.recv().await;
                        return "SIGTERM";
                    }
                    "Ctrl-C"
                }
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                ctrl_c_only().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c_only().await
    }
}

async fn ctrl_c_only() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let shown = describe(
            Some("postgres://berth:s3cret@db.example:6543/prod?password=other&sslmode=require"),
            Path::new("/x"),
        );
        assert_eq!(shown, "postgres://berth@db.example:6543/prod");
        assert!(!shown.contains("s3cret") && !shown.contains("other"));
        assert_eq!(describe(None, Path::new("/data")), "embedded (/data)");
    }
}
