//! `berth slots`: the slots, filtered by status, pool or platform; and
//! the operator's actions on slots by name.

use berth_core::actor::Actor;
use berth_core::slot::action::SlotOutcome;
use berth_core::slot::{self, action, drain, SlotFilter};
use berth_core::{pool, Error, Result};
use chrono::Utc;

use crate::cli::{SlotsArgs, SlotsCommand};
use crate::connect::{with_berth, with_db};
use crate::output::{self, plural, Ctx, Failure};

/// `berth slots <action> NAME...`: every slot's outcome, then a failure
/// (the first refusal's code) when any slot was refused.
pub async fn act(ctx: Ctx, command: SlotsCommand) -> std::result::Result<(), Failure> {
    let actor = Actor::cli();
    let outcomes = with_berth(ctx.dev, async |berth| {
        let r = berth.router();
        match &command {
            SlotsCommand::Restart(a) => {
                let s = &a.slots;
                action::restart(r, &actor, &s.names, a.force, s.reason.as_deref()).await
            }
            SlotsCommand::Drain(s) => drain::drain(r, &actor, &s.names, s.reason.as_deref()).await,
            SlotsCommand::Undrain(s) => {
                drain::undrain(r, &actor, &s.names, s.reason.as_deref()).await
            }
            SlotsCommand::Delete(a) => {
                let s = &a.slots;
                drain::delete(r, &actor, &s.names, a.force, s.reason.as_deref()).await
            }
            SlotsCommand::Recover(s) => {
                action::recover(r, &actor, &s.names, s.reason.as_deref()).await
            }
        }
    })
    .await?;
    let refused: Vec<&SlotOutcome> = outcomes.iter().filter(|o| !o.is_done()).collect();
    if !ctx.json {
        for o in &outcomes {
            output::emit(outcome_line(o));
        }
    }
    let Some(first) = refused.first().and_then(|o| o.error.as_ref()) else {
        return if ctx.json {
            Ok(output::json(&outcomes)?)
        } else {
            Ok(())
        };
    };
    let error = Error::new(
        first.code,
        format!("{} of {} slots refused", refused.len(), outcomes.len()),
    );
    let mut report = serde_json::Map::new();
    report.insert(
        "outcomes".into(),
        serde_json::to_value(&outcomes).unwrap_or_default(),
    );
    Err(Failure { error, report })
}

/// One slot's outcome in words.
fn outcome_line(o: &SlotOutcome) -> String {
    match (&o.done, &o.error) {
        (Some(d), _) => {
            let now = d
                .status
                .map_or_else(|| "deleted".to_string(), |s| s.to_string());
            let draining = if d.draining { ", draining" } else { "" };
            let ended = d
                .ended_bot
                .map(|b| format!("; bot #{b} ended FATAL"))
                .unwrap_or_default();
            format!("{}: now {now}{draining}{ended}", o.slot)
        }
        (None, Some(e)) => format!("{}: refused [{}] {}", o.slot, e.code, e.message),
        (None, None) => format!("{}: nothing done", o.slot),
    }
}

/// Runs the command.
pub async fn run(ctx: Ctx, args: SlotsArgs) -> Result<()> {
    let filter = SlotFilter {
        statuses: args.status,
        pool: args.pool,
        platform: args.platform,
    };
    let slots = with_db(async |db| {
        if let Some(name) = &filter.pool {
            // An unknown pool is a mistake, not an empty list.
            pool::get(&db.pool, name).await?;
        }
        slot::list(&db.pool, &filter).await
    })
    .await?;
    if ctx.json {
        return output::json(&slots);
    }
    if slots.is_empty() {
        output::emit("no slots match");
        return Ok(());
    }
    let now = Utc::now();
    let mut t = output::table([
        "slot",
        "pool",
        "platform",
        "status",
        "bot",
        "epoch",
        "since",
        "last used",
        "note",
    ]);
    for s in &slots {
        let note = match (&s.error_message, s.recovery_attempts) {
            (Some(e), 0) => e.clone(),
            (Some(e), n) => format!("{e} ({} recovery attempts)", n),
            (None, 0) => String::new(),
            (None, n) => format!("{n} recovery attempts"),
        };
        let status = if s.draining {
            format!("{} (draining)", s.status)
        } else {
            s.status.to_string()
        };
        t.add_row(vec![
            s.slot_name.clone(),
            s.pool.clone(),
            s.deployment_platform.to_string(),
            status,
            s.assigned_bot_id
                .map_or_else(|| "-".to_string(), |b| format!("#{b}")),
            s.epoch.to_string(),
            output::ago(s.status_changed_at, now),
            s.last_used_at
                .map_or_else(|| "never".to_string(), output::time),
            note,
        ]);
    }
    output::emit(t);
    output::emit(plural(slots.len() as i64, "slot"));
    Ok(())
}
