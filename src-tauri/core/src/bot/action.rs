//! What an operator may do to one bot: end it (cancel), change a queued
//! bot's priority, pin it to a platform (or clear the pin), and deploy a
//! failed bot again.
//!
//! Each writes its audit row ([`crate::audit`]) in the transaction of its
//! change, refuses before writing anything (`not_found`, `not_applicable`,
//! `invalid_input`), and publishes its topics with `audit` after its commit.
//! Locks are taken in the router's order (the queue entry, then the bot),
//! so an action never deadlocks with a reservation.

use serde::Serialize;
use sqlx::PgConnection;

use crate::actor::Actor;
use crate::audit::{self, TargetKind};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::meeting::{BotStatus, PlatformKind};
use crate::router::{NewBot, Router};
use crate::{pool, queue, settings};

/// Ends a bot that has not ended as an operator's action: `FATAL` with
/// `error`, its queue entry gone and `record` written, in one transaction;
/// then what it held (workload and slot, account) is freed as for any end
/// ([`Router::finish`]). A bot that already ended is `stale_transition`,
/// with nothing written.
pub(crate) async fn end(
    router: &Router,
    bot_id: i64,
    error: &str,
    record: &audit::Record,
) -> Result<()> {
    let mut tx = router.db().begin().await?;
    if !super::end(&mut tx, bot_id, BotStatus::Fatal, Some(error)).await? {
        tx.rollback().await?;
        let status = super::get(router.db(), bot_id).await?.status;
        return Err(Error::new(
            ErrorCode::StaleTransition,
            format!("bot #{bot_id} already ended ({status})"),
        ));
    }
    queue::leave(&mut tx, bot_id).await?;
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    // Already ended: this frees the slot and the account it still holds.
    router.finish(bot_id, BotStatus::Fatal, Some(error)).await?;
    router.feed().publish(&[Topic::Audit]);
    Ok(())
}

/// The error an operator's end gives a bot: `<what> by <actor>`, then
/// `: <reason>` when one was given.
pub(crate) fn ended_by(what: &str, actor: &Actor, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{what} by {}: {r}", actor.record()),
        None => format!("{what} by {}", actor.record()),
    }
}

/// A queued bot's priority, changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PriorityChange {
    /// The bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// Its priority before.
    pub from: i32,
    /// Its priority now (lower first).
    pub to: i32,
    /// Its 1-based queue position now.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub position: Option<i64>,
}

