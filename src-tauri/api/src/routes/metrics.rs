//! Prometheus metrics of this instance (`berth_core::metrics`), in the
//! text exposition format. Scraped with a `bots:read` token (Prometheus:
//! `authorization: {credentials_file: ...}`), like every other route.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use berth_core::metrics;

use crate::auth::{Caller, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::ApiState;

/// Every metric: slots by state, pool and platform, queue depth, wait and
/// deploy histograms, dispatches and failures, breakers and health,
/// webhook deliveries, change-feed lag, leadership.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn scrape(_caller: Caller<Read>, State(state): State<ApiState>) -> ApiResult<Response> {
    let local = metrics::Local {
        leader: state.is_leader(),
        webhooks: state.webhook_counters(),
    };
    let text = metrics::render_router(state.router(), &local).await?;
    Ok(([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}
