//! `berth bots ...`: create, report status, cancel, re-prioritise, re-route,
//! redeploy, show, list.

use berth_core::actor::Actor;
use berth_core::meeting::PlatformKind;
use berth_core::router::{BotRequest, DeployOutcome, NewBot};
use berth_core::{bot, lifecycle, peers, queue, Error, ErrorCode, Result};
use chrono::Utc;

use crate::cli::{CreateArgs, ListArgs, ReportArgs};
use crate::connect::{with_berth, with_db};
use crate::output::{self, Ctx};

/// `berth bots create`.
pub async fn create(ctx: Ctx, args: CreateArgs) -> Result<()> {
    if args.count > 1 || args.stagger.is_some() {
        return super::schedule::create_batch(ctx, args).await;
    }
    let request = NewBot::from(BotRequest {
        meeting_platform: args.meeting_platform,
        meeting_url: args.meeting_url,
        display_name: None,
        tier: args.tier,
        priority: args.priority,
        queue_timeout_ms: args.queue_timeout_ms,
        pool: args.pool,
        metadata: None,
        webhook_url: args.webhook_url,
        join_at: args.join_at,
        expected_duration_ms: args.expected_duration_ms,
        if_full: args.if_full,
    });
    with_berth(ctx.dev, async |berth| {
        let lifecycle::Deployment { outcome, status } =
            lifecycle::deploy(berth.router(), &Actor::cli(), &request).await?;
        let bot_id = outcome.bot_id();
        if ctx.json {
            let mut doc = serde_json::to_value(&outcome)
                .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
            if let Some(map) = doc.as_object_mut() {
                map.insert("status".into(), serde_json::json!(status));
            }
            return output::json(&doc);
        }
        match &outcome {
            DeployOutcome::Deployed {
                platform,
                slot_name,
                platform_identifier,
                ..
            } => {
                output::emit(format!(
                    "bot #{bot_id} deployed: {status} on {platform} in {slot_name}"
                ));
                if let Some(r) = platform_identifier {
                    output::emit(format!("  platform resource: {r}"));
                }
            }
            DeployOutcome::Queued {
                waiting_on,
                queue_position,
                estimated_wait_ms,
                until,
                ..
            } => {
                let now = Utc::now();
                let wait = estimated_wait_ms.map_or_else(
                    || "unknown (no releases observed yet)".to_string(),
                    output::duration_ms,
                );
                let what = match waiting_on {
                    Some(p) => format!("waiting on {p} (full) until {}", output::clock(*until)),
                    None => format!("in the global queue until {}", output::clock(*until)),
                };
                output::emit(format!(
                    "bot #{bot_id} queued at position {queue_position}: {what}"
                ));
                output::emit(format!(
                    "  estimated wait: {wait}; wait ends in {}",
                    output::duration_ms((*until - now).num_milliseconds().max(0))
                ));
                if !peers::anyone_serving(berth.db()).await? {
                    output::emit(
                        "  note: no instance is running (`berth serve`) to hand it capacity",
                    );
                }
            }
            DeployOutcome::Scheduled {
                join_at,
                start_at,
                booked,
                ..
            } => {
                let join = join_at.map_or_else(|| "-".to_string(), output::time);
                output::emit(format!(
                    "bot #{bot_id} scheduled: joins at {join}, started at {}",
                    output::time(*start_at)
                ));
                if !booked {
                    output::emit("  no capacity booked (the window is full): it queues at its start like any request");
                }
            }
            DeployOutcome::Skipped { .. } => {
                output::emit(format!(
                    "bot #{bot_id} is {status}: another instance is handling it"
                ));
            }
        }
        Ok(())
    })
    .await
}

/// `berth bots status`.
pub async fn report(ctx: Ctx, args: ReportArgs) -> Result<()> {
    with_berth(ctx.dev, async |berth| {
        let r = lifecycle::report(
            berth.router(),
            &Actor::cli(),
            args.id,
            args.status,
            args.reason.as_deref(),
        )
        .await?;
        print_report(ctx, &r)
    })
    .await
}

/// `berth bots cancel`.
pub async fn cancel(ctx: Ctx, id: i64, reason: Option<String>) -> Result<()> {
    with_berth(ctx.dev, async |berth| {
        let r = lifecycle::cancel(berth.router(), &Actor::cli(), id, reason.as_deref()).await?;
        print_report(ctx, &r)
    })
    .await
}

/// `berth bots priority`.
pub async fn priority(ctx: Ctx, id: i64, to: i32, reason: Option<String>) -> Result<()> {
    let c = with_berth(ctx.dev, async |berth| {
        bot::action::priority(berth.router(), &Actor::cli(), id, to, reason.as_deref()).await
    })
    .await?;
    if ctx.json {
        return output::json(&c);
    }
    let place = c
        .position
        .map_or_else(String::new, |p| format!("; queue position {p}"));
    output::emit(format!(
        "bot #{}: priority {} -> {}{place}",
        c.bot_id, c.from, c.to
    ));
    Ok(())
}

/// `berth bots reroute` (`platform` `None`: `--clear`).
pub async fn reroute(
    ctx: Ctx,
    id: i64,
    platform: Option<PlatformKind>,
    reason: Option<String>,
) -> Result<()> {
    let r = with_berth(ctx.dev, async |berth| {
        bot::action::reroute(
            berth.router(),
            &Actor::cli(),
            id,
            platform,
            reason.as_deref(),
        )
        .await
    })
    .await?;
    if ctx.json {
        return output::json(&r);
    }
    let pin =
        |p: Option<PlatformKind>| p.map_or_else(|| "any platform".to_string(), |k| k.to_string());
    output::emit(format!(
        "bot #{}: pinned to {} (was {})",
        r.bot_id,
        pin(r.to),
        pin(r.from)
    ));
    Ok(())
}

