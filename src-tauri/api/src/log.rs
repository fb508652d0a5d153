//! Request logs: method, route (the matched pattern, so ids and query
//! strings stay out), status and latency. Never headers: API tokens travel
//! in `Authorization`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Logs one request after it is answered (`berth_api::log`, at `info`;
/// `debug` for the health probes and metrics scrapes, which come every few seconds).
pub async fn request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if route == "/healthz" || route == "/readyz" || route == "/metrics" {
        tracing::debug!(%method, %route, status, ms, "request");
    } else {
        tracing::info!(%method, %route, status, ms, "request");
    }
    response
}
