//! Deploying a batch of bots into one pool from the app.

use berth_core::pool;
use berth_core::router::{DeployOutcome, NewBot, Router};
use berth_core::ErrorCode;

use crate::dto::{CommandError, CommandResult, DeployBatch, DeployRequest};

/// The most bots one batch may ask for.
pub const MAX_BATCH: u32 = 100;

/// Creates `req.count` bots for `req.pool`'s meeting platform in that pool
/// and routes each (deployed, or queued). Refused before anything is
/// written when the count is out of range or the pool does not exist; every
/// bot is checked by the router like any request.
pub async fn deploy_bots(router: &Router, req: &DeployRequest) -> CommandResult<DeployBatch> {
    if !(1..=MAX_BATCH).contains(&req.count) {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            format!("count must be from 1 to {MAX_BATCH}, got {}", req.count),
        ));
    }
    let pool = pool::get(router.db(), &req.pool).await?;
    let new = NewBot {
        meeting_platform: pool.meeting_platform,
        meeting_url: req.meeting_url.clone(),
        priority: req.priority,
        queue_timeout_ms: req.queue_timeout_ms,
        pool: Some(pool.name.clone()),
    };
    let mut batch = DeployBatch {
        bot_ids: Vec::with_capacity(req.count as usize),
        deployed: 0,
        queued: 0,
    };
    for _ in 0..req.count {
        match router.create_bot(&new).await? {
            DeployOutcome::Deployed { bot_id, .. } => {
                batch.deployed += 1;
                batch.bot_ids.push(bot_id);
            }
            DeployOutcome::Queued { bot_id, .. } => {
                batch.queued += 1;
                batch.bot_ids.push(bot_id);
            }
            DeployOutcome::Skipped { bot_id } => batch.bot_ids.push(bot_id),
        }
    }
    Ok(batch)
}
