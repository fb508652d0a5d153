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

/// Updates and HOT updates of one kind of slot transition.
#[derive(Debug, Clone, Copy, Default)]
pub struct Transition {
    pub name: &'static str,
    pub updates: i64,
    pub hot: i64,
}

/// Runs `n` slot lifecycles through the core on one connection (acquire,
/// the deploy's sign of life, `deploying` → `busy`, release), transition
/// by transition, and counts what each wrote into `pool_slots`: which
/// transitions are HOT. The connection's own statistics are flushed
/// (`pg_stat_force_next_flush`) and read back before and after each step.
pub async fn transitions(
    options: &sqlx::postgres::PgConnectOptions,
    pool: &str,
    bots: &[i64],
) -> Result<Vec<Transition>, String> {
    use berth_core::meeting::PlatformKind;
    use berth_core::slot;
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let n = bots.len() as i64;
    let mut out = Vec::new();
    let mut before = own(&one, 0).await?;
    let mut step = |name: &'static str, after: Updates, before: &mut Updates| {
        out.push(Transition {
            name,
            updates: after.updates - before.updates,
            hot: after.hot - before.hot,
        });
        *before = after;
    };
    let mut leases = Vec::new();
    for bot in bots {
        let mut conn = one.acquire().await.map_err(|e| format!("connect: {e}"))?;
        let lease = slot::acquire(&mut conn, pool, PlatformKind::Local, *bot)
            .await
            .map_err(|e| format!("slot::acquire: {e}"))?
            .ok_or("no idle slot for the HOT check")?;
        leases.push(lease);
    }
    step(
        "acquire (idle → deploying)",
        own(&one, before.updates + n).await?,
        &mut before,
    );
    for l in &leases {
        slot::touch_deploying(&one, l.slot_id, l.epoch)
            .await
            .map_err(|e| format!("slot::touch_deploying: {e}"))?;
    }
    step(
        "deploy's sign of life",
        own(&one, before.updates + n).await?,
        &mut before,
    );
    let now = chrono::Utc::now();
    for l in &leases {
        slot::mark_busy(&one, l.slot_id, l.epoch, now)
            .await
            .map_err(|e| format!("slot::mark_busy: {e}"))?;
    }
    step(
        "deploying → busy",
        own(&one, before.updates + n).await?,
        &mut before,
    );
    for l in &leases {
        let mut conn = one.acquire().await.map_err(|e| format!("connect: {e}"))?;
        slot::release(&mut conn, l.slot_id, l.epoch, "bench")
            .await
            .map_err(|e| format!("slot::release: {e}"))?;
    }
    step(
        "release (busy → idle)",
        own(&one, before.updates + n).await?,
        &mut before,
    );
    one.close().await;
    Ok(out)
}

/// `pool_slots`' counters as `db`'s one connection sees them after
/// publishing its own (bounded; each round forces the flush first).
async fn own(db: &PgPool, at_least: i64) -> Result<Updates, String> {
    let mut seen = Updates::default();
    for _ in 0..1_000 {
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(db)
            .await
            .map_err(|e| format!("pg_stat_force_next_flush: {e}"))?;
        let (updates, hot): (i64, i64) = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'pool_slots'",
        )
        .fetch_one(db)
        .await
        .map_err(|e| format!("pg_stat_user_tables: {e}"))?;
        seen = Updates { updates, hot };
        if updates >= at_least {
            return Ok(seen);
        }
    }
    Err(format!(
        "pool_slots' statistics never reached {at_least} updates ({} seen)",
        seen.updates
    ))
}
