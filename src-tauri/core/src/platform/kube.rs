//! Kubernetes adapter: a Job per assignment, through `kube` + `k8s-openapi`.
//!
//! Model: a slot's resource is a **ConfigMap** named by the slot's identity
//! (`berth-<slot>`). A slot runs nothing between assignments, so there is
//! no long-lived workload to point at; the ConfigMap gives the slot a place
//! in the cluster that operators can see (`kubectl get cm -l
//! app.kubernetes.io/managed-by=berth`), holds its description (annotation
//! `berth.dev/description`, reference 003 formats) across assignments, costs
//! nothing on the nodes, and gives `delete_resource` something real to
//! delete. Its name is the slot's `platform_ref`.
//!
//! Each assignment runs a Job named from the slot identity and the lease
//! epoch (`berth-<slot>-e<epoch>`, a DNS-1123 label ≤ 63 characters), so a
//! retried start collides (409) and adopts instead of running twice.
//! `backoffLimit: 0` (a bot that crashed is not re-run into a meeting),
//! `ttlSecondsAfterFinished` cleans finished Jobs up, stop deletes the Job
//! with background propagation (its pod goes with it).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EmptyDirVolumeSource, EnvVar, LocalObjectReference, PodSpec,
    PodTemplateSpec, ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};

use super::call::{Caller, Fault, Policy};
use super::naming;
use super::{
    BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload, WorkloadState,
};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

/// Label keys Berth puts on its objects.
pub mod labels {
    /// Owner marker; value `berth`.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// The slot's pool.
    pub const POOL: &str = "berth.dev/pool";
    /// The slot identity (= the ConfigMap's name = `platform_ref`).
    pub const SLOT: &str = "berth.dev/slot";
    /// The bot's id.
    pub const BOT: &str = "berth.dev/bot";
    /// The lease epoch.
    pub const EPOCH: &str = "berth.dev/epoch";
    /// Annotation holding the slot description.
    pub const DESCRIPTION: &str = "berth.dev/description";
}

/// Where the client configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeSource {
    /// The service account of the pod Berth runs in (`K8S_IN_CLUSTER=true`).
    InCluster,
    /// A kubeconfig file (`K8S_KUBECONFIG`), optionally a context in it.
    File {
        /// Path of the kubeconfig.
        path: String,
        /// Context name (`K8S_CONTEXT`); `None`: the current context.
        context: Option<String>,
    },
    /// `KUBECONFIG` / `~/.kube/config`, else in-cluster (kube's inference);
    /// with a context name when `K8S_CONTEXT` is set.
    Infer {
        /// Context name.
        context: Option<String>,
    },
}

/// Kubernetes configuration (environment variables `K8S_*`, see README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Client configuration source.
    pub source: KubeSource,
    /// Namespace of the Jobs and ConfigMaps (`K8S_NAMESPACE`, default `berth`).
    pub namespace: String,
    /// Registry prefixed to the pool image (`K8S_IMAGE_REGISTRY`).
    pub image_registry: Option<String>,
    /// Tag replacing the pool image's (`K8S_IMAGE_TAG`).
    pub image_tag: Option<String>,
    /// CPU request / limit (`K8S_CPU_REQUEST`, `K8S_CPU_LIMIT`).
    pub cpu_request: String,
    /// CPU limit.
    pub cpu_limit: String,
    /// Memory request / limit (`K8S_MEMORY_REQUEST`, `K8S_MEMORY_LIMIT`).
    pub memory_request: String,
    /// Memory limit.
    pub memory_limit: String,
    /// Size of the in-memory `/dev/shm` (`K8S_SHM_SIZE`).
    pub shm_size: String,
    /// Image pull secrets (`K8S_IMAGE_PULL_SECRETS`, comma-separated).
    pub pull_secrets: Vec<String>,
    /// Seconds a finished Job is kept (`K8S_JOB_TTL_SECONDS`).
    pub ttl_seconds: i32,
}

use crate::config::var::{flag, text as set};

fn invalid(var: &str, message: impl Into<String>) -> Error {
    Error::config(ErrorCode::ConfigInvalid, var, message)
}

/// A Kubernetes quantity: digits (with an optional fraction) and a known suffix.
fn quantity(get: &dyn Fn(&str) -> Option<String>, var: &str, default: &str) -> Result<String> {
    let Some(v) = set(get, var) else {
        return Ok(default.to_string());
    };
    if crate::quantity::is_valid(&v) {
        Ok(v)
    } else {
        Err(invalid(
            var,
            format!(
                "must be a positive Kubernetes quantity such as 500m, 2, 512Mi or 1Gi, got {v:?}"
            ),
        ))
    }
}

