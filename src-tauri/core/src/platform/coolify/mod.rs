//! The Coolify adapter: one Coolify application per slot, through
//! Coolify's v1 REST API.
//!
//! - create: `POST /applications/dockerimage` with the pool's image, named
//!   `<prefix><slot name>` (the owner marker). Idempotent: every attempt
//!   first looks the name up (`GET /applications`) and adopts what it
//!   finds, so a create that was applied but whose answer was lost yields
//!   exactly one application.
//! - start: the bot's environment in bulk (`PATCH /applications/{uuid}/envs/bulk`),
//!   then `POST /applications/{uuid}/start` (a queued deployment).
//! - stop / delete: `POST .../stop`, `DELETE /applications/{uuid}` with
//!   configurations, volumes and networks; a 404 counts as done.
//! - lease check: the application is the slot's only workload, so start and
//!   stop first read its variables (`GET /applications/{uuid}/envs`) and
//!   leave it alone when its `BERTH_EPOCH` names a newer lease of the same
//!   slot (`BERTH_SLOT_ID`) than theirs (a late deploy: start fails with a
//!   conflict, stop does nothing).
//! - describe: `PATCH /applications/{uuid}` with the description (reference 003).
//! - list: `GET /applications`, keeping only names with the owner prefix.
//! - health: `GET /version` (answers, token accepted) and `GET /applications`
//!   (the token may read), as the circuit breaker's probe.
//!
//! Every call goes through the shared [`Caller`] (timeouts, retries,
//! budget, breaker, tracing). The token only ever goes into the
//! `Authorization` header (marked sensitive); it is never logged.

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::call::{Caller, Fault, Policy};
use super::{
    BotSpec, FailureKind, Health, OwnedWorkload, Platform, PlatformError, ResourceSpec, SlotRef,
    Workload, WorkloadState,
};
use crate::config::CoolifyConfig;
use crate::meeting::PlatformKind;

mod api;
mod app;
mod lease;

pub use app::{map_status, split_image, Application, START_GRACE};

/// Sees every HTTP answer (method, path, headers); contract tests use it to
/// check Prism's `sl-violations` header.
pub type ResponseObserver = Arc<dyn Fn(&Method, &str, &reqwest::header::HeaderMap) + Send + Sync>;

/// The Coolify adapter.
pub struct CoolifyPlatform {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    cfg: CoolifyConfig,
    caller: Arc<Caller>,
    /// Last deployment started per application (this instance's view).
    deployments: Mutex<HashMap<String, String>>,
    observer: Option<ResponseObserver>,
}

