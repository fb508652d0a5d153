//! The starter: the leader's job that starts scheduled bots when their
//! time has come, through the router's normal path (they become `QUEUED`,
//! then `DEPLOYING` where there is room).
//!
//! A bot's start is its `start_at` as admitted, brought earlier when the
//! pool's lead has grown since (deploys got slower): `join_at` minus the
//! lead now, never later than planned. The job runs every
//! [`TICK_MS`], so a bot starts at most a tick after its start, a delay
//! the lead's margin absorbs.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::{lead, LeadPolicy};
use crate::error::Result;
use crate::pool;
use crate::router::{Launch, Router};
use crate::settings;

/// How often the leader looks for bots to start, in ms.
pub const TICK_MS: u32 = 1_000;
/// How far ahead of now the starter reads scheduled bots: a lead longer
/// than this past the planned start is not caught up.
pub const HORIZON_MINUTES: i64 = 60;
/// The most bots one pass reads.
const MAX_PER_PASS: i64 = 1_000;

/// A scheduled bot read by a pass: id, pool, join time, start.
type Due = (i64, String, Option<DateTime<Utc>>, DateTime<Utc>);

/// What one pass of [`run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Bots started (routed), in start order.
    pub started: Vec<i64>,
    /// Bots whose start was brought earlier (their pool's lead grew).
    pub advanced: Vec<i64>,
}

/// One pass: starts every `SCHEDULED` bot whose start has come (deploys
/// launched in their own tasks, so one slow platform does not hold the
/// others up), and brings earlier the starts of those within
/// [`HORIZON_MINUTES`] whose pool's lead grew. A bot that fails to start
/// is logged and tried again next pass.
pub async fn run(router: &Router) -> Result<StartReport> {
    let db = router.db();
    let now = router.clock().now();
    let rows: Vec<Due> = sqlx::query_as(
        "SELECT id, pool, join_at, start_at FROM bots
         WHERE status = 'SCHEDULED' AND start_at <= $1
         ORDER BY start_at, id LIMIT $2",
    )
    .bind(now + Duration::minutes(HORIZON_MINUTES))
    .bind(MAX_PER_PASS)
    .fetch_all(db)
    .await?;
    if rows.is_empty() {
        return Ok(StartReport::default());
    }
    let settings = settings::load(db).await?;
    let policy = LeadPolicy::from_env()?;
    let mut leads: HashMap<String, Duration> = HashMap::new();
    let mut report = StartReport::default();
    for (bot_id, pool_name, join_at, start_at) in rows {
        let start = match join_at {
            Some(join_at) => {
                if !leads.contains_key(&pool_name) {
                    let pool = pool::get(db, &pool_name).await?;
                    let platforms = router.schedule_platforms(&pool, &settings);
                    let l = lead::pool_lead(db, &pool_name, &platforms, &policy).await?;
                    leads.insert(pool_name.clone(), l);
                }
                start_at.min(join_at - leads[&pool_name])
            }
            None => start_at,
        };
        if start > now {
            if start < start_at && advance(router, bot_id, start).await? {
                report.advanced.push(bot_id);
            }
            continue;
        }
        match router.start_scheduled(bot_id, Launch::Spawn).await {
            Ok(Some(_)) => report.started.push(bot_id),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(bot = bot_id, error = %e, "scheduled bot not started; next pass tries again")
            }
        }
    }
    if !report.started.is_empty() {
        tracing::info!(started = report.started.len(), "scheduled bots started");
    }
    if !report.advanced.is_empty() {
        router.feed().publish(&[crate::feed::Topic::Bots]);
    }
    Ok(report)
}

/// Brings a scheduled bot's start earlier (its booking with it).
async fn advance(router: &Router, bot_id: i64, start: DateTime<Utc>) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE bots SET start_at = $2 WHERE id = $1 AND status = 'SCHEDULED' AND start_at > $2",
    )
    .bind(bot_id)
    .bind(start)
    .execute(router.db())
    .await?;
    Ok(moved.rows_affected() > 0)
}
