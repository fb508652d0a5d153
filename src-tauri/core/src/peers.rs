//! Peers: the instances sharing the database, as their heartbeats record
//! them (written by `jobs::heartbeat`, pruned by the leader). Read-only here.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// How recent a heartbeat must be for [`anyone_serving`] to count it.
pub const SERVING_WITHIN_SECS: i64 = 60;

/// One instance sharing the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    /// The instance's id.
    pub id: Uuid,
    /// Host it runs on (`HOSTNAME`, else `unknown`).
    pub hostname: String,
    /// Its process id.
    pub pid: i32,
    /// How it runs (`desktop`, `serve`, ...).
    pub mode: String,
    /// When it first heartbeated.
    pub started_at: DateTime<Utc>,
    /// Its latest heartbeat.
    pub heartbeat_at: DateTime<Utc>,
}

/// Every peer, oldest first (stale ones stay until the leader prunes them).
pub async fn list(db: &PgPool) -> Result<Vec<Peer>> {
    Ok(sqlx::query_as(
        "SELECT id, hostname, pid, mode, started_at, heartbeat_at FROM peers ORDER BY started_at, id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether any instance heartbeated in the last [`SERVING_WITHIN_SECS`]
/// (database time): then a queued request will be handed capacity.
pub async fn anyone_serving(db: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM peers WHERE heartbeat_at > now() - make_interval(secs => $1))",
    )
    .bind(SERVING_WITHIN_SECS as f64)
    .fetch_one(db)
    .await?)
}
