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

#[sqlx::test(migrations = "../migrations")]
async fn a_drained_slot_takes_no_bot_and_is_deleted_once_idle(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let (bot, held) = running(&h, 1).await;
    let idle = slots::of("zoom", PlatformKind::Aws).create(&h.db).await;
    let out = drain::drain(
        &h.router,
        &cli(),
        &names(&[&held, &idle.slot_name, "pool-zoom-999"]),
        Some("  node maintenance "),
    )
    .await
    .unwrap();
    let d = out[0].done.as_ref().expect("the held slot drains");
    assert!(d.draining && d.status.is_some(), "{d:?}: still held");
    assert_eq!(
        out[1].done.as_ref().unwrap().status,
        None,
        "idle: deleted at once"
    );
    assert_eq!(out[2].error.as_ref().unwrap().code, ErrorCode::NotFound);
    let row = last_audit(&h.db, TargetKind::Slot, &held).await;
    assert_eq!(
        (
            row.action.as_str(),
            row.actor.clone(),
            row.reason.as_deref()
        ),
        ("slot.drain", cli().record(), Some("node maintenance"))
    );
    assert_eq!(audit_count(&h.db).await, 2, "one row per slot drained");

    // Drained again: refused, nothing written.
    let again = drain::drain(&h.router, &cli(), &names(&[&held]), None)
        .await
        .unwrap();
    assert_eq!(
        again[0].error.as_ref().unwrap().code,
        ErrorCode::NotApplicable
    );
    assert_eq!(audit_count(&h.db).await, 2);

    // Its bot ends: the release deletes it.
    h.router.finish(bot, BotStatus::Done, None).await.unwrap();
    let gone = slot::by_name(&h.db, &held).await.unwrap_err();
    assert_eq!(gone.code(), ErrorCode::NotFound, "deleted once idle");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_router_never_takes_a_draining_slot_and_the_trim_pass_deletes_it(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let s = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    // A drain whose deletion did not finish (the platform refused it).
    sqlx::query("UPDATE pool_slots SET draining = true WHERE id = $1")
        .bind(s.slot_id)
        .execute(&h.db)
        .await
        .unwrap();
    let (_, took) = running(&h, 1).await;
    assert_ne!(took, s.slot_name, "a draining idle slot is never acquired");
    let mut conn = h.db.acquire().await.unwrap();
    let none = slot::acquire(&mut conn, "zoom", PlatformKind::K8s, 999_999)
        .await
        .unwrap();
    assert!(none.is_none(), "acquire skips it (it answers no slot)");
    drop(conn);
    assert!(berth_core::jobs::trim(&h.router).await.unwrap() >= 1);
    assert_eq!(
        slot::by_name(&h.db, &s.slot_name).await.unwrap_err().code(),
        ErrorCode::NotFound,
        "the maintenance pass deletes it"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_undrained_slot_takes_bots_again(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let (bot, held) = running(&h, 1).await;
    drain::drain(&h.router, &cli(), &names(&[&held]), None)
        .await
        .unwrap();
    let out = drain::undrain(&h.router, &cli(), &names(&[&held]), Some("done"))
        .await
        .unwrap();
    assert!(!out[0].done.as_ref().unwrap().draining);
    assert_eq!(
        last_audit(&h.db, TargetKind::Slot, &held).await.action,
        "slot.undrain"
    );
    let before = audit_count(&h.db).await;
    let again = drain::undrain(&h.router, &cli(), &names(&[&held]), None)
        .await
        .unwrap();
    assert_eq!(
        again[0].error.as_ref().unwrap().code,
        ErrorCode::NotApplicable
    );
    assert_eq!(audit_count(&h.db).await, before, "refused: nothing written");
    h.router.finish(bot, BotStatus::Done, None).await.unwrap();
    assert_eq!(
        slot::by_name(&h.db, &held).await.unwrap().status,
        SlotStatus::Idle,
        "kept: no longer draining"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn deleting_a_busy_slot_is_refused_unless_forced_and_then_its_bot_ends_fatal(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let (bot, held) = running(&h, 1).await;
    let out = drain::delete(&h.router, &cli(), &names(&[&held]), false, None)
        .await
        .unwrap();
    assert_eq!(out[0].error.as_ref().unwrap().code, ErrorCode::SlotBusy);
    assert_eq!(audit_count(&h.db).await, 0, "refused: nothing written");
    assert!(!bot::get(&h.db, bot).await.unwrap().status.is_final());
    assert!(!slot::by_name(&h.db, &held).await.unwrap().draining);

    let out = drain::delete(&h.router, &cli(), &names(&[&held]), true, Some("bad node"))
        .await
        .unwrap();
    let done = out[0].done.as_ref().expect("forced");
    assert_eq!((done.status, done.ended_bot), (None, Some(bot)));
    let b = bot::get(&h.db, bot).await.unwrap();
    assert_eq!(b.status, BotStatus::Fatal);
    assert_eq!(
        b.error.as_deref(),
        Some(format!("slot deleted by {}: bad node", cli().record()).as_str())
    );
    let row = last_audit(&h.db, TargetKind::Slot, &held).await;
    assert_eq!(
        (row.action.as_str(), row.reason.as_deref()),
        ("slot.delete", Some("bad node"))
    );
    assert_eq!(row.detail["forced"], true);
    assert_eq!(row.detail["endedBot"], bot);

    let idle = slots::of("zoom", PlatformKind::Aws).create(&h.db).await;
    let out = drain::delete(&h.router, &cli(), &names(&[&idle.slot_name]), false, None)
        .await
        .unwrap();
    assert!(out[0].is_done());
    assert!(slot::by_name(&h.db, &idle.slot_name).await.is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn restart_returns_a_slot_to_idle_and_recover_retries_an_error_slot_now(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let errored = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    let mut conn = h.db.acquire().await.unwrap();
    slot::mark_error(&mut conn, errored.slot_id, None, "boom", h.clock_now())
        .await
        .unwrap();
    drop(conn);
    let idle = slots::of("zoom", PlatformKind::Aws).create(&h.db).await;

    // Recover: only a slot in error.
    let out = action::recover(&h.router, &cli(), &names(&[&idle.slot_name]), None)
        .await
        .unwrap();
    assert_eq!(
        out[0].error.as_ref().unwrap().code,
        ErrorCode::NotApplicable
    );
    assert_eq!(audit_count(&h.db).await, 0);
    let out = action::recover(
        &h.router,
        &cli(),
        &names(&[&errored.slot_name]),
        Some("now"),
    )
    .await
    .unwrap();
    assert_eq!(out[0].done.as_ref().unwrap().status, Some(SlotStatus::Idle));
    let row = last_audit(&h.db, TargetKind::Slot, &errored.slot_name).await;
    assert_eq!(
        (row.action.as_str(), row.detail["recovered"].clone()),
        ("slot.recover", true.into())
    );

    // Restart an idle slot.
    let out = action::restart(&h.router, &cli(), &names(&[&idle.slot_name]), false, None)
        .await
        .unwrap();
    assert_eq!(out[0].done.as_ref().unwrap().status, Some(SlotStatus::Idle));
    assert_eq!(
        last_audit(&h.db, TargetKind::Slot, &idle.slot_name)
            .await
            .action,
        "slot.restart"
    );

    // A held slot: refused unless forced; forced ends its bot.
    let (bot, held) = running(&h, 1).await;
    let before = audit_count(&h.db).await;
    let out = action::restart(&h.router, &cli(), &names(&[&held]), false, None)
        .await
        .unwrap();
    assert_eq!(out[0].error.as_ref().unwrap().code, ErrorCode::SlotBusy);
    assert_eq!(audit_count(&h.db).await, before);
    let out = action::restart(&h.router, &cli(), &names(&[&held]), true, Some("hung"))
        .await
        .unwrap();
    assert_eq!(out[0].done.as_ref().unwrap().status, Some(SlotStatus::Idle));
    let b = bot::get(&h.db, bot).await.unwrap();
    assert_eq!(b.status, BotStatus::Fatal);
    assert!(b.error.unwrap().starts_with("slot restarted by cli:"));

    // A bad reason refuses the whole call.
    let long = "x".repeat(audit::MAX_REASON_CHARS + 1);
    let e = action::restart(&h.router, &cli(), &names(&[&held]), false, Some(&long))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
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

#[sqlx::test(migrations = "../migrations")]
async fn a_queued_bots_priority_changes_its_place_and_only_a_queued_bots(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q1, q2) = full_with_two_queued(&h).await;
    assert_eq!(
        queue::position(&h.db, q2, h.clock_now()).await.unwrap(),
        Some(2)
    );
    let c = bots_action::priority(&h.router, &cli(), q2, 5, Some("vip"))
        .await
        .unwrap();
    assert_eq!((c.from, c.to, c.position), (100, 5, Some(1)));
    let order: Vec<i64> = queue::list(&h.db, h.clock_now())
        .await
        .unwrap()
        .iter()
        .map(|e| e.bot_id)
        .collect();
    assert_eq!(order, vec![q2, q1], "the queue's order follows");
    assert_eq!(bot::get(&h.db, q2).await.unwrap().priority, 5);
    let row = last_audit(&h.db, TargetKind::Bot, &q2.to_string()).await;
    assert_eq!(
        (
            row.action.as_str(),
            row.detail["from"].clone(),
            row.detail["to"].clone()
        ),
        ("bot.priority", 100.into(), 5.into())
    );

    let before = audit_count(&h.db).await;
    let e = bots_action::priority(&h.router, &cli(), runs[0], 1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "not queued");
    let e = bots_action::priority(&h.router, &cli(), q1, -1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = bots_action::priority(&h.router, &cli(), 999_999, 1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(audit_count(&h.db).await, before, "refusals write nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rerouted_bot_waits_for_its_pinned_platform_only(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q1, q2) = full_with_two_queued(&h).await;
    let r = bots_action::reroute(
        &h.router,
        &cli(),
        q1,
        Some(PlatformKind::Aws),
        Some("near the data"),
    )
    .await
    .unwrap();
    assert_eq!((r.from, r.to), (None, Some(PlatformKind::Aws)));
    assert_eq!(
        bot::get(&h.db, q1).await.unwrap().pinned_platform,
        Some(PlatformKind::Aws)
    );
    assert_eq!(
        last_audit(&h.db, TargetKind::Bot, &q1.to_string())
            .await
            .action,
        "bot.reroute"
    );
    // k8s frees up: q1 (first in line) is pinned elsewhere, q2 takes it.
    h.router
        .finish(runs[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(bot::get(&h.db, q1).await.unwrap().status, BotStatus::Queued);
    let b2 = bot::get(&h.db, q2).await.unwrap();
    assert_eq!(b2.deployment_platform, Some(PlatformKind::K8s));
    // aws frees up: q1 goes there.
    h.router
        .finish(runs[1], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    assert_eq!(
        bot::get(&h.db, q1).await.unwrap().deployment_platform,
        Some(PlatformKind::Aws)
    );

    let before = audit_count(&h.db).await;
    let e = bots_action::reroute(&h.router, &cli(), q1, None, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "no longer queued");
    assert_eq!(audit_count(&h.db).await, before);
}

#[sqlx::test(migrations = "../migrations")]
async fn cancel_records_the_reason_and_refuses_an_ended_bot(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (_, q1, _) = full_with_two_queued(&h).await;
    let r = lifecycle::cancel(&h.router, &cli(), q1, Some("duplicate"))
        .await
        .unwrap();
    assert_eq!(r.bot.status, BotStatus::Fatal);
    assert_eq!(
        r.bot.error.as_deref(),
        Some(format!("cancelled by {}: duplicate", cli().record()).as_str())
    );
    assert_eq!(
        queue::position(&h.db, q1, h.clock_now()).await.unwrap(),
        None,
        "left the queue"
    );
    let row = last_audit(&h.db, TargetKind::Bot, &q1.to_string()).await;
    assert_eq!(
        (row.action.as_str(), row.reason.as_deref()),
        ("bot.cancel", Some("duplicate"))
    );
    let e = lifecycle::cancel(&h.router, &cli(), q1, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::StaleTransition);
    assert_eq!(audit_count(&h.db).await, 1, "the refusal wrote nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_bot_is_deployed_again_as_a_new_linked_bot(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (old, _) = running(&h, 7).await;
    let e = bots_action::redeploy(&h.router, &cli(), old, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable, "it has not failed");
    assert_eq!(audit_count(&h.db).await, 0);
    h.router
        .finish(old, BotStatus::Fatal, Some("crashed"))
        .await
        .unwrap();
    let r = bots_action::redeploy(&h.router, &cli(), old, Some("retry"))
        .await
        .unwrap();
    assert_ne!(r.bot_id, old);
    assert_eq!(r.from_bot_id, old);
    let (new, prev) = (
        bot::get(&h.db, r.bot_id).await.unwrap(),
        bot::get(&h.db, old).await.unwrap(),
    );
    assert_eq!(
        (new.meeting_url.as_str(), new.pool.as_str()),
        (prev.meeting_url.as_str(), "zoom")
    );
    assert_eq!(
        prev.status,
        BotStatus::Fatal,
        "the old bot stays as it ended"
    );
    let link: Option<i64> = sqlx::query_scalar("SELECT redeploy_of FROM bots WHERE id = $1")
        .bind(r.bot_id)
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(link, Some(old));
    assert_eq!(new.redeploy_of, Some(old), "the bot view names it too");
    let row = last_audit(&h.db, TargetKind::Bot, &old.to_string()).await;
    assert_eq!(
        (row.action.as_str(), row.detail["newBotId"].clone()),
        ("bot.redeploy", r.bot_id.into())
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_drained_platform_takes_no_new_bot_until_undrained(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let d = platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, Some("upgrade"))
        .await
        .unwrap();
    assert_eq!(
        (d.drain.by.clone(), d.drain.reason.as_deref()),
        (cli().record(), Some("upgrade"))
    );
    let (id, _) = running(&h, 1).await;
    let b = bot::get(&h.db, id).await.unwrap();
    assert_eq!(
        b.deployment_platform,
        Some(PlatformKind::Aws),
        "k8s skipped"
    );
    assert!(b
        .decision_trace
        .iter()
        .any(|e| e.decision == Decision::Drained && e.platform == Some(PlatformKind::K8s)));
    let view = overview::platforms(&h.db, h.clock_now(), None)
        .await
        .unwrap();
    let k8s = view
        .platforms
        .iter()
        .find(|p| p.settings.platform == PlatformKind::K8s)
        .unwrap();
    assert_eq!(
        k8s.drain.as_ref().map(|d| d.by.clone()),
        Some(cli().record())
    );
    assert_eq!(
        last_audit(&h.db, TargetKind::Platform, "k8s").await.action,
        "platform.drain"
    );

    let before = audit_count(&h.db).await;
    let e = platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable);
    assert_eq!(audit_count(&h.db).await, before);

    platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    assert_eq!(
        last_audit(&h.db, TargetKind::Platform, "k8s").await.action,
        "platform.undrain"
    );
    let (id, _) = running(&h, 2).await;
    assert_eq!(
        bot::get(&h.db, id).await.unwrap().deployment_platform,
        Some(PlatformKind::K8s)
    );
    let e = platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotApplicable);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_audit_log_lists_newest_first_with_filters(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let desktop = Actor::desktop();
    platform_drain::drain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    platform_drain::drain(&h.router, &desktop, PlatformKind::Aws, None)
        .await
        .unwrap();
    platform_drain::undrain(&h.router, &cli(), PlatformKind::K8s, None)
        .await
        .unwrap();
    let all = audit::list(&h.db, &AuditFilter::default()).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["platform.undrain", "platform.drain", "platform.drain"]
    );
    let by_desktop = AuditFilter {
        actor: Some(desktop.record()),
        ..AuditFilter::default()
    };
    assert_eq!(audit::list(&h.db, &by_desktop).await.unwrap().len(), 1);
    let one = AuditFilter {
        limit: Some(1),
        ..AuditFilter::default()
    };
    assert_eq!(
        audit::list(&h.db, &one).await.unwrap()[0].action,
        "platform.undrain"
    );
    let later = AuditFilter {
        since: Some(all[0].at + chrono::Duration::seconds(1)),
        ..AuditFilter::default()
    };
    assert!(audit::list(&h.db, &later).await.unwrap().is_empty());
    let bad = AuditFilter {
        limit: Some(0),
        ..AuditFilter::default()
    };
    assert_eq!(
        audit::list(&h.db, &bad).await.unwrap_err().code(),
        ErrorCode::InvalidInput
    );
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

#[sqlx::test(migrations = "../migrations")]
async fn a_slot_action_announces_the_slots_it_changed(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let mut on = announcing(&h.db, h.clock.clone(), h.router.platforms()).await;
    let router = on.router.clone();
    let a = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    let b = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    // Drained while idle: deleted at once; readers find its id gone.
    drain::drain(
        &router,
        &cli(),
        &names(&[&a.slot_name, &b.slot_name, "nope"]),
        None,
    )
    .await
    .unwrap();
    let named = on.slots_named(&[a.slot_id, b.slot_id], "the drain").await;
    assert_eq!(named.len(), 2, "only the drained slots: {named:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_action_kind_announces_its_topics_with_audit(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    // The harness's feed is off: a router on a live feed, same database and adapters.
    let mut on = announcing(&h.db, h.clock.clone(), h.router.platforms()).await;
    let router = on.router.clone();

    let idle = slots::of("zoom", PlatformKind::K8s).create(&h.db).await;
    drain::drain(&router, &cli(), &names(&[&idle.slot_name]), None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Slots, Topic::Audit]).await;
    let (_, q1, _) = full_with_two_queued(&h).await;
    bots_action::priority(&router, &cli(), q1, 3, None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Queue, Topic::Audit]).await;
    platform_drain::drain(&router, &cli(), PlatformKind::Aws, None)
        .await
        .unwrap();
    announced(&mut on.rx, &[Topic::Platforms, Topic::Audit]).await;
    lifecycle::cancel(&router, &cli(), q1, None).await.unwrap();
    announced(&mut on.rx, &[Topic::Bots, Topic::Audit]).await;
}
