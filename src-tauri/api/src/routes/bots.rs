//! Bots for products: create (idempotent with `Idempotency-Key`), deploy an
//! existing bot, read one, list them a page at a time, cancel.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use berth_core::idempotency::IdempotencyKey;
use berth_core::lifecycle::{self, Created};
use berth_core::meeting::{BotStatus, MeetingPlatform};
use berth_core::router::{BotRequest, NewBot};
use berth_core::tracking::{self, Filter, Listed, Tracked};
use berth_core::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Read, Write};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, OptionalBody, Path, Query};
use crate::ApiState;

/// The header naming a create request's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set (`true`) on the answer to a request replayed under its key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn idempotency_key(
    headers: &HeaderMap,
    caller: &Caller<Write>,
) -> ApiResult<Option<IdempotencyKey>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidInput,
            "the Idempotency-Key header must be visible ASCII",
        )
    })?;
    // Keys are the token's own: another token's key never collides.
    let owner = format!("token:{}", caller.identity.id);
    Ok(Some(IdempotencyKey::new(owner, text)?))
}

/// Creates a bot and routes it: deployed at once, or queued. With an
/// `Idempotency-Key`, a retry (same token, key and body) answers 200 with
/// the same bot and `Idempotent-Replayed: true`, creating nothing.
#[utoipa::path(post, path = "/v1/bots", tag = "bots",
    request_body = BotRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 255 visible ASCII characters; a retry with the same key returns the same bot")),
    responses(
        (status = 201, description = "Created: deployed, queued, or scheduled (with `joinAt`)", body = Tracked),
        (status = 200, description = "Replayed under its idempotency key: the bot the first request created",
            body = Tracked),
        (status = 400, description = "`malformed_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`; `tier_not_allowed`: above the token's highest tier", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 409, description = "`window_full`: the `joinAt` window is fully booked", body = ErrorBody),
        (status = 422, description = "`invalid_input`, `idempotency_key_reused`", body = ErrorBody),
    ),
    security(("bearer" = ["bots:write"])))]
pub async fn create(
    caller: Caller<Write>,
    State(state): State<ApiState>,
    headers: HeaderMap,
    Body(body): Body<BotRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers, &caller)?;
    let req = NewBot::from(body);
    let router = state.router();
    let actor = caller.actor();
    let created = match &key {
        Some(key) => lifecycle::deploy_once(router, &actor, &req, key).await?,
        None => Created::New(lifecycle::deploy(router, &actor, &req).await?),
    };
    let bot = tracked(&state, created.bot_id()).await?;
    Ok(match created {
        Created::New(_) => (StatusCode::CREATED, Json(bot)).into_response(),
        Created::Replayed { .. } => (
            StatusCode::OK,
            [(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"))],
            Json(bot),
        )
            .into_response(),
    })
}

async fn tracked(state: &ApiState, id: i64) -> ApiResult<Tracked> {
    let now = state.router().clock().now();
    Ok(tracking::get(state.router().db(), id, now).await?)
}

/// One bot: status, platform, slot, queue position and estimated wait,
/// decision trace.
#[utoipa::path(get, path = "/v1/bots/{id}", tag = "bots",
    params(("id" = i64, Path, description = "Bot id")),
    responses(
        (status = 200, body = Tracked),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn show(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Tracked>> {
    Ok(Json(tracked(&state, id).await?))
}

/// Deploys an existing bot: one that has not ended is already deployed
/// or queued, so this answers where it stands (a queued bot keeps its
/// place; never a second queue entry). A bot that ended is refused.
#[utoipa::path(post, path = "/v1/bots/{id}/deploy", tag = "bots",
    params(("id" = i64, Path, description = "Bot id")),
    responses(
        (status = 200, body = Tracked),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`stale_transition`: the bot ended", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:write"])))]
pub async fn deploy(
    caller: Caller<Write>,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Tracked>> {
    lifecycle::deploy_existing(state.router(), &caller.actor(), id).await?;
    Ok(Json(tracked(&state, id).await?))
}

/// Why a bot is cancelled (the body of a cancel is optional).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelBot {
    /// Written to the audit log and appended to the bot's error
    /// ("cancelled by api:<token>: <reason>"); at most 500 characters.
    reason: Option<String>,
}

/// Cancels a bot that has not ended: a queued bot leaves the queue, an
/// active one is stopped and its slot released; it ends `FATAL`
/// ("cancelled by api:<token>", with the reason if one is given). Recorded
/// in the audit log with the token's name.
#[utoipa::path(post, path = "/v1/bots/{id}/cancel", tag = "bots",
    params(("id" = i64, Path, description = "Bot id")),
    request_body(content = Option<CancelBot>, description = "Optional: `{\"reason\": \"…\"}`"),
    responses(
        (status = 200, body = Tracked),
        (status = 422, description = "`invalid_input`: a reason too long or with control characters", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`stale_transition`: the bot already ended", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:write"])))]
pub async fn cancel(
    caller: Caller<Write>,
    State(state): State<ApiState>,
    Path(id): Path<i64>,
    OptionalBody(body): OptionalBody<CancelBot>,
) -> ApiResult<Json<Tracked>> {
    let reason = body.and_then(|b| b.reason);
    lifecycle::cancel(state.router(), &caller.actor(), id, reason.as_deref()).await?;
    Ok(Json(tracked(&state, id).await?))
}

/// The default page size.
const DEFAULT_LIMIT: i64 = 50;

/// Which bots to list, and where.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only bots in this status.
    status: Option<BotStatus>,
    /// Only bots of this pool.
    pool: Option<String>,
    /// Only bots of this meeting platform.
    meeting_platform: Option<MeetingPlatform>,
    /// Bots per page, 1 to 200 (default 50).
    limit: Option<i64>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
}

/// A page of bots, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotPage {
    /// The bots.
    pub bots: Vec<Listed>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

const CURSOR_PREFIX: &str = "bots:";

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

fn decode_cursor(text: &str) -> ApiResult<i64> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(CURSOR_PREFIX)?.parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                "the cursor is not one this API returned (pass a page's `nextCursor` as it is)",
            )
        })
}

/// Bots, newest first, filtered, a page at a time: follow `nextCursor`
/// until it is `null` to see every bot once.
#[utoipa::path(get, path = "/v1/bots", tag = "bots",
    params(ListQuery),
    responses(
        (status = 200, body = BotPage),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["bots:read"])))]
pub async fn list(
    _caller: Caller<Read>,
    State(state): State<ApiState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<BotPage>> {
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = Filter {
        status: q.status,
        pool: q.pool,
        meeting_platform: q.meeting_platform,
    };
    let page = tracking::page(
        state.router().db(),
        &filter,
        before,
        q.limit.unwrap_or(DEFAULT_LIMIT),
    )
    .await?;
    Ok(Json(BotPage {
        bots: page.bots,
        next_cursor: page.next.map(encode_cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        for bad in ["", "42", "Ym90czp4", "!!"] {
            assert_eq!(
                decode_cursor(bad).unwrap_err().0.code(),
                ErrorCode::InvalidInput
            );
        }
    }
}
