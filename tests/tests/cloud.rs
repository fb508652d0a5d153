//! The real Kubernetes and ECS adapters against emulators: kmock (a
//! stateful Kubernetes API) and moto (AWS), started per test on free ports.
//! And the hybrid flow through the router with those real drivers.
//!
//! What the emulators do not do (checked in their sources, kmock 0.8 and
//! moto 5.2): kmock ignores label selectors and `limit`/`continue`, and
//! cannot GET a namespace; moto ignores RunTask's `clientToken`, returns
//! every task from ListTasks in one page, and accepts more than 100 tasks
//! in one DescribeTasks. Each test says which of the adapter's behaviours it
//! can and cannot prove because of that; ECS paging is proven against a
//! scripted endpoint instead, Kubernetes paging with a mock service (unit
//! tests in `platform/kube.rs`).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
use berth_core::clock::ManualClock;
use berth_core::config::{CoolifyConfig, DEFAULT_COOLIFY_APP_PREFIX};
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::call::Policy;
use berth_core::platform::coolify::CoolifyPlatform;
use berth_core::platform::ecs::{Credentials, EcsPlatform, EcsSettings};
use berth_core::platform::kube::{KubePlatform, KubeSettings};
use berth_core::platform::secret::TokenSource;
use berth_core::platform::{
    BotSpec, FailureKind, Health, Platform, ResourceSpec, SlotRef, WorkloadState,
};
use berth_core::router::DeployOutcome;
use berth_core::{bot, slot};
use berth_tests::bots;
use berth_tests::emulators::{self, Emulator};
use berth_tests::harness_on;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use sqlx::PgPool;

/// What the slots under test are made of (the router passes the pool's).
fn made_of() -> ResourceSpec {
    ResourceSpec {
        image: "bots/zoom:1".into(),
        resources: Default::default(),
        meeting_platform: Some(MeetingPlatform::Zoom),
    }
}

#[path = "support/coolify_fake.rs"]
mod coolify_fake;
#[path = "support/logs.rs"]
mod logs;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";

/// Retries kept short: these tests exercise behaviour, not patience. The
/// circuit breaker keeps its real threshold (5) and cool-down (30 s).
fn fast() -> Policy {
    Policy {
        attempt_timeout: Duration::from_secs(10),
        max_attempts: 2,
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(20),
        ..Policy::default()
    }
}

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

async fn ecs_on(moto: &Emulator, cluster: &str, subnet: &str) -> EcsPlatform {
    ecs_running(moto, cluster, subnet, "bot").await
}

/// An adapter whose task definition is `definition`.
async fn ecs_running(
    moto: &Emulator,
    cluster: &str,
    subnet: &str,
    definition: &str,
) -> EcsPlatform {
    let get = lookup(vec![
        ("ECS_REGION", "us-east-1".into()),
        ("ECS_CLUSTER", cluster.into()),
        ("ECS_SUBNETS", subnet.into()),
        ("ECS_SECURITY_GROUPS", "sg-12345".into()),
        ("ECS_TASK_DEFINITION", definition.into()),
        ("ECS_ENDPOINT_URL", moto.url.clone()),
    ]);
    let settings = EcsSettings::parse(&get).expect("ecs settings");
    let creds = Credentials::new("AKIDBERTHTEST", SECRET, None, None, "test");
    EcsPlatform::connect(settings, Some(creds), fast()).await
}

/// moto with a cluster `bots`, a subnet, and the task definition `bot`.
async fn moto_ecs() -> (Emulator, EcsPlatform, String) {
    let moto = emulators::moto().await;
    let subnet = emulators::moto_subnet(moto.port).await;
    let ecs = ecs_on(&moto, "bots", &subnet).await;
    ecs.client()
        .create_cluster()
        .cluster_name("bots")
        .send()
        .await
        .expect("cluster created");
    ecs.client()
        .register_task_definition()
        .family("bot")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("bot")
                .image("bots/zoom:1")
                // moto needs container-level memory.
                .memory(512)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .expect("task definition registered");
    (moto, ecs, subnet)
}

fn slot_ref(i: usize, epoch: i64) -> SlotRef {
    SlotRef {
        slot_id: i as i64,
        slot_name: format!("pool-zoom-{i:03}"),
        pool: "zoom".into(),
        epoch,
        platform_ref: None,
    }
}

