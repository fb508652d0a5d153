//! The hybrid flow through the router with the real drivers (Kubernetes
//! on kmock, ECS on moto, Coolify on its fake).

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn hybrid_flow_with_real_drivers(db: PgPool) {
    // Kubernetes on kmock, ECS on moto, Coolify's real adapter on the
    // stateful wiremock fake of its API (no Coolify emulator exists).
    let kmock = emulators::kmock(&["berth"]).await;
    let (mut moto, ecs, _) = moto_ecs().await;
    let k8s: Arc<dyn Platform> = Arc::new(kube_on(&kmock));
    let aws: Arc<dyn Platform> = Arc::new(ecs);
    let coolify_api = wiremock::MockServer::start().await;
    let fake = coolify_fake::FakeCoolify::new("hybrid-token");
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(fake.clone())
        .mount(&coolify_api)
        .await;
    let coolify: Arc<dyn Platform> = Arc::new(
        CoolifyPlatform::new(
            coolify_fake::config(&coolify_api.uri()),
            secrecy::SecretString::from("hybrid-token"),
            fast(),
        )
        .expect("coolify adapter"),
    );
    let h = harness_on(
        db,
        &[
            ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
            ("K8S_BOT_LIMIT", "1"),
            ("AWS_BOT_LIMIT", "5"),
            ("COOLIFY_BOT_LIMIT", "5"),
            ("K8S_QUEUE_TIMEOUT_MS", "0"),
            ("AWS_QUEUE_TIMEOUT_MS", "0"),
        ],
        false,
        |kind| match kind {
            PlatformKind::K8s => Some(k8s.clone()),
            PlatformKind::Aws => Some(aws.clone()),
            PlatformKind::Coolify => Some(coolify.clone()),
            _ => None,
        },
    )
    .await;

    let first = h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let DeployOutcome::Deployed {
        platform,
        platform_identifier,
        ..
    } = &first
    else {
        panic!("{first:?}")
    };
    assert_eq!(*platform, PlatformKind::K8s);
    let identity = platform_identifier.clone().unwrap();
    let jobs: kube::Api<Job> = kube_api(&kmock);
    let job_name = format!("{identity}-e1");
    assert!(!gone(&jobs, &job_name).await, "the Job runs");

    // k8s is at its limit: the next bot lands on ECS, its identifier the task ARN.
    let second = h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let DeployOutcome::Deployed {
        bot_id,
        platform,
        platform_identifier,
        ..
    } = &second
    else {
        panic!("{second:?}")
    };
    assert_eq!(*platform, PlatformKind::Aws);
    let arn = platform_identifier.clone().unwrap();
    assert!(
        arn.starts_with("arn:aws:ecs:") && arn.contains(":task/"),
        "{arn}"
    );
    let s = slot::of_bot(&h.db, *bot_id)
        .await
        .unwrap()
        .expect("the bot holds a slot");
    assert_eq!(
        s.platform_ref.as_deref(),
        Some(arn.as_str()),
        "the slot records the task"
    );

    // The bot finishes: its task is stopped on ECS and the slot is free.
    h.router
        .report(*bot_id, BotStatus::Done, None)
        .await
        .unwrap();
    let stopped = aws.list().await.unwrap();
    assert!(
        stopped
            .iter()
            .any(|w| w.resource == arn && w.state != WorkloadState::Running),
        "{stopped:?}"
    );

    // ECS goes away: the next bot fails there and goes to the third platform.
    moto.kill().await;
    let third = h.router.create_bot(&bots::zoom(1)).await.unwrap();
    let DeployOutcome::Deployed {
        bot_id, platform, ..
    } = &third
    else {
        panic!("{third:?}")
    };
    assert_eq!(*platform, PlatformKind::Coolify);
    // A real Coolify application runs the bot, with its configuration.
    let app = {
        let st = fake.lock();
        let apps: Vec<_> = st.apps.values().cloned().collect();
        assert_eq!(apps.len(), 1, "{apps:?}");
        apps[0].clone()
    };
    assert!(app.name.starts_with(DEFAULT_COOLIFY_APP_PREFIX), "{app:?}");
    assert_eq!(
        app.envs.get("BERTH_BOT_ID").map(String::as_str),
        Some(bot_id.to_string().as_str()),
        "{app:?}"
    );
    let trace = bot::get(&h.db, *bot_id).await.unwrap().decision_trace;
    assert!(
        trace
            .iter()
            .any(|e| e.platform == Some(PlatformKind::Aws) && e.decision == bot::Decision::Failed),
        "{trace:?}"
    );

    // The k8s bot's Job completes: reconciliation reads it through the real
    // adapter, ends the bot DONE and deletes the Job as it frees the slot.
    let DeployOutcome::Deployed {
        bot_id: k8s_bot, ..
    } = &first
    else {
        unreachable!()
    };
    let done = serde_json::json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
    jobs.patch(
        &job_name,
        &Default::default(),
        &kube::api::Patch::Merge(&done),
    )
    .await
    .unwrap();
    let report = berth_core::jobs::reconcile(&h.router).await.unwrap();
    assert_eq!(report.finished, 1, "{report:?}");
    assert_eq!(
        report.unknown,
        [PlatformKind::Aws],
        "moto is gone: unknown there, nothing changed"
    );
    assert_eq!(
        bot::get(&h.db, *k8s_bot).await.unwrap().status,
        BotStatus::Done
    );
    assert!(
        gone(&jobs, &job_name).await,
        "the finished Job is deleted on release"
    );
}
