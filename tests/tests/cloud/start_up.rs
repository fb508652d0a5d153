//! Start-up with the real adapters: the ECS secret never reaches the
//! logs; missing configuration is named for the listed platforms only.

use super::*;

#[tokio::test]
async fn the_secret_access_key_never_reaches_the_logs() {
    // A current-thread runtime: every task of this test logs through it.
    let (buffer, _guard) = logs::capture();

    let (_moto, ecs, _) = moto_ecs().await;
    let s = slot_ref(1, 1);
    let mut s2 = s.clone();
    s2.platform_ref = ecs.start(&s, &spec(1)).await.unwrap();
    ecs.list().await.unwrap();
    ecs.stop(&s2).await.unwrap();
    let _ = ecs_on(&_moto, "missing", "subnet-x").await.list().await;

    let text = buffer.text();
    // The capture works at TRACE: the SDK's own traces and Berth's call
    // spans are there, and so is the access key id (the SDK logs it while
    // signing) — but never the secret.
    assert!(
        text.matches("aws_smithy").count() > 10,
        "SDK traces captured"
    );
    assert!(
        text.contains("platform call"),
        "Berth's call traces captured"
    );
    assert!(text.contains("AKIDBERTHTEST"), "signing was traced");
    assert!(!text.contains(SECRET), "the secret access key was logged");
    assert!(
        !text.contains(&SECRET[..20]),
        "part of the secret access key was logged"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn start_up_names_missing_configuration_of_listed_platforms_only(db: PgPool) {
    use berth_core::clock::{Clock, SystemClock};
    use berth_core::config::EnvConfig;
    use berth_core::error::{Error, ErrorCode};
    use berth_core::instance::build_platforms_with;
    let clock: Arc<dyn Clock> = SystemClock::new();
    let build = |vars: Vec<(&'static str, &'static str)>| {
        let (db, clock) = (db.clone(), clock.clone());
        async move {
            let get = move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            };
            let config = EnvConfig::parse(&get, false).expect("valid priority");
            build_platforms_with(&db, clock, &config, &get).await
        }
    };
    let variable = |r: berth_core::error::Result<_>| match r {
        Err(Error::Config { variable, code, .. }) => (variable, code),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    };

    // aws listed without its cluster: refused, naming the variable.
    let aws_only = vec![
        ("PLATFORM_PRIORITY", "aws"),
        ("AWS_BOT_LIMIT", "2"),
        ("ECS_REGION", "us-east-1"),
        ("ECS_SUBNETS", "subnet-1"),
        ("ECS_TASK_DEFINITION", "bot"),
    ];
    assert_eq!(
        variable(build(aws_only.clone()).await),
        ("ECS_CLUSTER".to_string(), ErrorCode::ConfigMissing)
    );
    // With it, aws gets the real adapter; k8s, not listed, needs nothing.
    let mut complete = aws_only;
    complete.push(("ECS_CLUSTER", "bots"));
    let platforms = build(complete).await.expect("aws configured");
    assert!(platforms.get(PlatformKind::Aws).is_some());
    assert!(platforms.get(PlatformKind::K8s).is_none());

    // k8s listed with an unreadable kubeconfig: refused, naming the variable.
    let k8s = vec![
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "2"),
        ("K8S_KUBECONFIG", "/nonexistent/kubeconfig"),
    ];
    assert_eq!(
        variable(build(k8s).await),
        ("K8S_KUBECONFIG".to_string(), ErrorCode::ConfigMissing)
    );
}
