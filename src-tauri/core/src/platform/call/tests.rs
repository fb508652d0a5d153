use super::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

fn caller(policy: Policy) -> Caller {
    Caller::new(PlatformKind::Coolify, policy)
}

fn transient() -> Result<(), Fault> {
    Err(Fault::transient("503"))
}

#[test]
fn a_failure_kinds_text_is_its_serialized_form() {
    for kind in FailureKind::ALL {
        let json = serde_json::to_value(kind).unwrap();
        assert_eq!(json.as_str(), Some(kind.as_str()), "{kind:?}");
    }
}

#[test]
fn retry_after_values() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("-3", now), None);
    assert_eq!(parse_retry_after("1.5", now), None);
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("", now), None);
    assert_eq!(
        parse_retry_after("999999999999999999999999", now),
        Some(Duration::MAX)
    );
    let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(
        parse_retry_after(&later, now),
        Some(Duration::from_secs(90))
    );
    let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn retries_transient_with_capped_jittered_backoff() {
    let c = caller(Policy {
        max_attempts: 6,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        ..Policy::default()
    });
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let start = Instant::now();
    let err = c
        .run("op", None, || {
            t.lock().unwrap().push(start.elapsed());
            async { transient() }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 6);
    let full = [100u64, 200, 400, 400, 400];
    for (i, w) in times.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let b = Duration::from_millis(full[i]);
        assert!(
            gap >= b / 2 && gap <= b,
            "retry {} waited {gap:?}, expected within [{:?}, {b:?}]",
            i + 1,
            b / 2
        );
    }
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_waits() {
    let mut waits = std::collections::HashSet::new();
    for _ in 0..20 {
        let c = caller(Policy {
            max_attempts: 2,
            ..Policy::default()
        });
        let start = Instant::now();
        let _ = c.run("op", None, || async { transient() }).await;
        waits.insert(start.elapsed());
    }
    assert!(waits.len() > 1, "every wait was the same: no jitter");
}

#[tokio::test(start_paused = true)]
async fn no_retry_on_refusals() {
    for (fault, kind) in [
        (
            Fault::Unauthenticated("401".into()),
            FailureKind::Unauthenticated,
        ),
        (Fault::Forbidden("403".into()), FailureKind::Forbidden),
        (Fault::NotFound("404".into()), FailureKind::NotFound),
        (Fault::Conflict("409".into()), FailureKind::Conflict),
        (Fault::Rejected("422".into()), FailureKind::Rejected),
    ] {
        let c = caller(Policy::default());
        let calls = AtomicU32::new(0);
        let err = c
            .run("op", Some("slot-1"), || {
                calls.fetch_add(1, Ordering::SeqCst);
                let f = fault.clone();
                async move { Err::<(), _>(f) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind:?} was retried");
        assert_eq!(err.kind, kind);
        assert!(!c.breaker_open());
    }
    let c = caller(Policy::default());
    let e = c
        .run("op", None, || async {
            Err::<(), _>(Fault::Unauthenticated("401".into()))
        })
        .await
        .unwrap_err();
    assert!(e.message.contains("re-authenticate"), "{}", e.message);
    let e = c
        .run("op", None, || async {
            Err::<(), _>(Fault::Forbidden("403".into()))
        })
        .await
        .unwrap_err();
    assert!(
        e.message.contains("insufficient permission"),
        "{}",
        e.message
    );
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_then_reported() {
    let c = caller(Policy {
        attempt_timeout: Duration::from_secs(2),
        max_attempts: 3,
        ..Policy::default()
    });
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let err = c
        .run("op", None, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<(), Fault>(())
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Timeout);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(start.elapsed() < Duration::from_secs(8));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_capped() {
    let c = caller(Policy {
        max_attempts: 2,
        max_retry_after: Duration::from_secs(30),
        ..Policy::default()
    });
    for (hint, expect) in [
        (Duration::from_secs(7), Duration::from_secs(7)),
        (Duration::ZERO, Duration::ZERO),
        (Duration::MAX, Duration::from_secs(30)),
    ] {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let out = c
            .run("op", None, || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(Fault::Transient {
                            message: "429".into(),
                            retry_after: Some(hint),
                        })
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 1);
        assert_eq!(start.elapsed(), expect);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_budget_runs_out_and_refills_on_success() {
    let c = caller(Policy {
        max_attempts: 4,
        retry_budget: 5,
        retry_refill_milli: 500,
        breaker_threshold: 100,
        ..Policy::default()
    });
    let calls = AtomicU32::new(0);
    let count = || {
        calls.fetch_add(1, Ordering::SeqCst);
        async { transient() }
    };
    // 1 + 3 retries, then 1 + 2 retries (budget 5 spent), then no retries.
    let _ = c.run("op", None, count).await;
    assert_eq!(calls.swap(0, Ordering::SeqCst), 4);
    let _ = c.run("op", None, count).await;
    assert_eq!(calls.swap(0, Ordering::SeqCst), 3);
    let e = c.run("op", None, count).await.unwrap_err();
    assert_eq!(calls.swap(0, Ordering::SeqCst), 1);
    assert!(
        e.message.contains("retry budget exhausted"),
        "{}",
        e.message
    );
    assert_eq!(c.retry_budget_left(), 0);
    // Two successes put one token back: one retry allowed again.
    for _ in 0..2 {
        c.run("op", None, || async { Ok::<(), Fault>(()) })
            .await
            .unwrap();
    }
    assert_eq!(c.retry_budget_left(), 1);
    let _ = c.run("op", None, count).await;
    assert_eq!(calls.swap(0, Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_fails_fast_and_a_probe_closes_it() {
    let clock = crate::clock::ManualClock::starting_now();
    let c = Caller::with_clock(
        PlatformKind::Coolify,
        Policy {
            max_attempts: 1,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
            ..Policy::default()
        },
        clock.clone(),
    );
    for _ in 0..2 {
        let _ = c.run("op", None, || async { transient() }).await;
        assert!(!c.breaker_open());
    }
    // A refusal proves the platform answers: it does not count.
    let _ = c
        .run("op", None, || async {
            Err::<(), _>(Fault::NotFound("404".into()))
        })
        .await;
    assert!(!c.breaker_open());
    for _ in 0..3 {
        let _ = c.run("op", None, || async { transient() }).await;
    }
    assert!(c.breaker_open());
    assert!(c.breaker_reason().unwrap().contains("3 consecutive"));

    let calls = AtomicU32::new(0);
    let err = c
        .run("op", None, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), Fault>(()) }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::CircuitOpen);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "an open breaker called the platform"
    );

    // During the cool-down a probe does not reach the platform either.
    let err = c
        .probe("health", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), Fault>(()) }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::CircuitOpen);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // After it a failing probe keeps it open for another cool-down...
    clock.advance(chrono::Duration::seconds(31));
    let err = c
        .probe("health", || async { transient() })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Transient);
    assert!(c.breaker_open());
    let err = c
        .probe("health", || async { Ok::<(), Fault>(()) })
        .await
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::CircuitOpen);

    // ...and a succeeding one closes it.
    clock.advance(chrono::Duration::seconds(31));
    c.probe("health", || async { Ok::<(), Fault>(()) })
        .await
        .unwrap();
    assert!(!c.breaker_open());
    c.run("op", None, || async { Ok::<(), Fault>(()) })
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn repeated_refusals_open_the_breaker_and_expected_answers_do_not() {
    // Issue 11, item 14: a platform that refuses every call (a revoked
    // token, a rejected task definition) is as unusable as one that does
    // not answer; 404 and 409 are expected answers and reset the count.
    for refusal in [
        Fault::Unauthenticated("401".into()),
        Fault::Forbidden("403".into()),
        Fault::Rejected("422".into()),
    ] {
        let c = caller(Policy {
            breaker_threshold: 5,
            ..Policy::default()
        });
        let calls = AtomicU32::new(0);
        for _ in 0..5 {
            let f = refusal.clone();
            let _ = c
                .run("start", None, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let f = f.clone();
                    async move { Err::<(), _>(f) }
                })
                .await;
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            5,
            "refusals are never retried"
        );
        assert!(c.breaker_open(), "{refusal:?} five times did not open it");
        assert!(c.breaker_reason().unwrap().contains("5 consecutive"));
    }
    let c = caller(Policy {
        breaker_threshold: 3,
        ..Policy::default()
    });
    for expected in [Fault::NotFound("404".into()), Fault::Conflict("409".into())] {
        for _ in 0..2 {
            let _ = c
                .run("op", None, || async {
                    Err::<(), _>(Fault::Rejected("422".into()))
                })
                .await;
        }
        let f = expected.clone();
        let _ = c
            .run("op", None, || {
                let f = f.clone();
                async move { Err::<(), _>(f) }
            })
            .await;
        assert!(!c.breaker_open(), "{expected:?} did not reset the count");
    }
}
