//! Deploying a batch of bots into one pool from the app: the core's
//! [`lifecycle::deploy_batch`] (its request and outcome cross the bridge
//! as `DeployRequest` and `DeployBatch`).

use berth_core::actor::Actor;
use berth_core::lifecycle::{self, Batch, BatchRequest};
use berth_core::router::Router;

use crate::dto::CommandResult;

/// The most bots one batch may ask for.
pub const MAX_BATCH: u32 = lifecycle::MAX_BATCH;

/// Creates `req.count` bots in `req.pool` for the desktop's user and
/// routes each (deployed, or queued); see [`lifecycle::deploy_batch`] for
/// what is refused.
pub async fn deploy_bots(router: &Router, req: &BatchRequest) -> CommandResult<Batch> {
    Ok(lifecycle::deploy_batch(router, &Actor::desktop(), req).await?)
}