impl KubeSettings {
    /// Reads the Kubernetes configuration; every error names its variable.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let in_cluster = flag(get, "K8S_IN_CLUSTER")?.unwrap_or(false);
        let context = set(get, "K8S_CONTEXT");
        let source = match (in_cluster, set(get, "K8S_KUBECONFIG")) {
            (true, Some(_)) => {
                return Err(invalid(
                    "K8S_IN_CLUSTER",
                    "is true but K8S_KUBECONFIG is set too; choose one",
                ))
            }
            (true, None) if context.is_some() => {
                return Err(invalid(
                    "K8S_CONTEXT",
                    "has no meaning with K8S_IN_CLUSTER=true",
                ))
            }
            (true, None) => KubeSource::InCluster,
            (false, Some(path)) => KubeSource::File { path, context },
            (false, None) => KubeSource::Infer { context },
        };
        let namespace = set(get, "K8S_NAMESPACE").unwrap_or_else(|| "berth".into());
        if naming::dns_label(&namespace, 63) != namespace {
            return Err(invalid(
                "K8S_NAMESPACE",
                format!("{namespace:?} is not a valid namespace name (lowercase letters, digits and '-')"),
            ));
        }
        let pull_secrets = match set(get, "K8S_IMAGE_PULL_SECRETS") {
            None => Vec::new(),
            Some(raw) => {
                let items: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).collect();
                if items.iter().any(String::is_empty) {
                    return Err(invalid(
                        "K8S_IMAGE_PULL_SECRETS",
                        format!("has an empty entry in {raw:?}"),
                    ));
                }
                items
            }
        };
        let ttl_seconds = match set(get, "K8S_JOB_TTL_SECONDS") {
            None => 300,
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=604_800).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "K8S_JOB_TTL_SECONDS",
                        format!("must be a whole number of seconds from 0 to 604800, got {v:?}"),
                    )
                })?,
        };
        Ok(KubeSettings {
            source,
            namespace,
            image_registry: set(get, "K8S_IMAGE_REGISTRY")
                .map(|r| r.trim_end_matches('/').to_string()),
            image_tag: set(get, "K8S_IMAGE_TAG"),
            cpu_request: quantity(get, "K8S_CPU_REQUEST", "500m")?,
            cpu_limit: quantity(get, "K8S_CPU_LIMIT", "2")?,
            memory_request: quantity(get, "K8S_MEMORY_REQUEST", "1Gi")?,
            memory_limit: quantity(get, "K8S_MEMORY_LIMIT", "2Gi")?,
            shm_size: quantity(get, "K8S_SHM_SIZE", "1Gi")?,
            pull_secrets,
            ttl_seconds,
        })
    }

    /// The image to run for a pool image (`registry/name:tag`).
    pub fn image(&self, pool_image: &str) -> String {
        let mut image = pool_image.to_string();
        if let Some(tag) = &self.image_tag {
            // The tag is after the last ':' that follows the last '/'.
            let name_start = image.rfind('/').map_or(0, |i| i + 1);
            if let Some(colon) = image[name_start..].rfind(':') {
                image.truncate(name_start + colon);
            }
            image = format!("{image}:{tag}");
        }
        match &self.image_registry {
            Some(r) => format!("{r}/{image}"),
            None => image,
        }
    }

    /// Builds a client configuration from the source.
    pub async fn client_config(&self) -> Result<kube::Config> {
        let fail = |var: &str, e: &dyn std::fmt::Display| {
            Error::config(
                ErrorCode::ConfigMissing,
                var,
                format!("no usable Kubernetes client configuration: {e}"),
            )
        };
        match &self.source {
            KubeSource::InCluster => {
                kube::Config::incluster().map_err(|e| fail("K8S_IN_CLUSTER", &e))
            }
            KubeSource::File { path, context } => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| fail("K8S_KUBECONFIG", &e))?;
                let opts = kube::config::KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kc, &opts)
                    .await
                    .map_err(|e| fail("K8S_KUBECONFIG", &e))
            }
            KubeSource::Infer { context: Some(c) } => {
                let opts = kube::config::KubeConfigOptions {
                    context: Some(c.clone()),
                    ..Default::default()
                };
                kube::Config::from_kubeconfig(&opts)
                    .await
                    .map_err(|e| fail("K8S_CONTEXT", &e))
            }
            KubeSource::Infer { context: None } => kube::Config::infer()
                .await
                .map_err(|e| fail("K8S_KUBECONFIG", &e)),
        }
    }
}

