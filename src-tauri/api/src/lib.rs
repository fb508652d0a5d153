//! Berth's HTTP API: a face over `berth-core` for products that send bots
//! into meetings, and for monitoring.
//!
//! It maps HTTP to the core's use cases and read models and formats JSON
//! (camelCase, versioned under `/v1`); it holds no SQL and no business rule.
//! Every `/v1` route needs an API token (`Authorization: Bearer`, see
//! [`auth`]) of the route's scope; every refusal is
//! `{"error":{"code","message"}}` with the core's [`berth_core::ErrorCode`],
//! its HTTP status chosen in one place ([`error::status_of`]). Request
//! bodies are capped at [`MAX_BODY_BYTES`] and unknown fields are refused.
//! Nothing here logs a request's headers (tokens travel there).
//!
//! Entry points: [`app`] builds the router over an [`ApiState`] (tests
//! serve it on their own listener); [`Api::bind`] then [`Api::run`] serve
//! it, over TLS when given [`TlsFiles`] (`berth serve --listen`).
//! [`openapi::document`] is the OpenAPI document, committed as
//! `src-tauri/api/openapi.json` and served at `/v1/openapi.json`.

pub mod auth;
pub mod error;
mod extract;
mod log;
pub mod openapi;
mod routes;
mod server;

pub use server::{Api, TlsFiles};

use axum::extract::DefaultBodyLimit;
use berth_core::router::Router;
use berth_core::webhook;
use berth_core::Berth;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The most bytes a request body may have (larger: 413 `payload_too_large`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler reaches the core through. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    router: Router,
    leading: Arc<AtomicBool>,
    webhooks: Arc<webhook::Counters>,
}

impl ApiState {
    /// The API over `router` (an instance's: [`berth_core::Berth::router`]),
    /// reporting itself as not leading and delivering no webhooks in `/metrics`; see [`ApiState::for_instance`].
    pub fn new(router: Router) -> Self {
        ApiState {
            router,
            leading: Arc::new(AtomicBool::new(false)),
            webhooks: Arc::default(),
        }
    }

    /// The API over a running instance: its router, and its leadership
    /// and webhook deliveries for `/metrics`.
    pub fn for_instance(berth: &Berth) -> Self {
        ApiState {
            router: berth.router().clone(),
            leading: berth.leader_flag(),
            webhooks: berth.webhook_counters(),
        }
    }

    /// The router use cases run on.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Whether the instance leads the background jobs now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// The instance's webhook delivery counters (zero for [`ApiState::new`]).
    pub fn webhook_counters(&self) -> &webhook::Counters {
        &self.webhooks
    }
}

/// The API's routes over `state`: `/healthz`, `/readyz` and everything
/// under `/v1`, with the body cap, coded 404/405 answers and request logs
/// (method, route, status, latency; never headers).
pub fn app(state: ApiState) -> axum::Router {
    routes::all()
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::no_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(log::request))
        .with_state(state)
}
