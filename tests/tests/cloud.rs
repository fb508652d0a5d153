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
//!
//! One test binary, its tests in a module by domain (`cloud/*.rs`); the
//! fixtures they share are here.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
use berth_core::clock::ManualClock;
use berth_core::config::DEFAULT_COOLIFY_APP_PREFIX;
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::call::Policy;
use berth_core::platform::coolify::CoolifyPlatform;
use berth_core::platform::ecs::{Credentials, EcsPlatform, EcsSettings};
use berth_core::platform::kube::{KubePlatform, KubeSettings};
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

#[path = "cloud/breakers.rs"]
mod breakers;
#[path = "cloud/ecs.rs"]
mod ecs;
#[path = "cloud/ecs_paging.rs"]
mod ecs_paging;
#[path = "cloud/hybrid.rs"]
mod hybrid;
#[path = "cloud/kubernetes.rs"]
mod kubernetes;
#[path = "cloud/stale_leases.rs"]
mod stale_leases;
#[path = "cloud/start_up.rs"]
mod start_up;
