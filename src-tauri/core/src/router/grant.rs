//! Set-based grants: the statements a batch ([`super::batch`]) runs for a
//! whole run of queue entries at once, instead of a few per entry.
//!
//! [`lock_entries`] locks the entries of a run in one statement;
//! [`pair`] hands a pool's least recently used idle slots on a platform to
//! as many of its entries, in queue order, in one statement: each slot goes
//! `idle` → `deploying` (epoch bumped, history written, as
//! [`crate::slot::acquire`] does for one), its bot `QUEUED` → `DEPLOYING`
//! on the platform, and its entry leaves the queue.
//!
//! The slot transition is [`crate::slot::acquire`]'s, built from the same
//! fragment (`slot::acquire_transition!`): what an acquisition writes
//! (columns, history) is defined once.

use std::collections::HashSet;

use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::slot::Lease;

/// Locks the entries of `bots` whose bot is still `QUEUED`, for the
/// caller's transaction, skipping those another caller holds (as
/// [`crate::queue::lock_queued`] does for one); returns the bots locked.
pub(super) async fn lock_entries(
    conn: &mut sqlx::PgConnection,
    bots: &[i64],
) -> Result<HashSet<i64>> {
    let locked: Vec<i64> = sqlx::query_scalar(
        "SELECT q.bot_id FROM deployment_queue q JOIN bots b ON b.id = q.bot_id
         WHERE q.bot_id = ANY($1) AND b.status = 'QUEUED' FOR UPDATE OF q SKIP LOCKED",
    )
    .bind(bots)
    .fetch_all(conn)
    .await?;
    Ok(locked.into_iter().collect())
}

/// What [`pair`] granted.
#[derive(Debug)]
pub(super) struct Paired {
    /// Per bot granted (a prefix of the bots asked for, in their order):
    /// the bot and its slot.
    pub leases: Vec<(i64, Lease)>,
    /// Whether every paired bot was still `QUEUED` (else the caller rolls
    /// back: its entry lock should have kept it so).
    pub all_moved: bool,
}

#[derive(sqlx::FromRow)]
struct PairRow {
    bot_id: i64,
    #[sqlx(flatten)]
    lease: Lease,
    moved: i64,
}

// The idle slots are chosen with `slot::ACQUIRABLE`'s condition word for
// word: it is the acquisition index's predicate (`status = 'idle'` alone
// would read every slot of the pool).
const PAIR: &str = concat!(
    "WITH want AS (
    SELECT bot, descr, ord FROM unnest($3::bigint[], $4::text[]) WITH ORDINALITY AS w(bot, descr, ord)
), cand AS (
    SELECT id, row_number() OVER (ORDER BY last_used_at ASC NULLS LAST, id) AS ord
    FROM (SELECT id, last_used_at FROM pool_slots
          WHERE pool = $1 AND deployment_platform = $2 AND ",
    crate::slot::acquirable!(),
    "
          ORDER BY last_used_at ASC NULLS LAST, id
          LIMIT cardinality($3::bigint[])
          FOR UPDATE SKIP LOCKED) c
), pair AS (
    SELECT cand.id, want.bot, want.descr FROM cand JOIN want USING (ord)
), ",
    crate::slot::acquire_transition!("pair", "pair.bot", "pair.descr"),
    ", moved AS (
    UPDATE bots b SET status = 'DEPLOYING', deployment_platform = $2, updated_at = now()
    FROM upd WHERE b.id = upd.assigned_bot_id AND b.status = 'QUEUED'
    RETURNING b.id
), gone AS (
    DELETE FROM deployment_queue q USING moved WHERE q.bot_id = moved.id
)
SELECT upd.assigned_bot_id AS bot_id, upd.id AS slot_id, upd.uuid, upd.slot_name, upd.pool, upd.epoch,
       upd.platform_ref, (SELECT count(*) FROM moved) AS moved
FROM upd"
);

/// Inside a batch's transaction (under the platform's lock, the entries of
/// `bots` locked): pairs the first bots of `bots` (in queue order) with the
/// least recently used idle slots of `pool` on `kind` (never-used last, as [`crate::slot::acquire`];
/// slots another caller holds are skipped), one each, as far as there are
/// slots, in one statement. Bots left unpaired are untouched.
pub(super) async fn pair(
    conn: &mut sqlx::PgConnection,
    pool: &str,
    kind: PlatformKind,
    bots: &[i64],
) -> Result<Paired> {
    let descs: Vec<String> = bots
        .iter()
        .map(|b| crate::description::deploying(*b))
        .collect();
    let rows: Vec<PairRow> = sqlx::query_as(PAIR)
        .bind(pool)
        .bind(kind.as_str())
        .bind(bots)
        .bind(&descs)
        .fetch_all(conn)
        .await?;
    let all_moved = rows.first().is_none_or(|r| r.moved as usize == rows.len());
    let mut leases: Vec<(i64, Lease)> = rows.into_iter().map(|r| (r.bot_id, r.lease)).collect();
    // In the order asked (the slots were paired in that order).
    leases.sort_by_key(|(bot, _)| bots.iter().position(|b| b == bot));
    Ok(Paired { leases, all_moved })
}
