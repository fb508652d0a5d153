//! The routes, one module per group. Each handler takes a [`Caller`] of
//! the scope it needs, maps its input to one core use case or read model,
//! and answers JSON.
//!
//! A bot's own routes (`bot`) take its lease's token instead. A new
//! group is a module of its own, merged in [`all`]; add each handler's
//! `#[utoipa::path]` to [`crate::openapi::ApiDoc`] too, and regenerate
//! `openapi.json` (`cargo test -p berth-api export_openapi`).
//!
//! [`Caller`]: crate::auth::Caller

pub(crate) mod batch;
pub(crate) mod bot;
pub(crate) mod bots;
pub(crate) mod docs;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod schedule;
pub(crate) mod stats;
pub(crate) mod webhooks;

use axum::routing::{delete, get, post};
use berth_core::ErrorCode;

use crate::error::ApiError;
use crate::ApiState;

/// Every route.
pub fn all() -> axum::Router<ApiState> {
    axum::Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/v1/openapi.json", get(docs::openapi))
        .route("/v1/bots", post(bots::create).get(bots::list))
        .route("/v1/bots/batch", post(batch::create))
        .route("/v1/bots/{id}", get(bots::show))
        .route("/v1/bots/{id}/deploy", post(bots::deploy))
        .route("/v1/bots/{id}/cancel", post(bots::cancel))
        .route("/v1/bots/{id}/reschedule", post(schedule::reschedule))
        .route("/v1/bots/{id}/config", get(bot::config))
        .route("/v1/bots/{id}/status", post(bot::status))
        .route("/v1/bots/{id}/heartbeat", post(bot::heartbeat))
        .route("/v1/pools/stats", get(stats::pools))
        .route("/v1/pools/{name}/stats", get(stats::pool))
        .route("/v1/pools/{name}/scaling", get(stats::scaling))
        .route("/v1/pools/{name}/rollout", get(stats::rollout))
        .route("/v1/queue/stats", get(stats::queue))
        .route("/v1/webhooks", post(webhooks::add).get(webhooks::list))
        .route("/v1/webhook-deliveries", get(webhooks::deliveries))
        .route("/v1/webhooks/{name}", delete(webhooks::remove))
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
