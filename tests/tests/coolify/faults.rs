//! Coolify's faults: 5xx storms and the shared breaker, rate limits with
//! every form of `Retry-After`, refused and wrong tokens, and the token
//! kept out of the logs.

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn a_5xx_storm_is_bounded_and_through_the_router_slots_end_in_error(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.all = Some(503);
    let r = slot_on_coolify(&s.db).await;
    let e = s.adapter.create_resource(&r, &made_of()).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Transient);
    assert!(e.message.contains("503"), "{e}");
    assert_eq!(
        s.server.received_requests().await.unwrap().len(),
        3,
        "max_attempts bounds the calls"
    );

    // Through the router: each deploy fails, its slot ends in `error`
    // (never stuck `deploying`) and the bot waits in the global queue. No
    // new deploy goes to Coolify until its backoff after the last failed
    // one has passed.
    for failed in 0..4 {
        if failed > 0 {
            s.clock
                .advance(berth_core::platform::deploy_backoff(failed));
        }
        let o = s.router.create_bot(&bots::meet()).await.unwrap();
        assert!(
            matches!(
                o,
                DeployOutcome::Queued {
                    waiting_on: None,
                    ..
                }
            ),
            "{o:?}"
        );
    }
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM pool_slots WHERE deployment_platform = 'coolify' ORDER BY id",
    )
    .fetch_all(&s.db)
    .await
    .unwrap();
    assert_eq!(statuses.len(), 4);
    assert!(statuses.iter().all(|st| st == "error"), "{statuses:?}");

    // Five failed calls opened the breaker: the next request skips Coolify
    // at once, with the reason in its trace, and Coolify sees no call.
    assert!(s.adapter.caller().breaker_open());
    let before = s.server.received_requests().await.unwrap().len();
    let o = s.router.create_bot(&bots::meet()).await.unwrap();
    let bot_id = match o {
        DeployOutcome::Queued { bot_id, .. } => bot_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
    let trace = bot::get(&s.db, bot_id).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::Unhealthy, "{trace:?}");
    assert!(
        trace[0].detail.contains("circuit breaker open"),
        "{trace:?}"
    );
    // The health check counts it as down too, without calling Coolify.
    assert_eq!(s.adapter.health().await, Health::Down);
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_breaker_one_instance_opened_is_honoured_by_another_instance(db: PgPool) {
    // Issue 11, item 13: breaker state is shared through the database, not
    // kept per process. Instance A's deploys fail until its breaker opens.
    let s = setup(db, fast_policy()).await;
    s.fake.lock().faults.all = Some(503);
    let mut failed = 0;
    while !s.adapter.caller().breaker_open() {
        assert!(failed < 5, "five failed deploys did not open the breaker");
        if failed > 0 {
            s.clock
                .advance(berth_core::platform::deploy_backoff(failed));
        }
        let o = s.router.create_bot(&bots::meet()).await.unwrap();
        assert!(matches!(o, DeployOutcome::Queued { .. }), "{o:?}");
        failed += 1;
    }
    // Instance B: its own adapter (its breaker closed: it never called
    // Coolify) and router, on the same database, while Coolify would answer.
    s.fake.lock().faults.all = None;
    let b_adapter = Arc::new(
        CoolifyPlatform::new(
            config(&s.server.uri()),
            SecretString::from(TOKEN),
            fast_policy(),
        )
        .unwrap()
        .with_clock(s.clock.clone()),
    );
    assert!(!b_adapter.caller().breaker_open());
    let mut platforms = Platforms::new();
    platforms.insert(b_adapter);
    let b = Router::new(
        s.db.clone(),
        s.clock.clone(),
        Feed::new(uuid::Uuid::new_v4(), false),
        platforms,
    );
    let before = s.server.received_requests().await.unwrap().len();
    let o = b.create_bot(&bots::meet()).await.unwrap();
    let DeployOutcome::Queued { bot_id, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(
        s.server.received_requests().await.unwrap().len(),
        before,
        "B called a platform every instance must see as down"
    );
    let trace = bot::get(&s.db, bot_id).await.unwrap().decision_trace;
    assert_eq!(trace[0].decision, Decision::Unhealthy, "{trace:?}");
    assert!(
        trace[0].detail.contains("circuit breaker open")
            && trace[0].detail.contains("recorded by instance"),
        "{trace:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn rate_limits_honour_every_form_of_retry_after(db: PgPool) {
    let (buf, _guard) = logs::capture();
    let s = setup(db, fast_policy()).await;
    let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
    // (Retry-After, whether it is honoured: capped at 200 ms; else normal backoff <= 16 ms)
    let cases: [(&str, Option<u64>); 6] = [
        ("3", Some(200)),
        (future.as_str(), Some(200)),
        ("0", Some(0)),
        ("-5", None),
        ("99999999999999999999999", Some(200)),
        ("soon-ish", None),
    ];
    // Each listing meets one 429, then succeeds; the retry's wait is logged.
    for (value, expect) in cases {
        s.fake
            .lock()
            .faults
            .next
            .push_back((429, Some(value.to_string())));
        let mark = buf.text().len();
        s.adapter.list().await.unwrap();
        let logs = buf.text()[mark..].to_string();
        let wait: u64 = logs
            .split("wait_ms=")
            .nth(1)
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no retry logged for {value:?}: {logs}"));
        match expect {
            Some(ms) => assert_eq!(wait, ms, "Retry-After {value:?}"),
            None => assert!(
                wait <= 16,
                "Retry-After {value:?} should be ignored, waited {wait} ms"
            ),
        }
    }
    assert!(!buf.text().contains(TOKEN));
}

#[sqlx::test(migrations = "../migrations")]
async fn refused_tokens_are_not_retried_and_say_what_to_do(db: PgPool) {
    let s = setup(db, fast_policy()).await;
    let r = slot_on_coolify(&s.db).await;
    for (status, kind, words) in [
        (401, FailureKind::Unauthenticated, "re-authenticate"),
        (403, FailureKind::Forbidden, "insufficient permission"),
    ] {
        s.fake.lock().faults.all = Some(status);
        s.server.reset().await;
        Mock::given(any())
            .respond_with(s.fake.clone())
            .mount(&s.server)
            .await;
        let e = s.adapter.create_resource(&r, &made_of()).await.unwrap_err();
        assert_eq!(e.kind, kind);
        assert!(e.message.contains(words), "{e}");
        assert_eq!(
            s.server.received_requests().await.unwrap().len(),
            1,
            "{status} was retried"
        );
        assert!(!s.adapter.caller().breaker_open());
        assert_eq!(s.adapter.health().await, Health::Down);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_wrong_token_is_refused_once(db: PgPool) {
    let s = setup(db.clone(), fast_policy()).await;
    let wrong = CoolifyPlatform::new(
        config(&s.server.uri()),
        SecretString::from("not-the-token"),
        fast_policy(),
    )
    .unwrap();
    let e = wrong.list().await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Unauthenticated);
    assert!(e.message.contains("re-authenticate"), "{e}");
    assert_eq!(s.server.received_requests().await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_token_never_reaches_the_logs(db: PgPool) {
    let (buf, _guard) = logs::capture();
    let policy = Policy {
        breaker_threshold: 1000,
        ..fast_policy()
    };
    let s = setup(db, policy).await;
    full_lifecycle(&s).await;
    let r = slot_on_coolify(&s.db).await;
    for fault in [Some(503), Some(429), Some(401), Some(403), Some(404), None] {
        s.fake.lock().faults.all = fault;
        let _ = s.adapter.create_resource(&r, &made_of()).await;
        let _ = s.adapter.list().await;
        let _ = s.adapter.health().await;
    }
    s.fake.lock().faults.all = None;
    let _ = s.router.create_bot(&bots::meet()).await;
    let _ = jobs::reconcile(&s.router).await;
    tracing::debug!(adapter_config = ?config("http://x"), token = ?SecretString::from(TOKEN), "debug forms");
    let logs = buf.text();
    assert!(
        logs.contains("platform_call"),
        "nothing was captured: {logs}"
    );
    assert!(
        logs.contains("re-authenticate"),
        "the failures were not logged"
    );
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(
        !logs.contains("SECRET"),
        "part of the token leaked into the logs"
    );
}
