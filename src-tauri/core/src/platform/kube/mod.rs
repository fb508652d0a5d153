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

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};

use super::call::{Caller, Fault, Policy};
use super::naming;
use super::{BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

mod settings;
mod spec;
mod status;

pub use settings::{labels, KubeSettings, KubeSource};
use spec::{meta, owner_labels};
pub use status::{fault, job_state};

/// The Kubernetes adapter.
pub struct KubePlatform {
    client: kube::Client,
    settings: KubeSettings,
    caller: Arc<Caller>,
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
        spec::job(
            &self.settings,
            slot,
            bot,
            Self::identity(slot),
            &Self::job_name(slot),
        )
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

    /// Nodes pull images when a pod starts; nothing to do ahead: the first
    /// start is the pull ([`Platform::pulls_on_start`]).
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    fn pulls_on_start(&self) -> bool {
        true
    }

    /// The Job a slot runs is built at each start from the bot's spec
    /// ([`KubePlatform::job`]), which carries the pool's current image;
    /// what changes on the cluster is the slot's resource (its ConfigMap),
    /// annotated with the image its next Job runs (registry and tag
    /// settings applied), so the cluster says what Berth will start.
    async fn update_image(&self, slot: &SlotRef, spec: &ResourceSpec) -> Result<(), PlatformError> {
        let name = Self::identity(slot);
        let patch = serde_json::json!({
            "metadata": { "annotations": { labels::IMAGE: self.settings.image(&spec.image) } }
        });
        let api = self.config_maps();
        self.caller
            .run("update_image", Some(&slot.slot_name), || async {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
                    .map_err(fault)
            })
            .await
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
mod tests;
