//! Probes for orchestrators and load balancers; no token needed, nothing
//! revealed but up or ready.

use axum::Json;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::ApiState;

/// How long `/readyz` waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Probe {
    /// `ok` (the process is up) or `ready` (it can serve requests).
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Probe)))]
pub async fn healthz() -> Json<Probe> {
    Json(Probe { status: "ok" })
}

/// The database answers and its schema is this build's.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Probe),
        (status = 503, description = "`database_unavailable` or `schema_outdated`", body = ErrorBody),
    ))]
pub async fn readyz(state: axum::extract::State<ApiState>) -> ApiResult<Json<Probe>> {
    berth_core::db::ready(state.router().db(), READY_WITHIN).await?;
    Ok(Json(Probe { status: "ready" }))
}
