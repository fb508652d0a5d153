//! The operator's actions from the app (issue 14): the core's use cases on
//! slots, bots and platforms, and the audit log, as the desktop's user
//! ([`Actor::desktop`]). Each only maps the bridge's values (platform
//! names, ids, the audit query) to the core's; the core checks, writes the
//! audit row with the change, and announces it on the feed.

use berth_core::actor::Actor;
use berth_core::audit::{self, AuditEntry, AuditFilter};
use berth_core::bot::action::{self as bot_action, PriorityChange, Redeploy, Reroute};
use berth_core::bot::BotView;
use berth_core::lifecycle;
use berth_core::meeting::PlatformKind;
use berth_core::platform::drain::{self, PlatformDrain};
use berth_core::router::Router;
use berth_core::slot::action::{self as slot_action, SlotOutcome};
use berth_core::slot::drain as slot_drain;
use berth_core::ErrorCode;

use crate::dto::{AuditQuery, CommandError, CommandResult, SlotAction};

fn platform(name: &str) -> CommandResult<PlatformKind> {
    Ok(name.parse::<PlatformKind>()?)
}

/// One action on slots by name: each slot's outcome, in order.
pub async fn slots(
    router: &Router,
    action: SlotAction,
    names: &[String],
    force: bool,
    reason: Option<&str>,
) -> CommandResult<Vec<SlotOutcome>> {
    let actor = Actor::desktop();
    let r = router;
    Ok(match action {
        SlotAction::Restart => slot_action::restart(r, &actor, names, force, reason).await?,
        SlotAction::Drain => slot_drain::drain(r, &actor, names, reason).await?,
        SlotAction::Undrain => slot_drain::undrain(r, &actor, names, reason).await?,
        SlotAction::Delete => slot_drain::delete(r, &actor, names, force, reason).await?,
        SlotAction::Recover => slot_action::recover(r, &actor, names, reason).await?,
    })
}

/// Cancels a bot; the bot as it is after.
pub async fn cancel_bot(router: &Router, id: i64, reason: Option<&str>) -> CommandResult<BotView> {
    Ok(lifecycle::cancel(router, &Actor::desktop(), id, reason)
        .await?
        .bot)
}

/// Changes a queued bot's priority.
pub async fn set_bot_priority(
    router: &Router,
    id: i64,
    priority: i32,
    reason: Option<&str>,
) -> CommandResult<PriorityChange> {
    Ok(bot_action::priority(router, &Actor::desktop(), id, priority, reason).await?)
}

/// Pins a queued bot to a platform (`None`: clears the pin).
pub async fn reroute_bot(
    router: &Router,
    id: i64,
    to: Option<&str>,
    reason: Option<&str>,
) -> CommandResult<Reroute> {
    let to = to.map(platform).transpose()?;
    Ok(bot_action::reroute(router, &Actor::desktop(), id, to, reason).await?)
}

/// Deploys a failed bot again (a new bot).
pub async fn redeploy_bot(
    router: &Router,
    id: i64,
    reason: Option<&str>,
) -> CommandResult<Redeploy> {
    Ok(bot_action::redeploy(router, &Actor::desktop(), id, reason).await?)
}

/// Drains (`on`) or undrains a platform.
pub async fn drain_platform(
    router: &Router,
    name: &str,
    on: bool,
    reason: Option<&str>,
) -> CommandResult<PlatformDrain> {
    let kind = platform(name)?;
    let actor = Actor::desktop();
    Ok(if on {
        drain::drain(router, &actor, kind, reason).await?
    } else {
        drain::undrain(router, &actor, kind, reason).await?
    })
}

/// The audit log, newest first.
pub async fn audit_log(db: &sqlx::PgPool, q: &AuditQuery) -> CommandResult<Vec<AuditEntry>> {
    let since = q
        .since
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|at| at.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    CommandError::new(
                        ErrorCode::InvalidInput,
                        format!("since {t:?} is not an RFC 3339 time: {e}"),
                    )
                })
        })
        .transpose()?;
    let filter = AuditFilter {
        target_kind: q.target_kind.as_deref().map(str::parse).transpose()?,
        target: q.target.clone(),
        actor: q.actor.clone(),
        since,
        limit: q.limit,
    };
    Ok(audit::list(db, &filter).await?)
}
