//! `berth bots create --count N [--stagger D]` (a batch, its starts
//! spaced) and `berth bots move` (a scheduled bot to another join time).

use berth_core::actor::Actor;
use berth_core::{lifecycle, Error, ErrorCode, Result};
use chrono::Utc;

use crate::cli::CreateArgs;
use crate::connect::with_berth;
use crate::output::{self, Ctx};

/// `berth bots create --count N [--stagger D]`: a batch in `--pool`.
pub async fn create_batch(ctx: Ctx, args: CreateArgs) -> Result<()> {
    let Some(pool) = args.pool else {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            "--count and --stagger need --pool (a batch is for one pool)",
        ));
    };
    let req = lifecycle::BatchRequest {
        pool,
        meeting_url: args.meeting_url,
        count: args.count,
        priority: args.priority,
        queue_timeout_ms: args.queue_timeout_ms,
        join_at: args.join_at,
        if_full: args.if_full,
        stagger_ms: args.stagger,
    };
    let b = with_berth(ctx.dev, async |berth| {
        lifecycle::deploy_batch(berth.router(), &Actor::cli(), &req).await
    })
    .await?;
    if ctx.json {
        return output::json(&b);
    }
    let ids: Vec<String> = b.bot_ids.iter().map(|id| format!("#{id}")).collect();
    output::emit(format!(
        "{} bots: {} deployed, {} queued, {} scheduled ({})",
        b.bot_ids.len(),
        b.deployed,
        b.queued,
        b.scheduled,
        ids.join(", ")
    ));
    Ok(())
}

/// `berth bots move`.
pub async fn reschedule(ctx: Ctx, id: i64, join_at: chrono::DateTime<Utc>) -> Result<()> {
    let m = with_berth(ctx.dev, async |berth| {
        lifecycle::reschedule(berth.router(), &Actor::cli(), id, join_at).await
    })
    .await?;
    if ctx.json {
        return output::json(&m);
    }
    let from = m.from.map_or_else(|| "-".to_string(), output::time);
    output::emit(format!(
        "bot #{}: joins at {} (was {from}), started at {}{}",
        m.bot_id,
        output::time(m.join_at),
        output::time(m.start_at),
        if m.booked { "" } else { "; no capacity booked" }
    ));
    Ok(())
}