fn spec(bot_id: i64) -> BotSpec {
    BotSpec {
        bot_id,
        meeting_platform: MeetingPlatform::Zoom,
        meeting_url: "https://zoom.us/j/1".into(),
        image: "bots/zoom:1".into(),
        resources: Default::default(),
        account: None,
        token: berth_core::bot_lease::BotToken::generate(),
    }
}

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

fn kube_on(kmock: &Emulator) -> KubePlatform {
    let config = kube::Config::new(kmock.url.parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    let get = lookup(vec![("K8S_NAMESPACE", "berth".into())]);
    KubePlatform::new(client, KubeSettings::parse(&get).unwrap(), fast())
}

fn kube_api<K>(kmock: &Emulator) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    let config = kube::Config::new(kmock.url.parse().expect("url"));
    kube::Api::namespaced(kube::Client::try_from(config).unwrap(), "berth")
}

/// Whether `name` is gone. kmock answers 404 with a non-standard reason,
/// which `Api::get_opt` (it matches the reason `NotFound`) does not
/// recognise; the HTTP code is what counts.
async fn gone<K>(api: &kube::Api<K>, name: &str) -> bool
where
    K: kube::Resource + Clone + k8s_openapi::serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.get(name).await {
        Ok(_) => false,
        Err(kube::Error::Api(s)) if s.code == 404 => true,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn kubernetes_slot_lifecycle_against_kmock() {
    let kmock = emulators::kmock(&["berth"]).await;
    let k = kube_on(&kmock);
    assert_eq!(k.health().await, Health::Healthy);

    let mut s = slot_ref(3, 5);
    let identity = k.create_resource(&s, &made_of()).await.unwrap();
    assert_eq!(identity, "berth-pool-zoom-003");
    assert_eq!(
        k.create_resource(&s, &made_of()).await.unwrap(),
        identity,
        "creating again adopts"
    );
    s.platform_ref = Some(identity.clone());
    k.describe(&s, "[DEPLOYING] Bot #9 - Starting container...")
        .await
        .unwrap();
    let cm: ConfigMap = kube_api(&kmock).get(&identity).await.unwrap();
    assert_eq!(
        cm.metadata.annotations.unwrap()["berth.dev/description"],
        "[DEPLOYING] Bot #9 - Starting container..."
    );

    assert_eq!(k.start(&s, &spec(9)).await.unwrap(), None);
    k.start(&s, &spec(9))
        .await
        .expect("a retried start adopts (409)");
    let jobs: kube::Api<Job> = kube_api(&kmock);
    let job = jobs.get("berth-pool-zoom-003-e5").await.unwrap();
    assert_eq!(job.spec.unwrap().backoff_limit, Some(0));

    // A Job Berth does not own (another tool's, with look-alike labels):
    // kmock ignores the label selector, so only the adapter's own owner
    // filter keeps it out.
    let foreign: Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "not-ours", "labels": {
            "app.kubernetes.io/managed-by": "helm",
            "berth.dev/slot": "berth-pool-zoom-003",
            "berth.dev/epoch": "99"
        }},
        "spec": {"template": {"spec": {"containers": []}}}
    }))
    .unwrap();
    jobs.create(&Default::default(), &foreign).await.unwrap();

    let listed = k.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].resource, identity);
    assert_eq!(listed[0].epoch, Some(5));
    assert_eq!(listed[0].bot_id, Some(9));
    assert_eq!(listed[0].state, WorkloadState::Running);

    // The Job completes: its status merge-patched as the job controller
    // would (kmock has no `/status` subresource; it merges into the object).
    let status = serde_json::json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
    jobs.patch(
        "berth-pool-zoom-003-e5",
        &Default::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await
    .unwrap();
    let listed = k.list().await.unwrap();
    assert_eq!(
        listed[0].state,
        WorkloadState::Succeeded,
        "{}",
        listed[0].raw_status
    );

    k.stop(&s).await.unwrap();
    assert!(gone(&jobs, "berth-pool-zoom-003-e5").await);
    k.stop(&s).await.expect("stopping nothing is success");
    k.delete_resource(&s).await.unwrap();
    assert!(gone(&kube_api::<ConfigMap>(&kmock), &identity).await);

    let mut kmock = kmock;
    kmock.kill().await;
    assert_eq!(k.health().await, Health::Down);
}

