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

use berth_core::instance::{Connection, Database, Schema};
use berth_core::{Berth, Result};

/// A direct connection, with the embedded cluster it started (if any).
pub type Db = Connection;

/// Connects to the database of the environment ([`Database::from_env`]) for
/// one command; with `check_schema`, refuses a database whose schema is not
/// this build's (`schema_outdated`), reading only.
pub async fn open(check_schema: bool) -> Result<Db> {
    let schema = if check_schema {
        Schema::Check
    } else {
        Schema::AsIs
    };
    Database::from_env().connect(4, schema).await
}

/// Runs `f` on a direct connection to a database with this build's schema,
/// closing it afterwards whatever happens.
pub async fn with_db<T>(f: impl AsyncFnOnce(&Db) -> Result<T>) -> Result<T> {
    let db = open(true).await?;
    let result = f(&db).await;
    let closed = db.close().await;
    let value = result?;
    closed?;
    Ok(value)
}

/// Runs `f` on a one-shot instance (adapters and router, no background
/// services, nothing prepared: see [`berth_core::Builder::one_shot`]), then
/// shuts it down gracefully (pending change notifications are flushed)
/// whatever `f` returned.
pub async fn with_berth<T>(dev: bool, f: impl AsyncFnOnce(&Berth) -> Result<T>) -> Result<T> {
    let berth = Berth::from_env(dev)?.one_shot().start().await?;
    let result = f(&berth).await;
    let stopped = berth.shutdown().await;
    let value = result?;
    stopped?;
    Ok(value)
}

/// Listens for Ctrl-C and (on Unix) SIGTERM from this call on, and resolves
/// with the signal's name once one arrives.
///
/// The handlers are installed when this is called, not when the future is
/// first polled: a command that says it started (and so may be signalled at
/// once) calls it before saying so, and a SIGTERM sent in between is then
/// caught instead of killing the process by the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for {name}");
                None
            }
        };
        let interrupt = listen(SignalKind::interrupt(), "Ctrl-C");
        let terminate = listen(SignalKind::terminate(), "SIGTERM");
        async move {
            match (interrupt, terminate) {
                (Some(mut i), Some(mut t)) => tokio::select! {
                    _ = i.recv() => "Ctrl-C",
                    _ = t.recv() => "SIGTERM",
                },
                (Some(mut i), None) => {
                    i.recv().await;
                    "Ctrl-C"
                }
                (None, Some(mut t)) => {
                    t.recv().await;
                    "SIGTERM"
                }
                (None, None) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c_only()
    }
}

#[cfg(not(unix))]
async fn ctrl_c_only() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending().await
        }
    }
}
