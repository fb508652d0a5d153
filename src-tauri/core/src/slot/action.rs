//! What an operator may do to slots, by name, several at once: restart one
//! (stop its workload, back to idle) and recover one in `error` now. The
//! drain, undrain and delete are in [`super::drain`].
//!
//! Every action takes the [`Actor`] and an optional reason (checked once,
//! before anything: a bad reason refuses the whole call), then acts on each
//! name on its own and answers one [`SlotOutcome`] per name, in order: one
//! refused name (unknown, busy, not in the right state) writes nothing for
//! that name and leaves the others alone. Each change writes its audit row
//! in its own transaction and publishes `slots` and `audit`.

use serde::Serialize;

use super::SlotView;
use crate::actor::Actor;
use crate::audit::{self, TargetKind};
use crate::error::{Error, ErrorCode, ErrorReport, Result};
use crate::feed::Topic;
use crate::meeting::SlotStatus;
use crate::router::Router;
use crate::sweep;

/// What became of one slot of an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SlotOutcome {
    /// The slot's name, as given.
    pub slot: String,
    /// What the action did, when it was taken.
    pub done: Option<SlotDone>,
    /// Why it was refused or failed (nothing was written for this slot).
    pub error: Option<ErrorReport>,
}

/// What an action did to one slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SlotDone {
    /// The slot's id (for the change feed; not part of the answer).
    #[serde(skip)]
    pub slot_id: i64,
    /// Its status now; `None` once it is deleted.
    pub status: Option<SlotStatus>,
    /// Whether it is draining now.
    pub draining: bool,
    /// The bot a forced action ended (`FATAL` with the reason).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub ended_bot: Option<i64>,
}

impl SlotOutcome {
    /// Whether the action was taken on this slot.
    pub fn is_done(&self) -> bool {
        self.done.is_some()
    }
}

/// Runs `one` for each name in order, each on its own.
pub(crate) async fn each<'a, F, Fut>(names: &'a [String], mut one: F) -> Vec<SlotOutcome>
where
    F: FnMut(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<SlotDone>>,
{
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let result = one(name).await;
        out.push(SlotOutcome {
            slot: name.clone(),
            error: result.as_ref().err().map(ErrorReport::from),
            done: result.ok(),
        });
    }
    out
}

/// Announces an action's changes on `topics` with the slots it acted on
/// (changed or deleted), so readers read only those rows.
pub(crate) fn announce(router: &Router, outcomes: &[SlotOutcome], topics: &[Topic]) {
    let ids: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| o.done.as_ref().map(|d| d.slot_id))
        .collect();
    router.feed().publish_slots(topics, &ids);
}

/// `invalid_input` for an empty list of names (before anything).
pub(crate) fn some_names(names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            "name at least one slot",
        ));
    }
    Ok(())
}

/// The slot's state as an outcome reads it after an action (`None` status
/// once deleted).
pub(crate) async fn done_now(router: &Router, id: i64, ended_bot: Option<i64>) -> Result<SlotDone> {
    let now: Option<(String, bool)> =
        sqlx::query_as("SELECT status, draining FROM pool_slots WHERE id = $1")
            .bind(id)
            .fetch_optional(router.db())
            .await?;
    Ok(match now {
        Some((status, draining)) => SlotDone {
            slot_id: id,
            status: Some(status.parse()?),
            draining,
            ended_bot,
        },
        None => SlotDone {
            slot_id: id,
            status: None,
            draining: false,
            ended_bot,
        },
    })
}

/// `slot_busy` for a slot holding a bot, unless `force`.
pub(crate) fn refuse_held(s: &SlotView, force: bool, what: &str) -> Result<Option<i64>> {
    match s.assigned_bot_id {
        Some(bot) if !force => Err(Error::new(
            ErrorCode::SlotBusy,
            format!(
                "slot {} holds bot #{bot} ({}); force the {what} to end that bot FATAL",
                s.slot_name, s.status
            ),
        )),
        held => Ok(held),
    }
}

/// Restarts slots: each one's workload is stopped through its platform
/// and it goes back to `idle`. A slot holding a bot is `slot_busy` unless
/// `force`: then the bot ends `FATAL` ("slot restarted by <actor>: <reason>")
/// and its slot is released (stopped, `idle`) as for any end. A stop the
/// platform refuses is `platform_failed` for that slot (nothing written).
pub async fn restart(
    router: &Router,
    actor: &Actor,
    names: &[String],
    force: bool,
    reason: Option<&str>,
) -> Result<Vec<SlotOutcome>> {
    let reason = audit::reason(reason)?;
    some_names(names)?;
    let outcomes = each(names, |name| {
        restart_one(router, actor, name, force, reason.clone())
    })
    .await;
    announce(router, &outcomes, &[Topic::Slots, Topic::Audit]);
    Ok(outcomes)
}

