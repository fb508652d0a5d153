//! The routes, one module per group. Each handler takes a [`Caller`] of
//! the scope it needs, maps its input to one core use case or read model,
//! and answers JSON.
//!
//! Groups still to come slot in here as modules of their own, merged in
//! [`all`]: the bots' own routes (a bot token: its configuration, status
//! reports, heartbeats — `bot.rs`), webhook subscriptions (`webhooks.rs`)
//! and Prometheus metrics (`/metrics`, `metrics.rs`). Add each handler's
//! `#[utoipa::path]` to [`crate::openapi::ApiDoc`] too, and regenerate
//! `openapi.json` (`cargo test -p berth-api export_openapi`).
//!
//! [`Caller`]: crate::auth::Caller

pub(crate) mod bots;
pub(crate) mod docs;
pub(crate) mod health;
pub(crate) mod stats;

use axum::routing::{get, post};
use berth_core::ErrorCode;

use crate::error::ApiError;
use crate::ApiState;

/// Every route.
pub fn all() -> axum::Router<ApiState> {
    axum::Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/openapi.json", get(docs::openapi))
        .route("/v1/bots", post(bots::create).get(bots::list))
        .route("/v1/bots/{id}", get(bots::show))
        .route("/v1/bots/{id}/deploy", post(bots::deploy))
        .route("/v1/bots/{id}/cancel", post(bots::cancel))
        .route("/v1/pools/stats", get(stats::pools))
        .route("/v1/pools/{name}/stats", get(stats::pool))
        .route("/v1/queue/stats", get(stats::queue))
}

/// No such route: 404 `not_found`.
pub async fn no_route() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route; see /v1/openapi.json")
}

/// A route that exists, not with this method: 405 `method_not_allowed`.
pub async fn no_method() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take this method; see /v1/openapi.json",
    )
}
