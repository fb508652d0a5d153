//! `berth slots`: the slots, filtered by status, pool or platform.

use berth_core::slot::{self, SlotFilter};
use berth_core::{pool, Result};
use chrono::Utc;

use crate::cli::SlotsArgs;
use crate::connect::with_db;
use crate::output::{self, plural, Ctx};

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
        t.add_row(vec![
            s.slot_name.clone(),
            s.pool.clone(),
            s.deployment_platform.to_string(),
            s.status.to_string(),
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
