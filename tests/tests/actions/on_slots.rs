//! Actions on slots: drain and undrain, delete (forced for a busy slot),
//! restart and recover.

use super::*;

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