/// `berth bots redeploy`.
pub async fn redeploy(ctx: Ctx, id: i64, reason: Option<String>) -> Result<()> {
    let r = with_berth(ctx.dev, async |berth| {
        bot::action::redeploy(berth.router(), &Actor::cli(), id, reason.as_deref()).await
    })
    .await?;
    if ctx.json {
        return output::json(&r);
    }
    output::emit(format!(
        "bot #{} deployed again as bot #{} ({})",
        r.from_bot_id, r.bot_id, r.status
    ));
    Ok(())
}

/// What a report or cancel changed: the bot (`--json`), or its move, the
/// slot it freed and its error.
fn print_report(ctx: Ctx, r: &lifecycle::Report) -> Result<()> {
    if ctx.json {
        return output::json(&r.bot);
    }
    output::emit(format!(
        "bot #{}: {} -> {}",
        r.bot.id, r.before, r.bot.status
    ));
    if let Some(s) = &r.released {
        let now = s.now.as_deref().unwrap_or("deleted");
        output::emit(format!("  slot {} released (now {now})", s.slot_name));
    }
    if let Some(e) = &r.bot.error {
        output::emit(format!("  error: {e}"));
    }
    Ok(())
}

/// `berth bots show`.
pub async fn show(ctx: Ctx, id: i64) -> Result<()> {
    let (b, position, wait) = with_db(async |db| {
        let b = bot::get(&db.pool, id).await?;
        let position = queue::position(&db.pool, id, Utc::now()).await?;
        let wait = match position {
            Some(p) => queue::estimate_wait_ms(p, queue::release_rate(&db.pool, Utc::now()).await?),
            None => None,
        };
        Ok((b, position, wait))
    })
    .await?;
    if ctx.json {
        return output::json(&b);
    }
    let line = |label: &str, value: String| output::emit(format!("  {label:<15}{value}"));
    output::emit(format!("bot #{}  {}", b.id, b.status));
    line(
        "meeting",
        format!("{}  {}", b.meeting_platform, b.meeting_url),
    );
    line("pool", b.pool.clone());
    line(
        "priority",
        match &b.tier {
            Some(t) => format!("{} ({t})", b.priority),
            None => b.priority.to_string(),
        },
    );
    line(
        "queue timeout",
        output::duration_ms(b.queue_timeout_ms.into()),
    );
    line("platform", output::opt(b.deployment_platform.as_ref()));
    line("slot", output::opt(b.slot_name.as_ref()));
    if let Some(p) = position {
        let wait = wait.map_or_else(|| "unknown".to_string(), output::duration_ms);
        line("queue", format!("position {p}, estimated wait {wait}"));
    }
    if let Some(j) = b.join_at {
        line("joins at", output::time(j));
        line("started at", output::opt(b.start_at.map(output::time)));
    }
    line("created", output::time(b.created_at));
    line("updated", output::time(b.updated_at));
    line("ended", output::opt(b.ended_at.map(output::time)));
    if let Some(e) = &b.error {
        line("error", e.clone());
    }
    let n = b.decision_trace.len();
    let entries = if n == 1 { "entry" } else { "entries" };
    output::emit(format!("decision trace ({n} {entries})"));
    if b.decision_trace.is_empty() {
        return Ok(());
    }
    let mut t = output::table(["platform", "decision", "detail", "at"]);
    for e in &b.decision_trace {
        let decision = serde_json::to_value(e.decision)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", e.decision));
        t.add_row(vec![
            e.platform
                .map_or_else(|| "-".to_string(), |p| p.to_string()),
            decision,
            e.detail.clone(),
            e.at.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string(),
        ]);
    }
    output::emit(t);
    Ok(())
}

/// `berth bots list`.
pub async fn list(ctx: Ctx, args: ListArgs) -> Result<()> {
    let filter = bot::BotFilter {
        statuses: args.status,
        platforms: args.platform,
        pools: args.pool,
        since: args.since,
        until: None,
        search: args.search,
        before: args.before,
        limit: args.limit,
    };
    let now = Utc::now();
    let page = with_db(async |db| bot::browse(&db.pool, &filter, now).await).await?;
    let rows = page.rows;
    if ctx.json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        output::emit("no bots");
        return Ok(());
    }
    let mut t = output::table([
        "bot",
        "pool",
        "status",
        "tier",
        "meeting platform",
        "platform",
        "joins at",
        "created",
    ]);
    for r in &rows {
        t.add_row(vec![
            format!("#{}", r.id),
            r.pool.clone(),
            r.status.to_string(),
            r.tier.clone().unwrap_or_else(|| r.priority.to_string()),
            r.meeting_platform.to_string(),
            output::opt(r.deployment_platform.as_ref()),
            output::opt(r.join_at.map(output::time)),
            format!(
                "{} ({})",
                output::time(r.created_at),
                output::ago(r.created_at, now)
            ),
        ]);
    }
    output::emit(t);
    if let Some(next) = page.next_before {
        let more = if page.total_capped { "more than " } else { "" };
        output::emit(format!(
            "{} of {more}{} bots; next page: --before {next}",
            rows.len(),
            page.total
        ));
    }
    Ok(())
}
