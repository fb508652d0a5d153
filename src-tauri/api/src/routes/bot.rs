//! A running bot's own routes, with its lease's token (`BERTH_BOT_TOKEN`):
//! its configuration at start-up, status reports, heartbeats. The path
//! names the bot, and a token reaches only its own bot (403 `forbidden`
//! otherwise); a lease that is over answers 410 `lease_ended`, telling the
//! workload to exit.

use axum::extract::State;
use axum::Json;
use berth_core::bot_lease::{self, BotConfig, Reported};
use berth_core::meeting::BotStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::BotCaller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Body, Path};
use crate::ApiState;

/// The bot's configuration: its meeting, the account leased to it (which
/// may hold credentials: only the bot gets it), its slot and lease.
#[utoipa::path(get, path = "/v1/bots/{id}/config", tag = "bot",
    params(("id" = i64, Path, description = "The bot's id (the token's own)")),
    responses(
        (status = 200, body = BotConfig),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another bot's token", body = ErrorBody),
        (status = 410, description = "`lease_ended`: exit", body = ErrorBody),
    ),
    security(("botToken" = [])))]
pub async fn config(
    caller: BotCaller,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<BotConfig>> {
    caller.lease.check_bot(id)?;
    Ok(Json(
        bot_lease::config(state.router().db(), &caller.lease).await?,
    ))
}

/// A status report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusReport {
    /// The bot's new status (`JOINING_CALL`, `IN_WAITING_ROOM`, `IN_CALL`,
    /// `LEAVING`, `CALL_ENDED`, `DONE`, `FATAL`).
    pub status: BotStatus,
    /// Why (kept as a `FATAL` bot's error), at most 2000 characters.
    pub reason: Option<String>,
}

/// The bot reports its status (it counts as a heartbeat). `CALL_ENDED`
/// gives its platform capacity back; `DONE` and `FATAL` end it and release
/// its slot, ending the token.
#[utoipa::path(post, path = "/v1/bots/{id}/status", tag = "bot",
    params(("id" = i64, Path, description = "The bot's id (the token's own)")),
    request_body = StatusReport,
    responses(
        (status = 200, body = Reported),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another bot's token", body = ErrorBody),
        (status = 409, description = "`stale_transition`: a move the bot may not make", body = ErrorBody),
        (status = 410, description = "`lease_ended`: exit", body = ErrorBody),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
    ),
    security(("botToken" = [])))]
pub async fn status(
    caller: BotCaller,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    Body(body): Body<StatusReport>,
) -> ApiResult<Json<Reported>> {
    caller.lease.check_bot(id)?;
    let reported = bot_lease::report(
        state.router(),
        &caller.lease,
        body.status,
        body.reason.as_deref(),
    )
    .await?;
    Ok(Json(reported))
}

/// What a heartbeat answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Beat {
    /// The bot's status as Berth has it.
    pub status: BotStatus,
}

/// The bot is alive. A bot whose heartbeats (and reports) stop for the
/// configured time (`BERTH_BOT_HEARTBEAT_TIMEOUT_MS`) is ended `FATAL`
/// and its slot recovered.
#[utoipa::path(post, path = "/v1/bots/{id}/heartbeat", tag = "bot",
    params(("id" = i64, Path, description = "The bot's id (the token's own)")),
    responses(
        (status = 200, body = Beat),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another bot's token", body = ErrorBody),
        (status = 410, description = "`lease_ended`: exit", body = ErrorBody),
    ),
    security(("botToken" = [])))]
pub async fn heartbeat(
    caller: BotCaller,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Beat>> {
    caller.lease.check_bot(id)?;
    let router = state.router();
    let status = bot_lease::heartbeat(router.db(), router.clock().as_ref(), &caller.lease).await?;
    Ok(Json(Beat { status }))
}
