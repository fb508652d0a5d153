//! The OpenAPI document, as committed in `src-tauri/api/openapi.json`.

use axum::Json;

use crate::auth::{Caller, Read};

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    security(("bearer" = ["bots:read"])))]
pub async fn openapi(_caller: Caller<Read>) -> Json<serde_json::Value> {
    Json(crate::openapi::value())
}
