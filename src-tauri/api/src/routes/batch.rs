//! Batches of bots for one meeting: several bots created and routed in
//! one request, their starts spaced by a stagger if asked.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use berth_core::lifecycle::{self, Batch, BatchRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Write};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Body;
use crate::ApiState;

/// A batch of bots for one pool and one meeting (the core's
/// `BatchRequest`; its ranges are checked there).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBatch {
    /// The pool: its meeting platform is the bots'.
    pub pool: String,
    /// The meeting every bot joins.
    pub meeting_url: String,
    /// How many bots, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub count: u32,
    /// A priority tier by name; give a tier or a priority, not both.
    /// Default: the token's default tier, else the pool's. A tier above the
    /// token's highest is refused (`tier_not_allowed`).
    pub tier: Option<String>,
    /// Lower goes first (instead of a tier; not above the token's highest tier).
    #[schema(minimum = 0)]
    pub priority: Option<i32>,
    /// How long each bot may wait for capacity, 0 to 600000 ms (default: the pool's).
    #[schema(minimum = 0, maximum = 600000)]
    pub queue_timeout_ms: Option<i32>,
    /// When every bot must be in the meeting (RFC 3339, in the future, at
    /// most 30 days ahead): the bots are `SCHEDULED`. Omitted: at once.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub join_at: Option<chrono::DateTime<chrono::Utc>>,
    /// With `joinAt`, when a bot's window is fully booked: `refuse`
    /// (default, 409 `window_full`) or `queue`.
    pub if_full: Option<berth_core::schedule::IfFull>,
    /// Spaces the bots' starts, 0 to 600000 ms: bot `i` starts `i` staggers
    /// after the first (later bots are `SCHEDULED` until then; with
    /// `joinAt`, bot `i` joins `i` staggers after it). Omitted or 0: all at once.
    #[schema(minimum = 0, maximum = 600000)]
    pub stagger_ms: Option<u32>,
}

/// Creates `count` bots for one meeting in one pool and routes each in
/// turn (deployed, queued, or scheduled), answering their ids in order.
/// The count, the stagger, every bot's join time and the pool are checked
/// before anything is written; a batch with `joinAt` is booked all or
/// nothing (a window its own bots fill is `window_full`, nothing written).
#[utoipa::path(post, path = "/v1/bots/batch", tag = "bots",
    request_body = CreateBatch,
    responses(
        (status = 201, description = "Created: each bot deployed, queued or scheduled", body = Batch),
        (status = 400, description = "`malformed_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`; `tier_not_allowed`: above the token's highest tier", body = ErrorBody),
        (status = 404, description = "`not_found`: no such pool", body = ErrorBody),
        (status = 409, description = "`window_full`: the `joinAt` window is fully booked", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: a count, stagger or field out of range", body = ErrorBody),
    ),
    security(("bearer" = ["bots:write"])))]
pub async fn create(
    caller: Caller<Write>,
    State(state): State<ApiState>,
    Body(body): Body<CreateBatch>,
) -> ApiResult<(StatusCode, Json<Batch>)> {
    let req = BatchRequest {
        pool: body.pool,
        meeting_url: body.meeting_url,
        count: body.count,
        tier: body.tier,
        priority: body.priority,
        queue_timeout_ms: body.queue_timeout_ms,
        join_at: body.join_at,
        if_full: body.if_full,
        stagger_ms: body.stagger_ms,
    };
    let batch = lifecycle::deploy_batch(state.router(), &caller.actor(), &req).await?;
    Ok((StatusCode::CREATED, Json(batch)))
}