/// Locks a queued bot's entry, then the bot (the router's order); returns
/// its pool, priority and queue stage. `not_found` for an unknown bot,
/// `not_applicable` when it is not waiting in the queue.
async fn lock_queued(conn: &mut PgConnection, bot_id: i64) -> Result<(String, i32, i32)> {
    let stage: Option<i32> =
        sqlx::query_scalar("SELECT stage FROM deployment_queue WHERE bot_id = $1 FOR UPDATE")
            .bind(bot_id)
            .fetch_optional(&mut *conn)
            .await?;
    let bot: Option<(String, String, i32)> =
        sqlx::query_as("SELECT status, pool, priority FROM bots WHERE id = $1 FOR UPDATE")
            .bind(bot_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((status, pool, priority)) = bot else {
        return Err(Error::new(ErrorCode::NotFound, format!("no bot #{bot_id}")));
    };
    match stage {
        Some(stage) if status == BotStatus::Queued.as_str() => Ok((pool, priority, stage)),
        _ => Err(Error::new(
            ErrorCode::NotApplicable,
            format!("bot #{bot_id} is {status}, not waiting in the queue"),
        )),
    }
}

/// Changes a queued bot's priority (lower first; 0 or more): its queue
/// entry and its row, so the queue's order follows at once. Its tier
/// becomes the one with that priority, if any (its ageing bound, set when
/// it was queued, stays).
pub async fn priority(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    to: i32,
    reason: Option<&str>,
) -> Result<PriorityChange> {
    let reason = audit::reason(reason)?;
    if to < 0 {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("priority must be 0 or more, got {to}"),
        ));
    }
    let mut tx = router.db().begin().await?;
    let (_, from, _) = match lock_queued(&mut tx, bot_id).await {
        Ok(found) => found,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    sqlx::query("UPDATE deployment_queue SET priority = $2 WHERE bot_id = $1")
        .bind(bot_id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    let tiers = crate::tier::load_on(&mut tx).await?;
    let tier = tiers.with_priority(to).map(|t| t.name.as_str());
    sqlx::query("UPDATE bots SET priority = $2, tier = $3, updated_at = now() WHERE id = $1")
        .bind(bot_id)
        .bind(to)
        .bind(tier)
        .execute(&mut *tx)
        .await?;
    let record = audit::Record::new(
        actor,
        "bot.priority",
        TargetKind::Bot,
        bot_id.to_string(),
        reason,
    )
    .detail(serde_json::json!({ "from": from, "to": to }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    router
        .feed()
        .publish(&[Topic::Queue, Topic::Bots, Topic::Audit]);
    Ok(PriorityChange {
        bot_id,
        from,
        to,
        position: queue::position(router.db(), bot_id, router.clock().now()).await?,
    })
}

/// A queued bot's platform pin, changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Reroute {
    /// The bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// Its pin before.
    pub from: Option<PlatformKind>,
    /// Its pin now (`None`: every platform of its pool, in order).
    pub to: Option<PlatformKind>,
}

/// Pins a queued bot to `platform` (one its pool may use), or clears its
/// pin (`None`): from now on it is routed to that platform only. A bot
/// waiting on another platform goes back to the global queue (same
/// deadline), where the next dispatch pass offers it the pinned platform.
/// A bot its router is walking the platforms for right now is
/// `not_applicable` (try again in a moment).
pub async fn reroute(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    platform: Option<PlatformKind>,
    reason: Option<&str>,
) -> Result<Reroute> {
    let reason = audit::reason(reason)?;
    let mut tx = router.db().begin().await?;
    let (pool_name, _, stage) = match lock_queued(&mut tx, bot_id).await {
        Ok(found) if found.2 == -2 => {
            tx.rollback().await?;
            return Err(Error::new(
                ErrorCode::NotApplicable,
                format!("bot #{bot_id} is being routed right now; try again in a moment"),
            ));
        }
        Ok(found) => found,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    if let Some(kind) = platform {
        let pool = pool::get(router.db(), &pool_name).await?;
        let settings = settings::load(router.db()).await?;
        if router.candidates(&pool, &settings, Some(kind)).is_empty() {
            tx.rollback().await?;
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("pool {pool_name} does not deploy onto {kind}"),
            ));
        }
    }
    let from: Option<String> = sqlx::query_scalar(
        "UPDATE bots b SET pinned_platform = $2, updated_at = now() FROM bots old
         WHERE b.id = $1 AND old.id = b.id RETURNING old.pinned_platform",
    )
    .bind(bot_id)
    .bind(platform.map(PlatformKind::as_str))
    .fetch_one(&mut *tx)
    .await?;
    if stage >= 0 && platform.is_some() {
        // Waiting on a platform: back to the global queue until its
        // deadline, unless it already waits on the pinned one.
        sqlx::query(
            "UPDATE deployment_queue q SET stage = -1, stage_platform = NULL, stage_deadline = NULL,
                timeout_at = GREATEST(COALESCE(b.deadline, b.created_at + b.queue_timeout_ms * interval '1 millisecond'), q.queued_at)
             FROM bots b WHERE q.bot_id = $1 AND b.id = q.bot_id AND q.stage_platform IS DISTINCT FROM $2",
        )
        .bind(bot_id)
        .bind(platform.map(PlatformKind::as_str))
        .execute(&mut *tx)
        .await?;
    }
    let from = from.map(|p| p.parse()).transpose()?;
    let record = audit::Record::new(
        actor,
        "bot.reroute",
        TargetKind::Bot,
        bot_id.to_string(),
        reason,
    )
    .detail(serde_json::json!({ "from": from, "to": platform }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    router
        .feed()
        .publish(&[Topic::Queue, Topic::Bots, Topic::Audit]);
    Ok(Reroute {
        bot_id,
        from,
        to: platform,
    })
}

/// A failed bot deployed again: a new bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Redeploy {
    /// The bot that failed (unchanged).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub from_bot_id: i64,
    /// The new bot (its `redeployOf` names the old one).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// The new bot's status right after routing.
    pub status: BotStatus,
}

/// Deploys a failed (`FATAL`) bot again, as a **new bot** with the same
/// request (pool, meeting, priority, queue timeout, display name,
/// metadata, webhook URL and platform pin), linked to the old one
/// (`bots.redeploy_of`). Why a new bot: as with Recall.ai's and Attendee's
/// APIs, a bot id names one attempt with one final status and one
/// history; an ended bot never comes back to life, and callers polling or
/// receiving webhooks for the old id see it stay `FATAL`. The new bot, its
/// link and the audit row (naming both) are written in one transaction;
/// it is then routed like any request. A bot that did not fail is
/// `not_applicable`; a request no longer valid (its pool was retired) is
/// refused as a new request would be, with nothing written.
pub async fn redeploy(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    reason: Option<&str>,
) -> Result<Redeploy> {
    let reason = audit::reason(reason)?;
    let (req, status, pinned) = request_of(router, bot_id).await?;
    if status != BotStatus::Fatal {
        return Err(Error::new(
            ErrorCode::NotApplicable,
            format!(
                "only a bot that failed (FATAL) can be deployed again; bot #{bot_id} is {status}"
            ),
        ));
    }
    let record = audit::Record::new(
        actor,
        "bot.redeploy",
        TargetKind::Bot,
        bot_id.to_string(),
        reason,
    );
    let outcome = router
        .create_redeploy(&req, bot_id, pinned, &record)
        .await?;
    let new_id = outcome.bot_id();
    tracing::info!(actor = %actor, bot = bot_id, new = new_id, "failed bot deployed again");
    router.feed().publish(&[Topic::Audit]);
    Ok(Redeploy {
        from_bot_id: bot_id,
        bot_id: new_id,
        status: super::get(router.db(), new_id).await?.status,
    })
}

/// The request a bot was made with, its status and its pin.
async fn request_of(
    router: &Router,
    bot_id: i64,
) -> Result<(NewBot, BotStatus, Option<PlatformKind>)> {
    type Row = (
        String,
        String,
        String,
        i32,
        i32,
        Option<String>,
        Option<serde_json::Value>,
        Option<String>,
        String,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT pool, meeting_platform, meeting_url, priority, queue_timeout_ms, display_name, metadata,
                webhook_url, status, pinned_platform
         FROM bots WHERE id = $1",
    )
    .bind(bot_id)
    .fetch_optional(router.db())
    .await?;
    let Some((pool, mp, url, priority, timeout, name, metadata, hook, status, pin)) = row else {
        return Err(Error::new(ErrorCode::NotFound, format!("no bot #{bot_id}")));
    };
    let mut req = NewBot::new(mp.parse()?, url)
        .pool(pool)
        .priority(priority)
        .queue_timeout_ms(timeout)
        .webhook_url(hook);
    req.display_name = name;
    req.metadata = metadata;
    Ok((req, status.parse()?, pin.map(|p| p.parse()).transpose()?))
}
