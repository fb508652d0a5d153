//! Webhook deliveries in a scrape: this instance's attempts by outcome
//! (counters kept by its delivery loop, [`webhook::Counters`]) and the
//! shared backlog ([`webhook::backlog`], read at scrape time).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::Gauges;
use crate::error::Result;
use crate::router::Router;
use crate::webhook;

/// Adds `berth_webhook_deliveries_total{outcome}` from `counters` to
/// `registry`: `delivered` (answered 2xx), `retried` (failed, to be tried
/// again), `failed` (given up after 24 hours).
pub(super) fn register_counters(counters: &webhook::Counters, registry: &mut Registry) {
    let family: Family<[(&'static str, &'static str); 1], Counter> = Family::default();
    for (outcome, n) in [
        ("delivered", counters.delivered()),
        ("retried", counters.retried()),
        ("failed", counters.failed()),
    ] {
        family.get_or_create(&[("outcome", outcome)]).inc_by(n);
    }
    registry.register(
        "berth_webhook_deliveries",
        "Webhook delivery attempts by this instance, by outcome (delivered: 2xx; retried: failed, tried again later; failed: given up)",
        family,
    );
}

/// Sets the backlog gauges (shared by every instance: take `max()`).
pub(super) async fn backlog(router: &Router, g: &mut Gauges) -> Result<()> {
    let b = webhook::backlog(router.db(), router.clock().now()).await?;
    const HELP: &str = "Webhook deliveries by state: pending (not delivered yet), retrying (pending after a failure), failed (given up)";
    for (state, n) in [
        ("pending", b.pending),
        ("retrying", b.retrying),
        ("failed", b.failed),
    ] {
        g.set("berth_webhook_backlog", HELP, &[("state", state)], n as f64);
    }
    g.set(
        "berth_webhook_oldest_pending_age_seconds",
        "Age of the oldest pending webhook delivery's event (0 when none)",
        &[],
        b.oldest_pending_age_seconds as f64,
    );
    Ok(())
}