/// The Kubernetes adapter.
pub struct KubePlatform {
    client: kube::Client,
    settings: KubeSettings,
    caller: Arc<Caller>,
}

/// Maps a kube error onto a [`Fault`] by HTTP status (emulators and proxies
/// use non-standard reasons; the code is what can be trusted).
pub fn fault(e: kube::Error) -> Fault {
    match e {
        kube::Error::Api(s) => {
            let message = format!("HTTP {} {}: {}", s.code, s.reason, s.message);
            // The API server's Retry-After also comes in the Status body.
            let retry_after = s
                .details
                .as_ref()
                .map(|d| d.retry_after_seconds)
                .filter(|n| *n > 0)
                .map(|n| std::time::Duration::from_secs(n.into()));
            match s.code {
                429 | 500..=599 => Fault::Transient {
                    message,
                    retry_after,
                },
                401 => Fault::Unauthenticated(message),
                403 => Fault::Forbidden(message),
                404 => Fault::NotFound(message),
                409 => Fault::Conflict(message),
                _ => Fault::Rejected(message),
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => Fault::Transient {
            message: format!("connection failed: {e}"),
            retry_after: None,
        },
        // Credentials could not be obtained (token file, exec plugin).
        kube::Error::Auth(_) => Fault::Unauthenticated(e.to_string()),
        other => Fault::Rejected(other.to_string()),
    }
}

fn meta(name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(labels),
        ..Default::default()
    }
}

fn owner_labels(slot: &SlotRef) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.to_string(), "berth".to_string()),
        (labels::POOL.to_string(), naming::dns_label(&slot.pool, 63)),
        (
            labels::SLOT.to_string(),
            naming::slot_identity(&slot.slot_name),
        ),
    ])
}

/// Maps a Job's status to a [`WorkloadState`] and a raw status text.
pub fn job_state(job: &Job) -> (WorkloadState, String) {
    let Some(st) = &job.status else {
        return (WorkloadState::Running, "pending (no status yet)".into());
    };
    let conditions: Vec<&str> = st
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.status == "True")
        .map(|c| c.type_.as_str())
        .collect();
    let raw = format!(
        "active={} succeeded={} failed={} conditions={conditions:?}",
        st.active.unwrap_or(0),
        st.succeeded.unwrap_or(0),
        st.failed.unwrap_or(0),
    );
    let state = if conditions.contains(&"Complete") || st.succeeded.unwrap_or(0) > 0 {
        WorkloadState::Succeeded
    } else if conditions.contains(&"Failed") || st.failed.unwrap_or(0) > 0 {
        WorkloadState::Failed
    } else if conditions.contains(&"Suspended") {
        WorkloadState::Stopped
    } else {
        WorkloadState::Running
    };
    (state, raw)
}

impl KubePlatform {
    /// An adapter on `client` (built from [`KubeSettings::client_config`],
    /// or a mock service in tests).
    pub fn new(client: kube::Client, settings: KubeSettings, policy: Policy) -> Self {
        KubePlatform {
            client,
            settings,
            caller: Arc::new(Caller::new(PlatformKind::K8s, policy)),
        }
    }