/// How long connecting may take, within each attempt's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl CoolifyPlatform {
    /// An adapter for `cfg`, authenticating with `token`, retrying under
    /// `policy`.
    pub fn new(
        cfg: CoolifyConfig,
        token: SecretString,
        policy: Policy,
    ) -> Result<Self, PlatformError> {
        // reqwest is built without a default crypto provider: use ring,
        // which sqlx's TLS already brings. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PlatformError {
                platform: PlatformKind::Coolify,
                operation: "client",
                kind: FailureKind::Other,
                message: format!("HTTP client not built: {e}"),
            })?;
        Ok(CoolifyPlatform {
            http,
            base: cfg.api_url.trim_end_matches('/').to_string(),
            token,
            cfg,
            caller: Arc::new(Caller::new(PlatformKind::Coolify, policy)),
            deployments: Mutex::new(HashMap::new()),
            observer: None,
        })
    }

    /// The same adapter with its breaker's cool-down on `clock` (the
    /// instance's clock; a manual one in tests).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        let policy = self.caller.policy().clone();
        self.caller = Arc::new(Caller::with_clock(PlatformKind::Coolify, policy, clock));
        self
    }

    /// Calls `observer` with every HTTP answer (contract tests).
    pub fn with_observer(mut self, observer: ResponseObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The shared call machinery (breaker state, budget).
    pub fn caller(&self) -> &Arc<Caller> {
        &self.caller
    }

    /// The application name (owner marker) of a slot.
    pub fn app_name(&self, slot_name: &str) -> String {
        format!("{}{slot_name}", self.cfg.app_prefix)
    }

    /// Reads one application's state and Coolify's raw status text.
    pub async fn status(&self, slot: &SlotRef) -> Result<(WorkloadState, String), PlatformError> {
        let uuid = self.uuid("status", slot)?;
        let app: Application = self
            .caller
            .run("status", Some(&slot.slot_name), || {
                self.json(self.request(Method::GET, &format!("/applications/{uuid}")))
            })
            .await?;
        let raw = app.status.unwrap_or_default();
        Ok((map_status(&raw), raw))
    }

    /// The last deployment this instance started for the slot's application.
    pub fn last_deployment(&self, slot: &SlotRef) -> Option<String> {
        let uuid = slot.platform_ref.as_deref()?;
        self.deployments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(uuid)
            .cloned()
    }

    /// A deployment's status (`queued`, `in_progress`, `finished`, `failed`,
    /// `cancelled-by-user`).
    pub async fn deployment_status(&self, deployment_uuid: &str) -> Result<String, PlatformError> {
        #[derive(Deserialize)]
        struct Deployment {
            #[serde(default)]
            status: Option<String>,
        }
        let d: Deployment = self
            .caller
            .run("deployment_status", None, || {
                self.json(self.request(Method::GET, &format!("/deployments/{deployment_uuid}")))
            })
            .await?;
        Ok(d.status.unwrap_or_default())
    }

    /// The bot's configuration, the same variables every adapter passes.
    fn environment(&self, slot: &SlotRef, bot: &BotSpec) -> Value {
        let vars = super::bot_env(slot, bot);
        json!({
            "data": vars
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v, "is_preview": false, "is_literal": true }))
                .collect::<Vec<_>>()
        })
    }
}

