//! Draining and deleting slots: a draining slot takes no new bot (the
//! acquisition skips it) and is deleted once it is idle.
//!
//! Where a draining slot is deleted: at once when it is drained idle (or in
//! `error` with no bot); when its bot ends and the release returns it to
//! `idle` ([`crate::router::Router::release_slot`]); when a restart or a
//! recovery returns it to `idle`; and, for whatever one of these could not
//! finish (a platform that refused to delete the resource, a recovery by
//! the job), by the leader's trim pass ([`crate::jobs::trim`]). Its
//! platform resource is deleted first; a slot whose resource cannot be
//! deleted stays, draining, for the next pass.

use super::action::{
    announce, done_now, each, moved_on, refuse_held, some_names, SlotDone, SlotOutcome,
};
use crate::actor::Actor;
use crate::audit::{self, TargetKind};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::router::Router;

/// Drains slots: each takes no new bot from now on and is deleted once
/// idle (at once when it is idle now). A slot already draining is
/// `not_applicable`.
pub async fn drain(
    router: &Router,
    actor: &Actor,
    names: &[String],
    reason: Option<&str>,
) -> Result<Vec<SlotOutcome>> {
    let reason = audit::reason(reason)?;
    some_names(names)?;
    let outcomes = each(names, |name| {
        set_draining(router, actor, name, true, reason.clone())
    })
    .await;
    announce(
        router,
        &outcomes,
        &[Topic::Slots, Topic::Pools, Topic::Audit],
    );
    Ok(outcomes)
}

/// Undrains slots: each takes bots again. A slot not draining is
/// `not_applicable`; one already deleted `not_found`.
pub async fn undrain(
    router: &Router,
    actor: &Actor,
    names: &[String],
    reason: Option<&str>,
) -> Result<Vec<SlotOutcome>> {
    let reason = audit::reason(reason)?;
    some_names(names)?;
    let outcomes = each(names, |name| {
        set_draining(router, actor, name, false, reason.clone())
    })
    .await;
    announce(router, &outcomes, &[Topic::Slots, Topic::Audit]);
    Ok(outcomes)
}

async fn set_draining(
    router: &Router,
    actor: &Actor,
    name: &str,
    on: bool,
    reason: Option<String>,
) -> Result<SlotDone> {
    let s = super::by_name(router.db(), name).await?;
    let mut tx = router.db().begin().await?;
    let changed: Option<(i64, String)> = sqlx::query_as(
        "UPDATE pool_slots SET draining = $2 WHERE id = $1 AND draining <> $2 RETURNING id, status",
    )
    .bind(s.id)
    .bind(on)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((_, status)) = changed else {
        tx.rollback().await?;
        let is = if on {
            "already draining"
        } else {
            "not draining"
        };
        return Err(Error::new(
            ErrorCode::NotApplicable,
            format!("slot {name} is {is}"),
        ));
    };
    let action = if on { "slot.drain" } else { "slot.undrain" };
    let record = audit::Record::new(actor, action, TargetKind::Slot, name, reason)
        .detail(serde_json::json!({ "status": status }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    if on {
        remove_drained(router, s.id).await?;
    }
    done_now(router, s.id, None).await
}

/// Deletes slots with their platform resources. A slot holding a bot is
/// `slot_busy` unless `force`: then, in one transaction, the slot is
/// marked draining (no one takes it meanwhile), its bot ends `FATAL`
/// ("slot deleted by <actor>: <reason>") and the audit row is written;
/// the bot's release then stops its workload and the drained slot is
/// deleted. A slot whose resource the platform will not delete now stays
/// draining (`status` in the outcome) and goes at the next trim pass.
pub async fn delete(
    router: &Router,
    actor: &Actor,
    names: &[String],
    force: bool,
    reason: Option<&str>,
) -> Result<Vec<SlotOutcome>> {
    let reason = audit::reason(reason)?;
    some_names(names)?;
    let outcomes = each(names, |name| {
        delete_one(router, actor, name, force, reason.clone())
    })
    .await;
    announce(
        router,
        &outcomes,
        &[Topic::Slots, Topic::Pools, Topic::Bots, Topic::Audit],
    );
    Ok(outcomes)
}

async fn delete_one(
    router: &Router,
    actor: &Actor,
    name: &str,
    force: bool,
    reason: Option<String>,
) -> Result<SlotDone> {
    let s = super::by_name(router.db(), name).await?;
    let held = refuse_held(&s, force, "delete")?;
    let error = crate::bot::action::ended_by("slot deleted", actor, reason.as_deref());
    let mut tx = router.db().begin().await?;
    let marked = sqlx::query(
        "UPDATE pool_slots SET draining = true
         WHERE id = $1 AND epoch = $2 AND assigned_bot_id IS NOT DISTINCT FROM $3",
    )
    .bind(s.id)
    .bind(s.epoch)
    .bind(held)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(moved_on(&s));
    }
    if let Some(bot) = held {
        crate::bot::end(&mut tx, bot, crate::meeting::BotStatus::Fatal, Some(&error)).await?;
        crate::queue::leave(&mut tx, bot).await?;
    }
    let detail =
        serde_json::json!({ "from": s.status, "endedBot": held, "forced": held.is_some() });
    let record =
        audit::Record::new(actor, "slot.delete", TargetKind::Slot, name, reason).detail(detail);
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    match held {
        // Frees the slot (stopped, idle), which deletes it: it is draining.
        Some(bot) => {
            router
                .finish(bot, crate::meeting::BotStatus::Fatal, Some(&error))
                .await?
        }
        None => {
            remove_drained(router, s.id).await?;
        }
    }
    done_now(router, s.id, held).await
}

/// Deletes a draining slot if it is idle, or in `error` with no bot: its
/// platform resource first (a refusal leaves the slot for the trim pass),
/// then the row, with a last history row. Returns whether it was deleted;
/// publishes `slots` and `pools` when it was.
pub(crate) async fn remove_drained(router: &Router, slot_id: i64) -> Result<bool> {
    let s = match super::get(router.db(), slot_id).await {
        Ok(s) => s,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let unheld = s.assigned_bot_id.is_none()
        && matches!(
            s.status,
            crate::meeting::SlotStatus::Idle | crate::meeting::SlotStatus::Error
        );
    if !s.draining || !unheld {
        return Ok(false);
    }
    if let (Some(adapter), Some(_)) = (
        router.platforms().get(s.deployment_platform),
        &s.platform_ref,
    ) {
        if let Err(e) = adapter.delete_resource(&crate::sweep::slot_ref(&s)).await {
            tracing::warn!(slot = %s.slot_name, error = %e, "resource of a drained slot not deleted; the trim pass tries again");
            return Ok(false);
        }
    }
    let mut conn = router.db().acquire().await?;
    let deleted = super::delete(&mut conn, s.id, s.epoch, "drained: deleted once idle").await?;
    drop(conn);
    if deleted {
        router
            .feed()
            .publish_slots(&[Topic::Slots, Topic::Pools], &[slot_id]);
    }
    Ok(deleted)
}