#[tokio::test]
async fn kubernetes_breaker_opens_when_the_api_goes_and_closes_once_it_is_back() {
    // Issue 11, item 12: the breaker opened and never closed, because the
    // health check went through the breaker's fail-fast path instead of
    // probing. Real threshold and cool-down; the cool-down on a manual clock.
    let mut kmock = emulators::kmock(&["berth"]).await;
    let port = kmock.port;
    let clock = ManualClock::starting_now();
    let k = kube_on(&kmock).with_clock(clock.clone());
    assert_eq!(k.health().await, Health::Healthy);
    assert_eq!(k.unavailable(), None);

    kmock.kill().await;
    for _ in 0..Policy::default().breaker_threshold {
        let err = k.list().await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient, "{err}");
    }
    let why = k.unavailable().expect("five failed calls open the breaker");
    assert!(why.contains("5 consecutive failed calls"), "{why}");
    assert_eq!(k.list().await.unwrap_err().kind, FailureKind::CircuitOpen);
    assert_eq!(k.health().await, Health::Down);

    // The API server comes back where it was. During the cool-down the
    // breaker stays open (the check does not reach the API)...
    let _kmock = emulators::kmock_at(port, &["berth"]).await;
    assert_eq!(k.health().await, Health::Down);
    assert!(k.unavailable().is_some());
    // ...after it, one health check probes, succeeds and closes it.
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(k.health().await, Health::Healthy);
    assert_eq!(k.unavailable(), None, "the breaker closed");
    k.list().await.expect("calls go through again");
}

#[tokio::test]
async fn ecs_breaker_opens_when_the_api_goes_and_closes_once_it_is_back() {
    // Issue 11, item 12, for ECS on moto.
    let (mut moto, ecs, _) = moto_ecs().await;
    let port = moto.port;
    let clock = ManualClock::starting_now();
    let ecs = ecs.with_clock(clock.clone());
    assert_eq!(ecs.health().await, Health::Healthy);

    moto.kill().await;
    for _ in 0..Policy::default().breaker_threshold {
        let err = ecs.list().await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Transient, "{err}");
    }
    let why = ecs
        .unavailable()
        .expect("five failed calls open the breaker");
    assert!(why.contains("5 consecutive failed calls"), "{why}");
    assert_eq!(ecs.health().await, Health::Down);

    // moto comes back where it was, without its state: the cluster is
    // created again behind the adapter's back (the SDK client directly).
    let _moto = emulators::moto_at(port).await;
    ecs.client()
        .create_cluster()
        .cluster_name("bots")
        .send()
        .await
        .expect("cluster created again");
    assert_eq!(ecs.health().await, Health::Down, "still cooling down");
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(ecs.health().await, Health::Healthy);
    assert_eq!(ecs.unavailable(), None, "the breaker closed");
    ecs.list().await.expect("calls go through again");
}

#[tokio::test]
async fn kubernetes_a_late_start_of_an_older_lease_runs_apart_and_its_stop_spares_the_newer_one() {
    // Issue 11, item 18, on Kubernetes: each lease is its own Job.
    let kmock = emulators::kmock(&["berth"]).await;
    let k = kube_on(&kmock);
    let mut newer = slot_ref(4, 2);
    newer.platform_ref = Some(k.create_resource(&newer, &made_of()).await.unwrap());
    let older = SlotRef {
        epoch: 1,
        ..newer.clone()
    };
    k.start(&newer, &spec(22)).await.unwrap();
    k.start(&older, &spec(11)).await.unwrap();
    k.stop(&older).await.unwrap();
    let jobs: kube::Api<Job> = kube_api(&kmock);
    assert!(gone(&jobs, "berth-pool-zoom-004-e1").await);
    assert!(
        !gone(&jobs, "berth-pool-zoom-004-e2").await,
        "the newer Job runs on"
    );
    let listed = k.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].bot_id, listed[0].epoch), (Some(22), Some(2)));
}