#[async_trait::async_trait]
impl Platform for CoolifyPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Coolify
    }

    /// Coolify pulls the image when an application deploys; nothing to do
    /// ahead: the first start is the pull ([`Platform::pulls_on_start`]).
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    fn pulls_on_start(&self) -> bool {
        true
    }

    /// Sets the application's image (`PATCH /applications/{uuid}`); its
    /// next deployment pulls and runs it.
    async fn update_image(&self, slot: &SlotRef, spec: &ResourceSpec) -> Result<(), PlatformError> {
        let (image_name, tag) = split_image(&spec.image);
        let body = json!({
            "docker_registry_image_name": image_name,
            "docker_registry_image_tag": tag.unwrap_or_else(|| "latest".to_string()),
        });
        self.patch_application("update_image", slot, &body).await
    }

    async fn create_resource(
        &self,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        let (image_name, tag) = split_image(&spec.image);
        let name = self.app_name(&slot.slot_name);
        let mut body = json!({
            "project_uuid": self.cfg.project_uuid,
            "server_uuid": self.cfg.server_uuid,
            "docker_registry_image_name": image_name,
            "docker_registry_image_tag": tag.unwrap_or_else(|| "latest".to_string()),
            "name": name,
            "description": crate::description::idle(None),
            "ports_exposes": "80",
            "instant_deploy": false,
        });
        for (key, value) in [
            ("environment_name", &self.cfg.environment_name),
            ("environment_uuid", &self.cfg.environment_uuid),
            ("destination_uuid", &self.cfg.destination_uuid),
        ] {
            if let Some(v) = value {
                body[key] = json!(v);
            }
        }
        #[derive(Deserialize)]
        struct Created {
            uuid: String,
        }
        let (name, body) = (&name, &body);
        self.caller
            .run(
                "create_resource",
                Some(&slot.slot_name),
                move || async move {
                    // Look first: a previous attempt (or a crashed instance) may
                    // have created it already; adopting it keeps one per slot.
                    if let Some(app) = self.find(name).await? {
                        return Ok(app.uuid);
                    }
                    let created: Result<Created, Fault> = self
                        .json(
                            self.request(Method::POST, "/applications/dockerimage")
                                .json(body),
                        )
                        .await;
                    match created {
                        Ok(c) if !c.uuid.trim().is_empty() => Ok(c.uuid),
                        Ok(_) => Err(Fault::Rejected(
                            "Coolify created an application but returned no uuid".into(),
                        )),
                        Err(Fault::Conflict(m)) => match self.find(name).await? {
                            Some(app) => Ok(app.uuid),
                            None => Err(Fault::Conflict(m)),
                        },
                        Err(f) => Err(f),
                    }
                },
            )
            .await
    }

    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        let uuid = self.uuid("start", slot)?;
        if let Some(newer) = self.newer_lease(slot, uuid).await? {
            return Err(PlatformError {
                platform: PlatformKind::Coolify,
                operation: "start",
                kind: FailureKind::Conflict,
                message: format!(
                    "application {uuid} runs a newer lease (epoch {newer}); the start for epoch {} changed nothing",
                    slot.epoch
                ),
            });
        }
        let env = &self.environment(slot, bot);
        self.caller
            .run("set_env", Some(&slot.slot_name), move || async move {
                self.send(
                    self.request(Method::PATCH, &format!("/applications/{uuid}/envs/bulk"))
                        .json(env),
                )
                .await
                .map(drop)
            })
            .await?;
        #[derive(Deserialize)]
        struct Started {
            #[serde(default)]
            deployment_uuid: Option<String>,
        }
        let started: Started = self
            .caller
            .run("start", Some(&slot.slot_name), || {
                self.json(self.request(Method::POST, &format!("/applications/{uuid}/start")))
            })
            .await?;
        if let Some(d) = started.deployment_uuid {
            self.deployments
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(uuid.to_string(), d);
        }
        // The application (the slot's resource) is the workload: no new identifier.
        Ok(None)
    }

    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let uuid = self.uuid("stop", slot)?;
        if let Some(newer) = self.newer_lease(slot, uuid).await? {
            tracing::info!(slot = %slot.slot_name, epoch = slot.epoch, newer, "not stopped: a newer lease runs in the application");
            return Ok(());
        }
        self.caller
            .run("stop", Some(&slot.slot_name), move || async move {
                match self
                    .send(self.request(Method::POST, &format!("/applications/{uuid}/stop")))
                    .await
                {
                    Ok(_) | Err(Fault::NotFound(_)) => Ok(()),
                    Err(f) => Err(f),
                }
            })
            .await?;
        self.deployments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(uuid);
        Ok(())
    }

    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let name = &self.app_name(&slot.slot_name);
        self.caller
            .run(
                "delete_resource",
                Some(&slot.slot_name),
                move || async move {
                    let uuid = match &slot.platform_ref {
                        Some(u) => u.clone(),
                        None => match self.find(name).await? {
                            Some(app) => app.uuid,
                            None => return Ok(()),
                        },
                    };
                    let req = self
                        .request(Method::DELETE, &format!("/applications/{uuid}"))
                        .query(&[
                            ("delete_configurations", "true"),
                            ("delete_volumes", "true"),
                            ("docker_cleanup", "true"),
                            ("delete_connected_networks", "true"),
                        ]);
                    match self.send(req).await {
                        Ok(_) | Err(Fault::NotFound(_)) => Ok(()),
                        Err(f) => Err(f),
                    }
                },
            )
            .await
    }

    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        let body = json!({ "description": description });
        self.patch_application("describe", slot, &body).await
    }

    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        Ok(self
            .owned()
            .await?
            .into_iter()
            .map(|o| o.workload)
            .collect())
    }

    async fn list_owned(&self) -> Result<Vec<OwnedWorkload>, PlatformError> {
        self.owned().await
    }

    async fn health(&self) -> Health {
        let probed = self
            .caller
            .probe("health", move || async move {
                self.send(self.request(Method::GET, "/version")).await?;
                // `/version` answers any valid token; listing needs `read`.
                self.send(self.request(Method::GET, "/applications"))
                    .await?;
                Ok(())
            })
            .await;
        match probed {
            Ok(()) => Health::Healthy,
            Err(e) => {
                tracing::warn!(platform = "coolify", kind = ?e.kind, error = %e.message, "health check failed");
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
