//! The ECS adapter against moto: run, describe, list, stop, retried
//! starts, image updates, paging through moto, health and error mapping.

use super::*;

#[tokio::test]
async fn ecs_runs_describes_lists_and_stops_a_task() {
    let (_moto, ecs, _) = moto_ecs().await;
    let mut s = slot_ref(1, 3);
    s.platform_ref = Some(ecs.create_resource(&s, &made_of()).await.unwrap());
    let arn = ecs
        .start(&s, &spec(42))
        .await
        .expect("started")
        .expect("a task ARN");
    assert!(arn.starts_with("arn:aws:ecs:us-east-1:"), "{arn}");

    // What ECS was asked for: tags, startedBy, the bot's environment.
    let described = ecs
        .client()
        .describe_tasks()
        .cluster("bots")
        .tasks(&arn)
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .unwrap();
    let task = &described.tasks()[0];
    let tag = |k: &str| {
        task.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("berth:managed-by").as_deref(), Some("berth"));
    assert_eq!(tag("berth:pool").as_deref(), Some("zoom"));
    assert_eq!(tag("berth:slot").as_deref(), Some("pool-zoom-001"));
    assert_eq!(tag("berth:bot").as_deref(), Some("42"));
    assert_eq!(tag("berth:epoch").as_deref(), Some("3"));
    assert_eq!(task.started_by(), Some("berth-pool-zoom-001-s1-e3"));
    let env = task.overrides().unwrap().container_overrides()[0].environment();
    let var = |k: &str| {
        env.iter()
            .find(|e| e.name() == Some(k))
            .and_then(|e| e.value())
    };
    assert_eq!(var("BERTH_BOT_ID"), Some("42"));
    assert_eq!(var("BERTH_MEETING_URL"), Some("https://zoom.us/j/1"));
    assert!(var("BERTH_BOT_TOKEN").is_some_and(berth_core::bot_lease::token::well_formed));

    let listed = ecs.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].resource, arn);
    assert_eq!(listed[0].bot_id, Some(42));
    assert_eq!(listed[0].epoch, Some(3));
    assert_eq!(listed[0].state, WorkloadState::Running);
    assert!(
        listed[0].raw_status.contains("lastStatus=RUNNING"),
        "{}",
        listed[0].raw_status
    );

    s.platform_ref = Some(arn.clone());
    ecs.describe(&s, "[BUSY] Bot #42 - 2026-11-23T10:00:00Z")
        .await
        .expect("description tagged on the task");
    ecs.stop(&s).await.expect("stopped");
    let after = ecs.list().await.unwrap();
    assert_eq!(
        after.len(),
        1,
        "a stopped task is still listed (its exit shows there)"
    );
    assert_ne!(after[0].state, WorkloadState::Running);
    assert!(
        after[0].raw_status.contains("lastStatus=STOPPED"),
        "{}",
        after[0].raw_status
    );
}

#[tokio::test]
async fn ecs_a_retried_start_of_the_same_slot_and_epoch_runs_one_task() {
    // moto ignores `clientToken` (its RunTask handler never reads it), so
    // what is proven here is the adapter's own guard: it looks the
    // assignment's task up by `startedBy` before running one.
    let (_moto, ecs, _) = moto_ecs().await;
    let s = slot_ref(7, 11);
    let first = ecs.start(&s, &spec(1)).await.unwrap();
    let second = ecs.start(&s, &spec(1)).await.unwrap();
    assert_eq!(first, second, "the retry adopts the first task");
    let running = ecs
        .client()
        .list_tasks()
        .cluster("bots")
        .started_by("berth-pool-zoom-007-s7-e11")
        .send()
        .await
        .unwrap();
    assert_eq!(running.task_arns().len(), 1);
    // A new epoch of the same slot is a new assignment: a new task.
    let next = ecs.start(&slot_ref(7, 12), &spec(2)).await.unwrap();
    assert_ne!(next, first);
}

/// The ARNs of the `bot` family's revisions.
async fn bot_revisions(ecs: &EcsPlatform) -> Vec<String> {
    let out = ecs
        .client()
        .list_task_definitions()
        .family_prefix("bot")
        .send()
        .await
        .expect("listed");
    out.task_definition_arns().to_vec()
}

/// The task definition ARN a task runs.
async fn definition_of(ecs: &EcsPlatform, task: &str) -> String {
    let out = ecs
        .client()
        .describe_tasks()
        .cluster("bots")
        .tasks(task)
        .send()
        .await
        .expect("described");
    out.tasks()[0].task_definition_arn().unwrap().to_string()
}

