//! The minimal raw workload, the limit the core is measured
//! against: a slots table with a primary key, a status, an owner, the last
//! use and ONE partial index on idle rows by last use; acquire the least
//! recently used idle row by `FOR UPDATE SKIP LOCKED`, release by id, each
//! in its own transaction. No history, no counters, no checks.
//!
//! Its variant with history ([`Journal::Kept`]) writes one row into the
//! core's own `slot_history` per transition, in the same statement: the
//! floor of any design that records every transition, measured in the same
//! run.

use sqlx::{PgConnection, PgPool};

/// The table, in the benchmark's scratch database beside the core's.
pub const TABLE: &str = "bench_minimal_slots";

const CREATE: &[&str] = &[
    "CREATE TABLE bench_minimal_slots (
        id           BIGINT PRIMARY KEY,
        status       TEXT NOT NULL,
        owner        BIGINT,
        last_used_at TIMESTAMPTZ
    )",
    "CREATE INDEX bench_minimal_slots_idle_idx ON bench_minimal_slots (last_used_at NULLS LAST, id)
        WHERE status = 'idle'",
];

// The lock clause goes between head and tail (`--lock-mode`).
const ACQUIRE_HEAD: &str =
    "UPDATE bench_minimal_slots SET status = 'busy', owner = $1, last_used_at = now()
    WHERE id = (SELECT id FROM bench_minimal_slots WHERE status = 'idle'
                ORDER BY last_used_at NULLS LAST, id LIMIT 1 ";
const ACQUIRE_TAIL: &str = ") RETURNING id";
const RELEASE: &str =
    "UPDATE bench_minimal_slots SET status = 'idle', owner = NULL WHERE id = $1 AND owner = $2 RETURNING id";

/// Whether each transition also writes its `slot_history` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    None,
    Kept,
}

/// `update` (returning `id`) with one `slot_history` row for what it changed.
fn with_history(update: &str, from: &str, to: &str, owner: &str) -> String {
    format!(
        "WITH u AS ({update}), h AS (
            INSERT INTO slot_history (slot_id, slot_name, epoch, from_status, to_status, bot_id, reason)
            SELECT id, 'minimal', 0, '{from}', '{to}', {owner}, 'bench' FROM u)
         SELECT id FROM u"
    )
}

/// The release statement.
pub fn release_sql(journal: Journal) -> String {
    match journal {
        Journal::None => RELEASE.to_string(),
        Journal::Kept => with_history(RELEASE, "busy", "idle", "$2::bigint"),
    }
}

/// Creates the table with `slots` idle rows.
pub async fn create(db: &PgPool, slots: usize) -> Result<(), String> {
    for ddl in CREATE {
        sqlx::query(*ddl)
            .execute(db)
            .await
            .map_err(|e| format!("create {TABLE}: {e}"))?;
    }
    sqlx::query(
        "INSERT INTO bench_minimal_slots (id, status) SELECT n, 'idle' FROM generate_series(1, $1::bigint) AS n",
    )
    .bind(slots as i64)
    .execute(db)
    .await
    .map_err(|e| format!("fill {TABLE}: {e}"))?;
    Ok(())
}

/// The acquisition statement under `lock` (`FOR UPDATE [SKIP LOCKED]`).
pub fn acquire_sql(lock: &str, journal: Journal) -> String {
    let update = format!("{ACQUIRE_HEAD}{lock}{ACQUIRE_TAIL}");
    match journal {
        Journal::None => update,
        Journal::Kept => with_history(&update, "idle", "busy", "$1::bigint"),
    }
}

/// Takes the least recently used idle row for `owner`: its id, if any.
pub async fn acquire(
    conn: &mut PgConnection,
    sql: &str,
    owner: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(owner)
        .fetch_optional(conn)
        .await
}

/// Gives row `id` back with `sql` ([`release_sql`]); whether `owner` held it.
pub async fn release(
    conn: &mut PgConnection,
    sql: &str,
    id: i64,
    owner: i64,
) -> Result<bool, sqlx::Error> {
    let done: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(id)
        .bind(owner)
        .fetch_optional(conn)
        .await?;
    Ok(done == Some(id))
}

/// After a run every row is idle again.
pub async fn check_all_idle(db: &PgPool, slots: usize) -> Result<(), String> {
    let idle: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bench_minimal_slots WHERE status = 'idle' AND owner IS NULL",
    )
    .fetch_one(db)
    .await
    .map_err(|e| format!("check {TABLE}: {e}"))?;
    if idle != slots as i64 {
        return Err(format!(
            "after a run {idle} of {slots} minimal rows are idle; expected all"
        ));
    }
    Ok(())
}