    /// The same adapter with its breaker's cool-down on `clock` (the
    /// instance's clock; a manual one in tests).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        let policy = self.caller.policy().clone();
        self.caller = Arc::new(Caller::with_clock(PlatformKind::K8s, policy, clock));
        self
    }

    /// The shared call machinery (breaker state, budget).
    pub fn caller(&self) -> &Arc<Caller> {
        &self.caller
    }

    /// Connects with the settings' client configuration.
    pub async fn connect(settings: KubeSettings, policy: Policy) -> Result<Self> {
        let config = settings.client_config().await?;
        let client = kube::Client::try_from(config).map_err(|e| {
            Error::config(
                ErrorCode::ConfigInvalid,
                "K8S_KUBECONFIG",
                format!("Kubernetes client not built: {e}"),
            )
        })?;
        Ok(Self::new(client, settings, policy))
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }

    /// The Job of one assignment, as it is sent.
    pub fn job(&self, slot: &SlotRef, bot: &BotSpec) -> Job {
        let mut labels = owner_labels(slot);
        labels.insert(labels::SLOT.into(), Self::identity(slot));
        labels.insert(labels::BOT.into(), bot.bot_id.to_string());
        labels.insert(labels::EPOCH.into(), slot.epoch.to_string());
        let q = |s: &str| Quantity(s.to_string());
        let wanted = &bot.resources;
        let cpu_request = wanted.cpu.as_deref().unwrap_or(&self.settings.cpu_request);
        let memory_request = wanted
            .memory
            .as_deref()
            .unwrap_or(&self.settings.memory_request);
        let memory_limit = wanted
            .memory
            .as_deref()
            .unwrap_or(&self.settings.memory_limit);
        let shm_size = wanted
            .shm_size
            .as_deref()
            .unwrap_or(&self.settings.shm_size);
        let env = super::bot_env(slot, bot)
            .into_iter()
            .map(|(name, value)| EnvVar {
                name,
                value: Some(value),
                ..Default::default()
            })
            .collect();
        Job {
            metadata: meta(&Self::job_name(slot), labels.clone()),
            spec: Some(JobSpec {
                backoff_limit: Some(0),
                ttl_seconds_after_finished: Some(self.settings.ttl_seconds),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        image_pull_secrets: (!self.settings.pull_secrets.is_empty()).then(|| {
                            self.settings
                                .pull_secrets
                                .iter()
                                .map(|n| LocalObjectReference { name: n.clone() })
                                .collect()
                        }),
                        containers: vec![Container {
                            name: "bot".into(),
                            image: Some(self.settings.image(&bot.image)),
                            env: Some(env),
                            // The pool definition's requests win over the
                            // platform's defaults. A memory request from the
                            // definition is also the limit (a limit below the
                            // request would be refused by the API server).
                            resources: Some(ResourceRequirements {
                                requests: Some(BTreeMap::from([
                                    ("cpu".into(), q(cpu_request)),
                                    ("memory".into(), q(memory_request)),
                                ])),
                                limits: Some(BTreeMap::from([
                                    ("cpu".into(), q(&self.settings.cpu_limit)),
                                    ("memory".into(), q(memory_limit)),
                                ])),
                                ..Default::default()
                            }),
                            volume_mounts: Some(vec![VolumeMount {
                                name: "dshm".into(),
                                mount_path: "/dev/shm".into(),
                                ..Default::default()
                            }]),
                            ..Default::default()
                        }],
                        volumes: Some(vec![Volume {
                            name: "dshm".into(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                medium: Some("Memory".into()),
                                size_limit: Some(q(shm_size)),
                            }),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
    }

    fn identity(slot: &SlotRef) -> String {
        slot.platform_ref
            .clone()
            .unwrap_or_else(|| naming::slot_identity(&slot.slot_name))
    }

    /// The Job name of a slot's assignment. Jobs are named from the slot
    /// identity (the `platform_ref`, also what orphans are listed under).
    fn job_name(slot: &SlotRef) -> String {
        format!("{}-e{}", Self::identity(slot), slot.epoch)
    }
}

#[async_trait::async_trait]
impl Platform for KubePlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::K8s
    }

    /// Nodes pull images when a pod starts; nothing to do ahead.
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    async fn create_resource(
        &self,
        slot: &SlotRef,
        _spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        let name = naming::slot_identity(&slot.slot_name);
        let cm = ConfigMap {
            metadata: meta(&name, owner_labels(slot)),
            ..Default::default()
        };
        let api = self.config_maps();
        self.caller
            .run("create_resource", Some(&slot.slot_name), || async {
                match api.create(&PostParams::default(), &cm).await.map_err(fault) {
                    // Already there (a retry, or pre-warmed before): adopt it.
                    Ok(_) | Err(Fault::Conflict(_)) => Ok(()),
                    Err(f) => Err(f),
                }
            })
            .await?;
        Ok(name)
    }

    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        let job = self.job(slot, bot);
        let api = self.jobs();
        self.caller
            .run("start", Some(&slot.slot_name), || async {
                match api
                    .create(&PostParams::default(), &job)
                    .await
                    .map_err(fault)
                {
                    // Same slot and epoch: this assignment's Job already runs.
                    Ok(_) | Err(Fault::Conflict(_)) => Ok(()),
                    Err(f) => Err(f),
                }
            })
            .await?;
        Ok(None)
    }

    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let name = Self::job_name(slot);
        let api = self.jobs();
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        self.caller
            .run("stop", Some(&slot.slot_name), || async {
                match api.delete(&name, &dp).await.map_err(fault) {
                    Ok(_) | Err(Fault::NotFound(_)) => Ok(()),
                    Err(f) => Err(f),
                }
            })
            .await
    }

    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        self.stop(slot).await?;
        let name = Self::identity(slot);
        let api = self.config_maps();
        self.caller
            .run("delete_resource", Some(&slot.slot_name), || async {
                match api
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map_err(fault)
                {
                    Ok(_) | Err(Fault::NotFound(_)) => Ok(()),
                    Err(f) => Err(f),
                }
            })
            .await
    }

    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        let name = Self::identity(slot);
        let patch = serde_json::json!({
            "metadata": { "annotations": { labels::DESCRIPTION: description } }
        });
        let api = self.config_maps();
        self.caller
            .run("describe", Some(&slot.slot_name), || async {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
                    .map_err(fault)
            })
            .await
    }

    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        let api = self.jobs();
        let selector = format!("{}=berth", labels::MANAGED_BY);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().labels(&selector).limit(200);
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = self
                .caller
                .run("list", None, || async {
                    api.list(&lp).await.map_err(fault)
                })
                .await?;
            for job in &page.items {
                let labels = job.metadata.labels.clone().unwrap_or_default();
                // The selector is also applied here: kmock (and any proxy
                // that drops query parameters) ignores label selectors.
                if labels.get(labels::MANAGED_BY).map(String::as_str) != Some("berth") {
                    continue;
                }
                let Some(slot) = labels.get(labels::SLOT) else {
                    continue;
                };
                let (state, raw_status) = job_state(job);
                out.push(Workload {
                    resource: slot.clone(),
                    bot_id: labels.get(labels::BOT).and_then(|v| v.parse().ok()),
                    epoch: labels.get(labels::EPOCH).and_then(|v| v.parse().ok()),
                    state,
                    raw_status,
                });
            }
            match page.metadata.continue_.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        // Several Jobs of one slot (an old epoch not yet cleaned up): the
        // newest comes last, so a lookup by slot keeps the current one.
        out.sort_by(|a, b| (&a.resource, a.epoch).cmp(&(&b.resource, b.epoch)));
        Ok(out)
    }

    /// Healthy when the API server answers `/version` and Jobs in the
    /// namespace can be listed (credentials and permissions work there).
    /// One probe through the breaker: while it is open and cooling down the
    /// API is not called; after the cool-down a success closes it.
    async fn health(&self) -> Health {
        let client = self.client.clone();
        let api = self.jobs();
        let probed = self
            .caller
            .probe("health", || async {
                client.apiserver_version().await.map_err(fault)?;
                api.list(&ListParams::default().limit(1))
                    .await
                    .map_err(fault)?;
                Ok(())
            })
            .await;
        match probed {
            Ok(()) => Health::Healthy,
            Err(e) => {
                tracing::debug!(platform = "k8s", kind = ?e.kind, error = %e.message, "health check failed");
                Health::Down
            }
        }
    }

    fn unavailable(&self) -> Option<String> {
        self.caller.breaker_reason()
    }
}