async fn restart_one(
    router: &Router,
    actor: &Actor,
    name: &str,
    force: bool,
    reason: Option<String>,
) -> Result<SlotDone> {
    let s = super::by_name(router.db(), name).await?;
    let record = |detail| {
        audit::Record::new(
            actor,
            "slot.restart",
            TargetKind::Slot,
            name,
            reason.clone(),
        )
        .detail(detail)
    };
    if let Some(bot) = refuse_held(&s, force, "restart")? {
        let error = crate::bot::action::ended_by("slot restarted", actor, reason.as_deref());
        let detail = serde_json::json!({ "from": s.status, "endedBot": bot, "forced": true });
        crate::bot::action::end(router, bot, &error, &record(detail)).await?;
        return done_now(router, s.id, Some(bot)).await;
    }
    sweep::stop_workload(router, &s)
        .await
        .map_err(|e| Error::new(ErrorCode::PlatformFailed, format!("stop failed: {e}")))?;
    let mut tx = router.db().begin().await?;
    let back = match s.status {
        SlotStatus::Error => super::reset(&mut tx, s.id, s.epoch, "restarted").await?.is_some(),
        // Idle already: the stop was the restart; it stays idle, its
        // recovery count cleared.
        _ => sqlx::query(
            "UPDATE pool_slots SET recovery_attempts = 0 WHERE id = $1 AND epoch = $2 AND status = 'idle'",
        )
        .bind(s.id)
        .bind(s.epoch)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1,
    };
    if !back {
        tx.rollback().await?;
        return Err(moved_on(&s));
    }
    audit::record(&mut tx, &record(serde_json::json!({ "from": s.status }))).await?;
    tx.commit().await?;
    router
        .describe(
            s.deployment_platform,
            &sweep::slot_ref(&s),
            &crate::description::idle(s.last_used_at),
        )
        .await;
    if s.draining {
        super::drain::remove_drained(router, s.id).await?;
    }
    done_now(router, s.id, None).await
}

/// `stale_transition`: the slot changed under the action.
pub(crate) fn moved_on(s: &SlotView) -> Error {
    Error::new(
        ErrorCode::StaleTransition,
        format!(
            "slot {} changed while acting on it; read it and try again",
            s.slot_name
        ),
    )
}

/// Recovers slots in `error` now, without waiting for the recovery job:
/// the workload is stopped and the slot goes back to `idle`; a stop the
/// platform refuses counts a recovery attempt (the slot stays in `error`,
/// the recovery job carries on). A slot not in `error` is `not_applicable`.
pub async fn recover(
    router: &Router,
    actor: &Actor,
    names: &[String],
    reason: Option<&str>,
) -> Result<Vec<SlotOutcome>> {
    let reason = audit::reason(reason)?;
    some_names(names)?;
    let outcomes = each(names, |name| {
        recover_one(router, actor, name, reason.clone())
    })
    .await;
    announce(router, &outcomes, &[Topic::Slots, Topic::Audit]);
    Ok(outcomes)
}

async fn recover_one(
    router: &Router,
    actor: &Actor,
    name: &str,
    reason: Option<String>,
) -> Result<SlotDone> {
    let s = super::by_name(router.db(), name).await?;
    if s.status != SlotStatus::Error {
        return Err(Error::new(
            ErrorCode::NotApplicable,
            format!("slot {name} is {}, not in error", s.status),
        ));
    }
    let stopped = sweep::stop_workload(router, &s).await;
    let mut tx = router.db().begin().await?;
    let detail = match &stopped {
        Ok(()) => match super::reset(&mut tx, s.id, s.epoch, "recovered now by an operator").await?
        {
            Some(_) => serde_json::json!({ "recovered": true }),
            None => {
                tx.rollback().await?;
                return Err(moved_on(&s));
            }
        },
        Err(message) => match super::count_recovery_attempt(&mut tx, s.id, s.epoch, message).await?
        {
            Some(n) => serde_json::json!({ "recovered": false, "error": message, "attempts": n }),
            None => {
                tx.rollback().await?;
                return Err(moved_on(&s));
            }
        },
    };
    let record =
        audit::Record::new(actor, "slot.recover", TargetKind::Slot, name, reason).detail(detail);
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    if stopped.is_ok() {
        router
            .describe(
                s.deployment_platform,
                &sweep::slot_ref(&s),
                &crate::description::idle(s.last_used_at),
            )
            .await;
        if s.draining {
            super::drain::remove_drained(router, s.id).await?;
        }
    }
    done_now(router, s.id, None).await
}
