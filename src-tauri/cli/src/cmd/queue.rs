//! `berth queue`: queued requests with estimated waits and time left.

use berth_core::overview::{self, Waiting};
use berth_core::{queue, Result};
use chrono::Utc;
use serde::Serialize;

use crate::connect::with_db;
use crate::output::{self, plural, Ctx};

/// One entry as `--json` prints it: the core's, with the time left.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(flatten)]
    waiting: Waiting,
    /// Until `timeoutAt` (negative when overdue).
    timeout_remaining_ms: i64,
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let q = with_db(async |db| overview::queue(&db.pool, Utc::now()).await).await?;
    let (now, rate) = (q.now, q.release_rate_per_sec);
    let entries: Vec<Entry> = q
        .entries
        .into_iter()
        .map(|w| Entry {
            timeout_remaining_ms: (w.entry.timeout_at - now).num_milliseconds(),
            waiting: w,
        })
        .collect();
    if ctx.json {
        return output::json(&entries);
    }
    if entries.is_empty() {
        output::emit("the queue is empty");
        return Ok(());
    }
    let mut t = output::table([
        "#",
        "bot",
        "pool",
        "priority",
        "tier",
        "waiting on",
        "queued",
        "time left",
        "estimated wait",
    ]);
    for e in &entries {
        let q = &e.waiting.entry;
        t.add_row(vec![
            q.position.to_string(),
            format!("#{}", q.bot_id),
            q.pool.clone(),
            q.priority.to_string(),
            match (&q.tier, q.aged_at) {
                (Some(t), Some(at)) if at <= now => format!("{t} (aged)"),
                (Some(t), _) => t.clone(),
                (None, _) => "-".to_string(),
            },
            q.waiting_on
                .map_or_else(|| "global queue".to_string(), |p| p.to_string()),
            output::ago(q.queued_at, now),
            if e.timeout_remaining_ms >= 0 {
                output::duration_ms(e.timeout_remaining_ms)
            } else {
                format!(
                    "overdue by {}",
                    output::duration_ms(-e.timeout_remaining_ms)
                )
            },
            e.waiting
                .estimated_wait_ms
                .map_or_else(|| "unknown".to_string(), output::duration_ms),
        ]);
    }
    output::emit(t);
    let rate_note = if rate > 0.0 {
        format!(
            "{:.1} releases/min over the last {} min",
            rate * 60.0,
            queue::RATE_WINDOW_MINUTES
        )
    } else {
        "estimated waits unknown: no release observed in the last 15 min".to_string()
    };
    output::emit(format!(
        "{} waiting; {rate_note}",
        plural(entries.len() as i64, "request")
    ));
    Ok(())
}