#[cfg(test)]
mod tests {
    //! Request shapes against a mock tower service (`tower_test::mock::pair`,
    //! kube's documented unit-test approach): no API server runs here; the
    //! behaviour against a stateful one is tested with kmock in
    //! `tests/tests/cloud.rs`.
    use super::*;
    use crate::meeting::MeetingPlatform;
    use http::{Request, Response};
    use kube::client::Body;
    use std::collections::HashMap;

    fn settings(env: &[(&str, &str)]) -> Result<KubeSettings> {
        let vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        KubeSettings::parse(&|k| vars.get(k).cloned())
    }

    fn slot() -> SlotRef {
        SlotRef {
            slot_id: 1,
            slot_name: "pool-zoom-001".into(),
            pool: "zoom".into(),
            epoch: 7,
            platform_ref: Some("berth-pool-zoom-001".into()),
        }
    }

    fn bot() -> BotSpec {
        BotSpec {
            bot_id: 42,
            meeting_platform: MeetingPlatform::Zoom,
            meeting_url: "https://zoom.example/j/1".into(),
            image: "bots/zoom:1.0".into(),
            resources: Default::default(),
            account: None,
            token: crate::bot_lease::BotToken::generate(),
        }
    }

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    fn platform(env: &[(&str, &str)]) -> (KubePlatform, Handle) {
        let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(svc, "default");
        let policy = Policy {
            max_attempts: 1,
            ..Policy::default()
        };
        (
            KubePlatform::new(client, settings(env).unwrap(), policy),
            handle,
        )
    }