#[tokio::test]
async fn ecs_update_image_registers_one_revision_that_the_next_task_runs() {
    let (moto, _, subnet) = moto_ecs().await;
    // Pinned to the first revision: only the adapter's choice makes a task
    // run the new one (a family name would resolve to it anyway).
    let ecs = ecs_running(&moto, "bots", &subnet, "bot:1").await;
    let mut s = slot_ref(3, 1);
    s.platform_ref = Some(ecs.create_resource(&s, &made_of()).await.unwrap());
    // A bot already running on the old image keeps its task.
    let busy = slot_ref(4, 1);
    let old_task = ecs.start(&busy, &spec(1)).await.unwrap().unwrap();
    let v2 = ResourceSpec {
        image: "bots/zoom:2".into(),
        ..made_of()
    };

    ecs.update_image(&s, &v2).await.expect("updated");
    let revisions = bot_revisions(&ecs).await;
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    let newest = ecs
        .client()
        .describe_task_definition()
        .task_definition("bot")
        .send()
        .await
        .unwrap();
    let td = newest.task_definition().unwrap();
    assert_eq!(td.revision(), 2);
    let bot = &td.container_definitions()[0];
    assert_eq!(bot.image(), Some("bots/zoom:2"));
    // Everything else is the configured revision's.
    assert_eq!(bot.name(), Some("bot"));
    assert_eq!(bot.memory(), Some(512));
    assert_eq!(td.network_mode(), Some(&NetworkMode::Awsvpc));
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));

    // The same image again, for another slot or from another instance
    // (a fresh adapter): nothing new is registered.
    ecs.update_image(&slot_ref(5, 1), &v2).await.unwrap();
    let other = ecs_running(&moto, "bots", &subnet, "bot:1").await;
    other.update_image(&s, &v2).await.unwrap();
    assert_eq!(bot_revisions(&ecs).await, revisions);

    // The slot's next deploy (the bot's image is the pool's) runs it.
    let mut next = spec(2);
    next.image = "bots/zoom:2".into();
    let task = ecs.start(&s, &next).await.unwrap().unwrap();
    let new_definition = td.task_definition_arn().unwrap();
    assert_eq!(definition_of(&ecs, &task).await, new_definition);
    let task = other.start(&slot_ref(6, 1), &next).await.unwrap().unwrap();
    assert_eq!(definition_of(&ecs, &task).await, new_definition);
    assert_eq!(bot_revisions(&ecs).await, revisions);
    // The running task was not touched.
    assert!(definition_of(&ecs, &old_task).await.ends_with(":1"));
    let running = ecs
        .client()
        .list_tasks()
        .cluster("bots")
        .started_by(EcsPlatform::assignment_token(&busy))
        .send()
        .await
        .unwrap();
    assert_eq!(running.task_arns(), [old_task]);
}

#[tokio::test]
async fn ecs_update_image_of_an_unknown_task_definition_says_which() {
    let (moto, _ecs, subnet) = moto_ecs().await;
    let get = lookup(vec![
        ("ECS_REGION", "us-east-1".into()),
        ("ECS_CLUSTER", "bots".into()),
        ("ECS_SUBNETS", subnet),
        ("ECS_TASK_DEFINITION", "no-such-family".into()),
        ("ECS_ENDPOINT_URL", moto.url.clone()),
    ]);
    let creds = Credentials::new("AKIDBERTHTEST", SECRET, None, None, "test");
    let bad_td = EcsPlatform::connect(EcsSettings::parse(&get).unwrap(), Some(creds), fast()).await;
    let v2 = ResourceSpec {
        image: "bots/zoom:2".into(),
        ..made_of()
    };
    let err = bad_td.update_image(&slot_ref(1, 1), &v2).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Rejected, "{err}");
    assert_eq!(err.operation, "update_image");
    assert!(
        err.message.contains("task definition no-such-family"),
        "{err}"
    );
}

#[tokio::test]
async fn ecs_lists_more_than_a_hundred_tasks() {
    // 130 tasks: DescribeTasks must be called in batches of at most 100.
    // moto would accept more in one call and returns ListTasks in a single
    // page, so this proves the listing is complete; the page loop is proven
    // by `ecs_list_follows_next_tokens_and_describes_in_batches_of_100`.
    let (_moto, ecs, _) = moto_ecs().await;
    let mut arns = Vec::new();
    for i in 0..130 {
        arns.push(
            ecs.start(&slot_ref(i, 1), &spec(i as i64 + 1))
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let listed = ecs.list().await.unwrap();
    assert_eq!(listed.len(), 130);
    let mut got: Vec<_> = listed.iter().map(|w| w.resource.clone()).collect();
    got.sort();
    arns.sort();
    assert_eq!(got, arns);
    assert!(listed.iter().all(|w| w.state == WorkloadState::Running));
}

#[tokio::test]
async fn ecs_health_follows_the_cluster_and_errors_are_mapped() {
    let (moto, ecs, subnet) = moto_ecs().await;
    assert_eq!(ecs.health().await, Health::Healthy);

    let missing = ecs_on(&moto, "no-such-cluster", &subnet).await;
    assert_eq!(
        missing.health().await,
        Health::Down,
        "a missing cluster is down"
    );
    let err = missing.list().await.unwrap_err();
    assert_eq!(err.kind, FailureKind::NotFound, "{err}");

    // An unknown task definition: a client error, not retried.
    let get = lookup(vec![
        ("ECS_REGION", "us-east-1".into()),
        ("ECS_CLUSTER", "bots".into()),
        ("ECS_SUBNETS", subnet.clone()),
        ("ECS_TASK_DEFINITION", "no-such-family".into()),
        ("ECS_ENDPOINT_URL", moto.url.clone()),
    ]);
    let creds = Credentials::new("AKIDBERTHTEST", SECRET, None, None, "test");
    let bad_td = EcsPlatform::connect(EcsSettings::parse(&get).unwrap(), Some(creds), fast()).await;
    let err = bad_td.start(&slot_ref(1, 1), &spec(1)).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Rejected, "{err}");

    ecs.client()
        .delete_cluster()
        .cluster("bots")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ecs.health().await,
        Health::Down,
        "an inactive cluster is down"
    );

    let mut gone = moto;
    gone.kill().await;
    let err = ecs.start(&slot_ref(1, 1), &spec(1)).await.unwrap_err();
    assert_eq!(
        err.kind,
        FailureKind::Transient,
        "connection refused is transient: {err}"
    );
}