#[tokio::test]
async fn ecs_a_late_start_of_an_older_lease_runs_apart_and_its_stop_spares_the_newer_one() {
    // Issue 11, item 18, on ECS: each lease is its own task.
    let (_moto, ecs, _) = moto_ecs().await;
    let newer = slot_ref(4, 2);
    let older = slot_ref(4, 1);
    let b = ecs.start(&newer, &spec(22)).await.unwrap().unwrap();
    let a = ecs.start(&older, &spec(11)).await.unwrap().unwrap();
    assert_ne!(a, b);
    // The late deploy stops what it started, by its own task.
    let mut stale = older.clone();
    stale.platform_ref = Some(a.clone());
    ecs.stop(&stale).await.unwrap();
    let listed = ecs.list().await.unwrap();
    let state = |arn: &str| listed.iter().find(|w| w.resource == arn).unwrap().state;
    assert_ne!(state(&a), WorkloadState::Running);
    assert_eq!(state(&b), WorkloadState::Running, "the newer task runs on");
}

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
            CoolifyConfig {
                api_url: coolify_api.uri(),
                project_uuid: "proj-1".into(),
                server_uuid: "srv-1".into(),
                destination_uuid: None,
                environment_name: Some("production".into()),
                environment_uuid: None,
                token_source: TokenSource::Env,
                app_prefix: DEFAULT_COOLIFY_APP_PREFIX.into(),
            },
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

/// A scripted ECS endpoint (JSON 1.1 protocol over HTTP/1.1 keep-alive):
/// moto returns ListTasks in one page and takes any number of tasks per
/// DescribeTasks, so the page loop and the batches of 100 are proven here,
/// against replies shaped as ECS sends them. Records (target, request body).
async fn scripted_ecs(
    running: usize,
) -> (
    String,
    Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let arn = |i: usize| format!("arn:aws:ecs:us-east-1:123456789012:task/bots/{i:032x}");
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                loop {
                    let (mut target, mut len) = (String::new(), 0usize);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let (k, v) = line.split_once(':').unwrap_or((line, ""));
                        match k.to_ascii_lowercase().as_str() {
                            "x-amz-target" => target = v.trim().to_string(),
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).await.unwrap();
                    let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    log.lock().unwrap().push((target.clone(), req.clone()));
                    let reply = if target.ends_with(".ListTasks") {
                        if req["desiredStatus"] == "STOPPED" {
                            serde_json::json!({"taskArns": []})
                        } else {
                            let from: usize = req["nextToken"]
                                .as_str()
                                .map(|t| t.parse().unwrap())
                                .unwrap_or(0);
                            let to = (from + 100).min(running);
                            let mut page = serde_json::json!({
                                "taskArns": (from..to).map(arn).collect::<Vec<_>>()
                            });
                            if to < running {
                                page["nextToken"] = to.to_string().into();
                            }
                            page
                        }
                    } else {
                        let tasks: Vec<_> = req["tasks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|a| {
                                serde_json::json!({
                                    "taskArn": a, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                                    "tags": [{"key": "berth:managed-by", "value": "berth"},
                                             {"key": "berth:epoch", "value": "1"}],
                                    "containers": []
                                })
                            })
                            .collect();
                        serde_json::json!({"tasks": tasks, "failures": []})
                    };
                    let text = reply.to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                        text.len()
                    );
                    let sock = r.get_mut();
                    sock.write_all(head.as_bytes()).await.unwrap();
                    sock.write_all(text.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn ecs_list_follows_next_tokens_and_describes_in_batches_of_100() {
    let (url, seen) = scripted_ecs(250).await;
    let get = lookup(vec![
        ("ECS_REGION", "us-east-1".into()),
        ("ECS_CLUSTER", "bots".into()),
        ("ECS_SUBNETS", "subnet-1".into()),
        ("ECS_TASK_DEFINITION", "bot".into()),
        ("ECS_ENDPOINT_URL", url),
    ]);
    let creds = Credentials::new("AKIDBERTHTEST", SECRET, None, None, "test");
    let ecs = EcsPlatform::connect(EcsSettings::parse(&get).unwrap(), Some(creds), fast()).await;
    let listed = ecs.list().await.unwrap();
    assert_eq!(listed.len(), 250);
    assert!(listed
        .iter()
        .all(|w| w.state == WorkloadState::Running && w.epoch == Some(1)));

    let seen = seen.lock().unwrap().clone();
    let running_pages: Vec<_> = seen
        .iter()
        .filter(|(t, r)| t.ends_with(".ListTasks") && r["desiredStatus"] == "RUNNING")
        .map(|(_, r)| r["nextToken"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        running_pages,
        [None, Some("100".to_string()), Some("200".to_string())],
        "every page requested with the previous page's token"
    );
    let batches: Vec<usize> = seen
        .iter()
        .filter(|(t, _)| t.ends_with(".DescribeTasks"))
        .map(|(_, r)| r["tasks"].as_array().unwrap().len())
        .collect();
    assert_eq!(batches, [100, 100, 50]);
}