    async fn next(
        handle: &mut Handle,
    ) -> (
        http::Method,
        String,
        serde_json::Value,
        tower_test::mock::SendResponse<Response<Body>>,
    ) {
        let (req, send) = handle.next_request().await.expect("a request");
        let method = req.method().clone();
        let uri = req.uri().to_string();
        let bytes = req.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (method, uri, body, send)
    }

    fn reply(
        send: tower_test::mock::SendResponse<Response<Body>>,
        code: u16,
        body: serde_json::Value,
    ) {
        send.send_response(
            Response::builder()
                .status(code)
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap(),
        );
    }

    #[tokio::test]
    async fn start_sends_one_job_per_assignment_with_its_limits_and_configuration() {
        let (p, mut handle) = platform(&[
            ("K8S_NAMESPACE", "bots"),
            ("K8S_IMAGE_REGISTRY", "registry.example/"),
            ("K8S_IMAGE_TAG", "2.0"),
            ("K8S_CPU_REQUEST", "250m"),
            ("K8S_MEMORY_LIMIT", "3Gi"),
            ("K8S_SHM_SIZE", "512Mi"),
            ("K8S_IMAGE_PULL_SECRETS", "regcred, other"),
            ("K8S_JOB_TTL_SECONDS", "60"),
        ]);
        let server = tokio::spawn(async move {
            let (method, uri, body, send) = next(&mut handle).await;
            reply(send, 201, body.clone());
            (method, uri, body)
        });
        assert_eq!(p.start(&slot(), &bot()).await.unwrap(), None);
        let (method, uri, job) = server.await.unwrap();
        assert_eq!(method, http::Method::POST);
        assert_eq!(uri, "/apis/batch/v1/namespaces/bots/jobs?");
        assert_eq!(job["metadata"]["name"], "berth-pool-zoom-001-e7");
        let labels = &job["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "berth");
        assert_eq!(labels["berth.dev/pool"], "zoom");
        assert_eq!(labels["berth.dev/slot"], "berth-pool-zoom-001");
        assert_eq!(labels["berth.dev/bot"], "42");
        assert_eq!(labels["berth.dev/epoch"], "7");
        let spec = &job["spec"];
        assert_eq!(spec["backoffLimit"], 0);
        assert_eq!(spec["ttlSecondsAfterFinished"], 60);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(
            pod["imagePullSecrets"],
            serde_json::json!([{"name": "regcred"}, {"name": "other"}])
        );
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "registry.example/bots/zoom:2.0");
        assert_eq!(c["resources"]["requests"]["cpu"], "250m");
        assert_eq!(c["resources"]["requests"]["memory"], "1Gi");
        assert_eq!(c["resources"]["limits"]["cpu"], "2");
        assert_eq!(c["resources"]["limits"]["memory"], "3Gi");
        assert_eq!(c["volumeMounts"][0]["mountPath"], "/dev/shm");
        assert_eq!(
            pod["volumes"][0]["emptyDir"],
            serde_json::json!({"medium": "Memory", "sizeLimit": "512Mi"})
        );
        let env: HashMap<String, String> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(env["BERTH_BOT_ID"], "42");
        assert_eq!(env["BERTH_MEETING_URL"], "https://zoom.example/j/1");
        assert_eq!(env["BERTH_MEETING_PLATFORM"], "zoom");
        assert_eq!(env["BERTH_EPOCH"], "7");
        assert!(crate::bot_lease::token::well_formed(
            &env["BERTH_BOT_TOKEN"]
        ));
    }

