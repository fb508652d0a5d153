//! Pool and queue statistics (reference 001's `getPoolStats` and
//! `getQueueStats` shapes), and a pool's scaling and rollout.

use axum::extract::State;
use axum::Json;
use berth_core::pool::{self, PoolStats, PoolTotals};
use berth_core::queue::{self, QueueStats};
use berth_core::rollout::{self, RolloutProgress};
use berth_core::scaling::{self, ScalingView};

use crate::auth::{Caller, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Path;
use crate::ApiState;

/// Every pool's slots added up, with each pool's.
#[utoipa::path(get, path = "/v1/pools/stats", tag = "pools",
    responses(
        (status = 200, body = PoolTotals),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn pools(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
) -> ApiResult<Json<PoolTotals>> {
    Ok(Json(pool::totals(state.router().db()).await?))
}

/// One pool's slots by status.
#[utoipa::path(get, path = "/v1/pools/{name}/stats", tag = "pools",
    params(("name" = String, Path, description = "Pool name")),
    responses(
        (status = 200, body = PoolStats),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn pool(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Json<PoolStats>> {
    Ok(Json(pool::stats_of(state.router().db(), &name).await?))
}

/// One pool's scaling: the idle target now with its parts (min, scheduled,
/// buffer) and its recent scaling decisions with their reasons
/// (`scaled: false` for a pool with a fixed prewarm).
#[utoipa::path(get, path = "/v1/pools/{name}/scaling", tag = "pools",
    params(("name" = String, Path, description = "Pool name")),
    responses(
        (status = 200, body = ScalingView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn scaling(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ScalingView>> {
    Ok(Json(scaling::view(state.router().db(), &name).await?))
}

/// One pool's rolling image update: its target image, slots updated,
/// updating and waiting for their bots, when it started and finished, its
/// last error. `null` when no definition ever set the pool's image (no
/// rollout ran).
#[utoipa::path(get, path = "/v1/pools/{name}/rollout", tag = "pools",
    params(("name" = String, Path, description = "Pool name")),
    responses(
        (status = 200, description = "The rollout, or `null` when none ever ran", body = Option<RolloutProgress>),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn rollout(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Option<RolloutProgress>>> {
    let db = state.router().db();
    // An unknown pool is 404, not the `null` of a pool without a rollout.
    let pool = pool::get(db, &name).await?;
    Ok(Json(rollout::progress(db, &pool.name).await?))
}

/// The queue: its length, its oldest entry, how long entries have waited.
#[utoipa::path(get, path = "/v1/queue/stats", tag = "queue",
    responses(
        (status = 200, body = QueueStats),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn queue(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
) -> ApiResult<Json<QueueStats>> {
    let now = state.router().clock().now();
    Ok(Json(queue::stats(state.router().db(), now).await?))
}
