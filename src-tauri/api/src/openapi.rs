//! The OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! attributes and the schemas derived on the types they send (the core's
//! own, with its `openapi` feature).
//!
//! It is committed as `src-tauri/api/openapi.json`: the test
//! `export_openapi` rewrites that file when it differs, and the test
//! command fails when the rewritten file differs from the committed one.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{batch, bot, bots, docs, health, metrics, schedule, stats, webhooks};

/// The API's document (paths, schemas, the bearer scheme).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Berth API",
        description = "Bots for products, pool and queue statistics. Every /v1 route needs `Authorization: Bearer <token>` (`berth tokens create`); every refusal is `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        health::healthz,
        health::readyz,
        docs::openapi,
        bots::create,
        batch::create,
        bots::list,
        bots::show,
        bots::deploy,
        bots::cancel,
        schedule::reschedule,
        stats::pools,
        stats::pool,
        stats::scaling,
        stats::rollout,
        stats::queue,
        bot::config,
        bot::status,
        bot::heartbeat,
        metrics::scrape,
        webhooks::add,
        webhooks::list,
        webhooks::remove,
        webhooks::deliveries,
    ),
    modifiers(&Bearer),
    tags(
        (name = "bots", description = "Bots for products"),
        (name = "bot", description = "A running bot's own routes, with its lease's token (`BERTH_BOT_TOKEN`)"),
        (name = "pools", description = "Pool statistics, scaling and rollouts"),
        (name = "webhooks", description = "Webhook subscriptions and their delivery log (admin)"),
        (name = "queue", description = "Queue statistics"),
        (name = "health", description = "Probes (no token)"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "botToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON.
pub fn value() -> serde_json::Value {
    serde_json::to_value(document()).unwrap_or_default()
}

/// The document as committed: pretty JSON with a final newline.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&value()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn committed() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
    }

    /// Writes `openapi.json` when it differs from the generated document
    /// (the test command then fails on `git diff`, like the TypeScript
    /// bindings), and leaves it alone otherwise.
    #[test]
    fn export_openapi() {
        let path = committed();
        let text = super::text();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, &text).expect("openapi.json written");
        }
        let doc = super::value();
        for route in [
            "/v1/bots",
            "/v1/bots/batch",
            "/v1/bots/{id}",
            "/v1/queue/stats",
            "/readyz",
        ] {
            assert!(doc["paths"][route].is_object(), "{route} documented");
        }
        assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
        // Enums are documented by their wire text, not their Rust names.
        let statuses = &doc["components"]["schemas"]["BotStatus"]["enum"];
        assert!(
            statuses
                .as_array()
                .is_some_and(|a| a.contains(&"CALL_ENDED".into())),
            "{statuses}"
        );
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
