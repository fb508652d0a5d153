//! The operator's actions (issue 14): on slots (restart, drain, undrain,
//! delete, recover), bots (cancel, priority, re-route, redeploy) and
//! platforms (drain, undrain) — each its state change, its audit row, its
//! refusals writing nothing, and its feed topics.

use berth_core::actor::Actor;
use berth_core::audit::{self, AuditEntry, AuditFilter, TargetKind};
use berth_core::bot::{self, action as bots_action, Decision};
use berth_core::feed::{ChangeEvent, Topic};
use berth_core::meeting::{BotStatus, PlatformKind, SlotStatus};
use berth_core::platform::drain as platform_drain;
use berth_core::slot::{self, action, drain};
use berth_core::{lifecycle, overview, queue, ErrorCode};
use berth_tests::announcing::announcing;
use berth_tests::{bot_id, bots, harness, slots, three_platforms, Harness};
use sqlx::PgPool;
use std::time::Duration;

async fn audit_count(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(db)
        .await
        .unwrap()
}

async fn last_audit(db: &PgPool, kind: TargetKind, target: &str) -> AuditEntry {
    let f = AuditFilter {
        target_kind: Some(kind),
        target: Some(target.to_string()),
        ..AuditFilter::default()
    };
    audit::list(db, &f)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("an audit row for {target}"))
}

/// A deployed bot and the name of the slot it holds.
async fn running(h: &Harness, n: u32) -> (i64, String) {
    let id = bot_id(&h.router.create_bot(&bots::zoom(n)).await.unwrap());
    let slot = bot::get(&h.db, id)
        .await
        .unwrap()
        .slot_name
        .expect("holds a slot");
    (id, slot)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn cli() -> Actor {
    Actor::cli()
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for Harness {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use berth_core::clock::Clock;
        self.clock.now()
    }
}

/// Three platforms of one bot each, full; two bots queued.
async fn full_with_two_queued(h: &Harness) -> (Vec<i64>, i64, i64) {
    let mut runs = Vec::new();
    for n in 0..3 {
        runs.push(running(h, n).await.0);
    }
    let q1 = bot_id(&h.router.create_bot(&bots::zoom(10)).await.unwrap());
    let q2 = bot_id(&h.router.create_bot(&bots::zoom(11)).await.unwrap());
    for q in [q1, q2] {
        assert_eq!(bot::get(&h.db, q).await.unwrap().status, BotStatus::Queued);
    }
    (runs, q1, q2)
}

/// Waits for a notice carrying every topic of `want`.
async fn announced(rx: &mut tokio::sync::broadcast::Receiver<ChangeEvent>, want: &[Topic]) {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = std::collections::BTreeSet::new();
        loop {
            if let ChangeEvent::Changed { topics, .. } = rx.recv().await.unwrap() {
                seen.extend(topics);
                if want.iter().all(|t| seen.contains(t)) {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{want:?} announced"));
}

#[path = "actions/on_bots.rs"]
mod on_bots;
#[path = "actions/on_platforms.rs"]
mod on_platforms;
#[path = "actions/on_slots.rs"]
mod on_slots;
#[path = "actions/recorded.rs"]
mod recorded;
