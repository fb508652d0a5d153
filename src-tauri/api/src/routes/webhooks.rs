//! Webhook subscriptions and their delivery log, for administrators
//! (`admin` tokens): the same use cases as `berth webhooks`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use berth_core::webhook::event::EventType;
use berth_core::webhook::log::{self, DeliveryView};
use berth_core::webhook::subscription::{self, Created, NewSubscription, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Caller};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Body, Path, Query};
use crate::ApiState;

/// A subscription to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddWebhook {
    /// Its name: lower-case letters, digits, `.`, `_`, `-`; unique.
    pub name: String,
    /// Where events are POSTed (http or https, no user name or password).
    pub url: String,
    /// The event types it receives (at least one).
    pub events: Vec<EventType>,
}

/// Subscribes a URL; the answer carries its signing secret, shown only now.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    request_body = AddWebhook,
    responses(
        (status = 201, body = Created),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "`conflict`: the name is taken", body = ErrorBody),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
pub async fn add(
    caller: Caller<Admin>,
    State(state): State<ApiState>,
    Body(body): Body<AddWebhook>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let new = NewSubscription {
        name: body.name,
        url: body.url,
        events: body.events,
    };
    let created = subscription::add(state.router().db(), &caller.actor(), &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhooks {
    /// Every subscription (never its secret).
    pub webhooks: Vec<Subscription>,
}

/// Every subscription, never with its secret.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Webhooks), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["admin"])))]
pub async fn list(
    _caller: Caller<Admin>,
    State(state): State<ApiState>,
) -> ApiResult<Json<Webhooks>> {
    let webhooks = subscription::list(state.router().db()).await?;
    Ok(Json(Webhooks { webhooks }))
}

/// Removes a subscription with its pending deliveries and log.
#[utoipa::path(delete, path = "/v1/webhooks/{name}", tag = "webhooks",
    params(("name" = String, Path, description = "The subscription's name")),
    responses(
        (status = 200, description = "The subscription removed", body = Subscription),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
pub async fn remove(
    caller: Caller<Admin>,
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Subscription>> {
    let removed = subscription::remove(state.router().db(), &caller.actor(), &name).await?;
    Ok(Json(removed))
}

/// Which deliveries the log shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogQuery {
    /// Only this subscription's deliveries.
    pub webhook: Option<String>,
    /// How many, newest first (1 to `MAX_LOG`, 1000; default 50).
    pub limit: Option<i64>,
}

/// Recent deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    /// Newest first: attempts, last status or error, next try.
    pub deliveries: Vec<DeliveryView>,
}

/// The delivery log, as `berth webhooks log` shows it.
#[utoipa::path(get, path = "/v1/webhook-deliveries", tag = "webhooks",
    params(LogQuery),
    responses(
        (status = 200, body = Deliveries),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
pub async fn deliveries(
    _caller: Caller<Admin>,
    State(state): State<ApiState>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Deliveries>> {
    // The core checks the range (1 to MAX_LOG).
    let limit = q.limit.unwrap_or(50);
    let deliveries = log::log(state.router().db(), q.webhook.as_deref(), limit).await?;
    Ok(Json(Deliveries { deliveries }))
}
