//! Prometheus metrics: what a scrape of `/metrics` returns, in the text
//! exposition format (version 0.0.4, [`CONTENT_TYPE`]).
//!
//! Two kinds of metric, both per instance (no process-global registry:
//! several instances in one process never mix):
//! - recorded as things happen ([`instruments`]): dispatches and their
//!   failures by [`FailureKind`](crate::platform::FailureKind), deploy
//!   durations and waits for capacity (the router's, shared by its clones),
//!   the change feed's lag (the feed's);
//! - read at scrape time ([`Gauges`]): slots by pool, platform and state,
//!   queue depth, platform health, capacity and breakers, leadership — from
//!   the read models `berth status` and `berth queue` print, so a scrape
//!   agrees with the CLI.
//!
//! Names follow Prometheus' conventions: a `berth_` prefix, base units
//! (`_seconds`), `_total` on counters, snake_case labels.
//!
//! Webhook deliveries ([`webhooks`]): this instance's attempts by outcome,
//! and the shared backlog.
//!
//! To export another scrape-time gauge, add one [`Gauges::set`] line to
//! `scrape::read` (or to a function it calls), after reading its value.

pub mod instruments;
mod scrape;
mod webhooks;

pub use instruments::{FeedLag, Origin, RouterInstruments};
pub use scrape::Gauges;

use prometheus_client::registry::Registry;

use crate::error::{Error, ErrorCode, Result};
use crate::instance::Berth;
use crate::router::Router;
use crate::webhook;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One scrape of `berth`: every metric of this instance in the text
/// exposition format. Reads the database (about a dozen statements, the
/// same as `berth status` plus `berth queue`); writes nothing.
pub async fn render(berth: &Berth) -> Result<String> {
    let local = Local {
        leader: berth.is_leader(),
        webhooks: &berth.webhook_counters(),
    };
    render_router(berth.router(), &local).await
}

/// What only the instance knows, beside its router: its leadership and
/// its webhook delivery loop's counters.
pub struct Local<'a> {
    /// Whether it holds the leader lease now.
    pub leader: bool,
    /// Its delivery loop's counters ([`crate::Berth::webhook_counters`]).
    pub webhooks: &'a webhook::Counters,
}

/// [`render`] for an instance known by its router and [`Local`] state.
pub async fn render_router(router: &Router, local: &Local<'_>) -> Result<String> {
    let mut gauges = Gauges::default();
    scrape::read(router, local.leader, &mut gauges).await?;
    webhooks::backlog(router, &mut gauges).await?;
    let mut registry = Registry::default();
    router.instruments().register(&mut registry);
    router.feed().lag().register(&mut registry);
    webhooks::register_counters(local.webhooks, &mut registry);
    gauges.register(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("metrics not encoded: {e}")))?;
    Ok(out)
}
