//! Whether updates were HOT (heap-only: no index entry written), from
//! `pg_stat_user_tables` of the benchmark's scratch database.

use sqlx::PgPool;
use std::time::Duration;

/// A table's update counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Updates {
    pub updates: i64,
    pub hot: i64,
}

impl Updates {
    /// The share of updates that were HOT, in percent.
    pub fn hot_percent(&self) -> f64 {
        if self.updates > 0 {
            self.hot as f64 * 100.0 / self.updates as f64
        } else {
            0.0
        }
    }
}

/// Rounds of waiting for the statistics of closed connections.
const ATTEMPTS: u32 = 100;

/// The counters of `table` once they cover at least `expected` updates.
///
/// PostgreSQL 15 keeps statistics in shared memory, where a backend adds
/// its own at the end of a transaction (at most once a second) or when it
/// exits; the benchmark's workers close their connections after each run,
/// so their counts arrive shortly after. This polls, bounded, and reports
/// what it found if they never reach `expected` (aborted updates count too,
/// so a reached figure is exact or above).
pub async fn updates(db: &PgPool, table: &str, expected: i64) -> Result<Updates, String> {
    let mut seen = Updates::default();
    for _ in 0..ATTEMPTS {
        let mut conn = db.acquire().await.map_err(|e| format!("connect: {e}"))?;
        // A fresh snapshot of the shared statistics, not this
        // transaction's cached copy.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut *conn)
            .await
            .map_err(|e| format!("pg_stat_clear_snapshot: {e}"))?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = $1",
        )
        .bind(table)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| format!("pg_stat_user_tables: {e}"))?;
        if let Some((updates, hot)) = row {
            seen = Updates { updates, hot };
            if updates >= expected {
                return Ok(seen);
            }
        }
        drop(conn);
        // Not a synchronisation in a test: the server's statistics
        // collection has no event to wait on from another backend.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "  warning: {table}: {} updates counted, {expected} expected (statistics late?)",
        seen.updates
    );
    Ok(seen)
}
