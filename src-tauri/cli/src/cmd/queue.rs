//! `berth queue`: queued requests with estimated waits and time left.

use berth_core::queue::{self, QueueEntryView};
use berth_core::Result;
use chrono::Utc;
use serde::Serialize;

use crate::connect::with_db;
use crate::output::{self, plural, Ctx};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(flatten)]
    entry: QueueEntryView,
    /// From the observed release rate; `null` when no release was seen.
    estimated_wait_ms: Option<i64>,
    /// Until `timeoutAt` (negative when overdue).
    timeout_remaining_ms: i64,
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let now = Utc::now();
    let (entries, rate) = with_db(async |db| {
        let entries = queue::list(&db.pool).await?;
        let rate = queue::release_rate(&db.pool, now).await?;
        Ok((entries, rate))
    })
    .await?;
    let entries: Vec<Entry> = entries
        .into_iter()
        .map(|e| Entry {
            estimated_wait_ms: queue::estimate_wait_ms(e.position, rate),
            timeout_remaining_ms: (e.timeout_at - now).num_milliseconds(),
            entry: e,
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
        "waiting on",
        "queued",
        "time left",
        "estimated wait",
    ]);
    for e in &entries {
        let q = &e.entry;
        t.add_row(vec![
            q.position.to_string(),
            format!("#{}", q.bot_id),
            q.pool.clone(),
            q.priority.to_string(),
            q.waiting_on
                .clone()
                .unwrap_or_else(|| "global queue".to_string()),
            output::ago(q.queued_at, now),
            if e.timeout_remaining_ms >= 0 {
                output::duration_ms(e.timeout_remaining_ms)
            } else {
                format!(
                    "overdue by {}",
                    output::duration_ms(-e.timeout_remaining_ms)
                )
            },
            e.estimated_wait_ms
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