    #[tokio::test]
    async fn the_pool_definitions_resources_win_over_the_platform_defaults() {
        let (p, _handle) = platform(&[
            ("K8S_CPU_REQUEST", "250m"),
            ("K8S_MEMORY_LIMIT", "3Gi"),
            ("K8S_SHM_SIZE", "512Mi"),
        ]);
        let mut spec = bot();
        spec.resources = crate::definition::Resources {
            cpu: Some("750m".into()),
            memory: Some("4Gi".into()),
            shm_size: Some("2Gi".into()),
        };
        let job = serde_json::to_value(p.job(&slot(), &spec)).unwrap();
        let pod = &job["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["resources"]["requests"]["cpu"], "750m");
        assert_eq!(c["resources"]["requests"]["memory"], "4Gi");
        assert_eq!(c["resources"]["limits"]["memory"], "4Gi");
        assert_eq!(c["resources"]["limits"]["cpu"], "2");
        assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "2Gi");
        // Only memory given: the rest stays the platform's.
        spec.resources = crate::definition::Resources {
            memory: Some("1536Mi".into()),
            ..Default::default()
        };
        let job = serde_json::to_value(p.job(&slot(), &spec)).unwrap();
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["resources"]["requests"]["cpu"], "250m");
        assert_eq!(
            pod["containers"][0]["resources"]["limits"]["memory"],
            "1536Mi"
        );
        assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "512Mi");
    }

    #[tokio::test]
    async fn a_retried_start_adopts_the_existing_job() {
        let (p, mut handle) = platform(&[]);
        let server = tokio::spawn(async move {
            let (_, _, _, send) = next(&mut handle).await;
            reply(
                send,
                409,
                serde_json::json!({"kind": "Status", "status": "Failure", "code": 409, "reason": "AlreadyExists", "message": "exists"}),
            );
        });
        p.start(&slot(), &bot())
            .await
            .expect("409 on start is adoption");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn stop_deletes_the_job_with_background_propagation_and_a_missing_job_is_done() {
        let (p, mut handle) = platform(&[]);
        let server = tokio::spawn(async move {
            let (method, uri, body, send) = next(&mut handle).await;
            reply(
                send,
                404,
                serde_json::json!({"kind": "Status", "status": "Failure", "code": 404, "reason": "Object Not Found", "message": "gone"}),
            );
            (method, uri, body)
        });
        p.stop(&slot())
            .await
            .expect("a missing job counts as stopped");
        let (method, uri, body) = server.await.unwrap();
        assert_eq!(method, http::Method::DELETE);
        assert_eq!(
            uri,
            "/apis/batch/v1/namespaces/berth/jobs/berth-pool-zoom-001-e7?"
        );
        assert_eq!(body["propagationPolicy"], "Background");
    }

    #[tokio::test]
    async fn errors_map_by_http_status() {
        for (code, kind) in [
            (401, crate::platform::FailureKind::Unauthenticated),
            (403, crate::platform::FailureKind::Forbidden),
            (422, crate::platform::FailureKind::Rejected),
            (503, crate::platform::FailureKind::Transient),
        ] {
            let (p, mut handle) = platform(&[]);
            let server = tokio::spawn(async move {
                let (_, _, _, send) = next(&mut handle).await;
                reply(
                    send,
                    code,
                    serde_json::json!({"kind": "Status", "status": "Failure", "code": code, "reason": "Nonstandard", "message": "no"}),
                );
            });
            let err = p.start(&slot(), &bot()).await.unwrap_err();
            assert_eq!(err.kind, kind, "HTTP {code}");
            server.await.unwrap();
        }
    }

    #[tokio::test]
    async fn list_selects_on_the_server_and_follows_continue_tokens() {
        let (p, mut handle) = platform(&[]);
        let job = |name: &str, epoch: i64| {
            serde_json::json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "labels": {
                    "app.kubernetes.io/managed-by": "berth",
                    "berth.dev/slot": "berth-pool-zoom-001",
                    "berth.dev/epoch": epoch.to_string(),
                    "berth.dev/bot": "5"
                }},
                "status": {"active": 1}
            })
        };
        let (j2, j1) = (
            job("berth-pool-zoom-001-e2", 2),
            job("berth-pool-zoom-001-e1", 1),
        );
        let server = tokio::spawn(async move {
            let (_, first, _, send) = next(&mut handle).await;
            reply(
                send,
                200,
                serde_json::json!({"apiVersion": "batch/v1", "kind": "JobList",
                    "metadata": {"continue": "page-2"}, "items": [j2]}),
            );
            let (_, second, _, send) = next(&mut handle).await;
            reply(
                send,
                200,
                serde_json::json!({"apiVersion": "batch/v1", "kind": "JobList",
                    "metadata": {}, "items": [j1]}),
            );
            (first, second)
        });
        let listed = p.list().await.unwrap();
        let (first, second) = server.await.unwrap();
        assert!(
            first.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dberth")
                && first.contains("limit=200")
                && !first.contains("continue="),
            "{first}"
        );
        assert!(second.contains("continue=page-2"), "{second}");
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed.iter().map(|w| w.epoch).collect::<Vec<_>>(),
            [Some(1), Some(2)],
            "the newest assignment of a slot comes last"
        );
    }

    #[test]
    fn throttling_carries_the_servers_retry_after() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": 429, "reason": "TooManyRequests", "message": "slow down",
            "details": {"retryAfterSeconds": 3}
        }))
        .unwrap();
        assert_eq!(
            fault(kube::Error::Api(Box::new(status))),
            Fault::Transient {
                message: "HTTP 429 TooManyRequests: slow down".into(),
                retry_after: Some(std::time::Duration::from_secs(3)),
            }
        );
    }

    #[test]
    fn job_conditions_map_to_workload_states() {
        use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
        let job = |status: JobStatus| Job {
            status: Some(status),
            ..Default::default()
        };
        let cond = |t: &str| JobCondition {
            type_: t.into(),
            status: "True".into(),
            ..Default::default()
        };
        let done = job(JobStatus {
            conditions: Some(vec![cond("Complete")]),
            succeeded: Some(1),
            ..Default::default()
        });
        assert_eq!(job_state(&done).0, WorkloadState::Succeeded);
        let failed = job(JobStatus {
            conditions: Some(vec![cond("Failed")]),
            failed: Some(1),
            ..Default::default()
        });
        assert_eq!(job_state(&failed).0, WorkloadState::Failed);
        assert!(job_state(&failed).1.contains("Failed"));
        let running = job(JobStatus {
            active: Some(1),
            ..Default::default()
        });
        assert_eq!(job_state(&running).0, WorkloadState::Running);
        assert_eq!(job_state(&Job::default()).0, WorkloadState::Running);
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("K8S_CPU_LIMIT", "lots")], "K8S_CPU_LIMIT"),
            (&[("K8S_SHM_SIZE", "-1Gi")], "K8S_SHM_SIZE"),
            (&[("K8S_NAMESPACE", "Bad_NS")], "K8S_NAMESPACE"),
            (&[("K8S_JOB_TTL_SECONDS", "soon")], "K8S_JOB_TTL_SECONDS"),
            (
                &[("K8S_IMAGE_PULL_SECRETS", "a,,b")],
                "K8S_IMAGE_PULL_SECRETS",
            ),
            (&[("K8S_IN_CLUSTER", "maybe")], "K8S_IN_CLUSTER"),
            (
                &[("K8S_IN_CLUSTER", "true"), ("K8S_KUBECONFIG", "/x")],
                "K8S_IN_CLUSTER",
            ),
        ];
        for (env, var) in cases {
            match settings(env) {
                Err(Error::Config { variable, code, .. }) => {
                    assert_eq!(variable, *var);
                    assert_eq!(code, ErrorCode::ConfigInvalid);
                }
                other => panic!("{env:?}: {other:?}"),
            }
        }
        let s = settings(&[("K8S_CONTEXT", "staging")]).unwrap();
        assert_eq!(
            s.source,
            KubeSource::Infer {
                context: Some("staging".into())
            }
        );
        assert_eq!(s.namespace, "berth");
    }

    #[tokio::test]
    async fn an_unreadable_kubeconfig_is_a_config_error_naming_the_variable() {
        let s = settings(&[("K8S_KUBECONFIG", "/nonexistent/kubeconfig")]).unwrap();
        match s.client_config().await {
            Err(Error::Config { variable, code, .. }) => {
                assert_eq!(variable, "K8S_KUBECONFIG");
                assert_eq!(code, ErrorCode::ConfigMissing);
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn image_registry_and_tag_apply_to_the_pool_image() {
        let s = settings(&[("K8S_IMAGE_REGISTRY", "reg:5000"), ("K8S_IMAGE_TAG", "v2")]).unwrap();
        assert_eq!(s.image("bot"), "reg:5000/bot:v2");
        assert_eq!(s.image("org/bot:v1"), "reg:5000/org/bot:v2");
        let plain = settings(&[]).unwrap();
        assert_eq!(plain.image("org/bot:v1"), "org/bot:v1");
    }
}
