//! Stuck bots: a running bot that stopped sending heartbeats.
//!
//! A bot whose workload runs (its slot `busy`) and that has not ended is
//! stuck when its last sign of life — the later of its last heartbeat or
//! report and its workload's start (when the slot turned `busy`) — is older
//! than the heartbeat timeout (`BERTH_BOT_HEARTBEAT_TIMEOUT_MS`, 15 minutes
//! by default, as in the earlier system). The leader's job ends it `FATAL`
//! with the reason, claimed by one conditional statement (a heartbeat
//! arriving first wins), then frees what it held the way every end does
//! ([`Router::finish`]: its workload stopped and its slot reset to `idle`,
//! or left in `error` for recovery when the stop fails; its account
//! returned). Deploys that never started (`deploying` slots) are recovery's
//! business (the deploying timeout), not this job's.

use chrono::{DateTime, Duration, Utc};

use crate::actor::Actor;
use crate::error::Result;
use crate::meeting::BotStatus;
use crate::router::Router;

/// How long a token's row is kept after its lease ended (then a stale
/// token reads as unknown rather than as an ended lease).
pub const TOKEN_RETENTION: Duration = Duration::days(7);

/// What one pass found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StuckReport {
    /// Bots ended `FATAL` for their silence, in id order.
    pub ended: Vec<i64>,
    /// Token rows of leases long over, removed.
    pub tokens_pruned: u64,
}

/// How often the leader looks for stuck bots with this timeout: a tenth of
/// it, between 1 s and 1 min (so a stuck bot is found within about 10 %
/// past its timeout).
pub fn check_interval_ms(timeout_ms: u32) -> u32 {
    (timeout_ms / 10).clamp(1_000, 60_000)
}

/// The reason a stuck bot ends with.
pub fn reason(timeout_ms: u32) -> String {
    let d = std::time::Duration::from_millis(timeout_ms.into());
    format!(
        "no heartbeat for {}; stuck bot recovered",
        humantime::format_duration(d)
    )
}

/// One pass: ends every stuck bot (see the module) and prunes the token
/// rows of leases over for [`TOKEN_RETENTION`]. `timeout_ms` 0 turns the
/// heartbeat check off (pruning still runs). Publishes the topics of each
/// end (bots, queue, slots).
pub async fn run(router: &Router, timeout_ms: u32) -> Result<StuckReport> {
    let now = router.clock().now();
    let mut report = StuckReport::default();
    if timeout_ms > 0 {
        let cutoff = now - Duration::milliseconds(timeout_ms.into());
        let why = reason(timeout_ms);
        for (bot_id, slot_id, epoch) in candidates(router, cutoff).await? {
            if claim(router, bot_id, slot_id, epoch, cutoff, &why).await? {
                tracing::warn!(actor = %Actor::system("stuck-bots"), bot = bot_id, slot = slot_id, epoch, reason = %why, "stuck bot ended");
                // Already ended by the claim: this frees what it held.
                router.finish(bot_id, BotStatus::Fatal, Some(&why)).await?;
                report.ended.push(bot_id);
            }
        }
    }
    report.tokens_pruned = prune_tokens(router, now - TOKEN_RETENTION).await?;
    Ok(report)
}

/// Running bots silent since before `cutoff`: (bot, slot, epoch).
async fn candidates(router: &Router, cutoff: DateTime<Utc>) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT b.id, s.id, s.epoch FROM pool_slots s JOIN bots b ON b.id = s.assigned_bot_id
         WHERE s.status = 'busy' AND s.assigned_bot_id IS NOT NULL AND b.status NOT IN ('DONE', 'FATAL')
           AND GREATEST(b.last_heartbeat_at, s.status_changed_at) < $1
         ORDER BY b.id",
    )
    .bind(cutoff)
    .fetch_all(router.db())
    .await?)
}

/// Ends the bot `FATAL` with `why` if it is still silent since before
/// `cutoff` in the same lease; whether this call ended it.
async fn claim(
    router: &Router,
    bot_id: i64,
    slot_id: i64,
    epoch: i64,
    cutoff: DateTime<Utc>,
    why: &str,
) -> Result<bool> {
    let ended = sqlx::query(
        "UPDATE bots b SET status = 'FATAL', error = $5, ended_at = now(), updated_at = now()
         FROM pool_slots s
         WHERE b.id = $1 AND b.status NOT IN ('DONE', 'FATAL')
           AND s.id = $2 AND s.epoch = $3 AND s.assigned_bot_id = b.id AND s.status = 'busy'
           AND GREATEST(b.last_heartbeat_at, s.status_changed_at) < $4",
    )
    .bind(bot_id)
    .bind(slot_id)
    .bind(epoch)
    .bind(cutoff)
    .bind(why)
    .execute(router.db())
    .await?;
    Ok(ended.rows_affected() == 1)
}

/// Removes token rows issued before `before` whose lease is over.
async fn prune_tokens(router: &Router, before: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM bot_tokens t WHERE t.issued_at < $1
           AND NOT EXISTS (SELECT 1 FROM pool_slots s
                           WHERE s.id = t.slot_id AND s.epoch = t.epoch AND s.assigned_bot_id = t.bot_id)",
    )
    .bind(before)
    .execute(router.db())
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_runs_at_a_tenth_of_the_timeout_within_bounds() {
        assert_eq!(check_interval_ms(900_000), 60_000);
        assert_eq!(check_interval_ms(120_000), 12_000);
        assert_eq!(check_interval_ms(5_000), 1_000);
        assert_eq!(reason(900_000), "no heartbeat for 15m; stuck bot recovered");
    }
}
