//! Scheduled bots: moving one to another join time.

use axum::extract::State;
use axum::Json;
use berth_core::lifecycle;
use berth_core::schedule::Moved;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Write};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Body, Path};
use crate::ApiState;

/// Where a scheduled bot moves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reschedule {
    /// Its new join time (RFC 3339, in the future, at most 30 days ahead).
    #[schema(value_type = String, format = DateTime)]
    pub join_at: chrono::DateTime<chrono::Utc>,
}

/// Moves a `SCHEDULED` bot to another join time: its start is planned
/// again and its booking re-checked. Recorded in the audit log.
#[utoipa::path(post, path = "/v1/bots/{id}/reschedule", tag = "bots",
    params(("id" = i64, Path, description = "Bot id")),
    request_body = Reschedule,
    responses(
        (status = 200, body = Moved),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`stale_transition`: no longer scheduled; `window_full`", body = ErrorBody),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:write"])))]
pub async fn reschedule(
    caller: Caller<Write>,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    Body(body): Body<Reschedule>,
) -> ApiResult<Json<Moved>> {
    Ok(Json(
        lifecycle::reschedule(state.router(), &caller.actor(), id, body.join_at).await?,
    ))
}
