//! Leadership among the instances sharing the database: a row with an
//! expiry, bid for and renewed by the leader; and the peers' heartbeats.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// How often the leader renews its lease, and how often the others look
/// at it: a quarter of the lease.
pub fn renewal_interval_ms(lease_ms: u32) -> u32 {
    (lease_ms / 4).max(1)
}

/// How long one renewal holds: three quarters of the lease. The others wake
/// up at that expiry (see [`Bid::expires_in_ms`]), so when the leader dies
/// right after renewing, one of them has taken over within the lease; the
/// last quarter absorbs its wake-up and its query. The leader may miss one
/// renewal (plus a quarter of a lease) before it loses the lease.
pub fn renewal_holds_ms(lease_ms: u32) -> u32 {
    lease_ms - lease_ms / 4
}

/// What a bid for leadership found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bid {
    /// `me` leads now (it took the lease or renewed it).
    pub leading: bool,
    /// When another instance leads: how long until its lease runs out (in
    /// the database's time), so a bidder can look again right then.
    pub expires_in_ms: Option<i64>,
}

/// Takes or renews leadership for `me`, with a renewal that holds for
/// [`renewal_holds_ms`] of `lease_ms`. Uses the database's clock, so
/// instances never disagree about expiry.
pub async fn bid(db: &PgPool, me: Uuid, lease_ms: u32) -> Result<Bid> {
    let (leading, expires_in_ms): (bool, Option<i64>) = sqlx::query_as(
        "WITH won AS (
            INSERT INTO leader (id, holder, expires_at) VALUES (1, $1, now() + make_interval(secs => $2::float8 / 1000))
            ON CONFLICT (id) DO UPDATE SET
                holder = $1,
                term = CASE WHEN leader.holder = $1 THEN leader.term ELSE leader.term + 1 END,
                acquired_at = CASE WHEN leader.holder = $1 THEN leader.acquired_at ELSE now() END,
                expires_at = now() + make_interval(secs => $2::float8 / 1000)
            WHERE leader.holder = $1 OR leader.expires_at < now()
            RETURNING holder
         )
         SELECT EXISTS (SELECT 1 FROM won WHERE holder = $1),
                -- The row as it was before this statement: the holder we lost to.
                (SELECT ceil(EXTRACT(EPOCH FROM expires_at - now()) * 1000)::bigint FROM leader WHERE id = 1)",
    )
    .bind(me)
    .bind(f64::from(renewal_holds_ms(lease_ms)))
    .fetch_one(db)
    .await?;
    Ok(Bid {
        leading,
        expires_in_ms: if leading { None } else { expires_in_ms },
    })
}

/// [`bid`], answering only whether `me` leads now.
pub async fn try_lead(db: &PgPool, me: Uuid, lease_ms: u32) -> Result<bool> {
    Ok(bid(db, me, lease_ms).await?.leading)
}

/// Gives leadership up (on graceful shutdown) so another instance takes over at once.
pub async fn resign(db: &PgPool, me: Uuid) -> Result<()> {
    sqlx::query("UPDATE leader SET expires_at = now() - interval '1 second' WHERE holder = $1")
        .bind(me)
        .execute(db)
        .await?;
    Ok(())
}

/// The current leader, if its lease is live.
pub async fn leader(db: &PgPool) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT holder FROM leader WHERE id = 1 AND expires_at > now()")
            .fetch_optional(db)
            .await?,
    )
}

/// Records this instance as a peer (heartbeat).
pub async fn heartbeat(db: &PgPool, me: Uuid, mode: &str) -> Result<()> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into());
    sqlx::query(
        "INSERT INTO peers (id, hostname, pid, mode) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
    )
    .bind(me)
    .bind(host)
    .bind(std::process::id() as i32)
    .bind(mode)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes peers whose last heartbeat is older than `max_age_ms` (they
/// died without leaving); returns how many.
pub async fn prune_peers(db: &PgPool, max_age_ms: u32) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM peers WHERE heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)",
    )
    .bind(f64::from(max_age_ms))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Removes this instance from the peers.
pub async fn leave(db: &PgPool, me: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM peers WHERE id = $1")
        .bind(me)
        .execute(db)
        .await?;
    Ok(())
}
