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

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::call::{parse_retry_after, Caller, Fault, Policy};
use super::{
    BotSpec, FailureKind, Health, OwnedWorkload, Platform, PlatformError, ResourceSpec, SlotRef,
    Workload, WorkloadState,
};
use crate::config::CoolifyConfig;
use crate::meeting::PlatformKind;

/// Sees every HTTP answer (method, path, headers); contract tests use it to
/// check Prism's `sl-violations` header.
pub type ResponseObserver = Arc<dyn Fn(&Method, &str, &reqwest::header::HeaderMap) + Send + Sync>;

/// An application as Coolify lists it (only the fields Berth reads).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Application {
    /// Its UUID (Berth's `platform_ref`).
    pub uuid: String,
    /// Its name (`<prefix><slot name>` for Berth's).
    #[serde(default)]
    pub name: Option<String>,
    /// Its description (reference 003 formats for Berth's).
    #[serde(default)]
    pub description: Option<String>,
    /// Coolify's status text (`running:healthy`, `exited:unhealthy`, ...).
    #[serde(default)]
    pub status: Option<String>,
}

/// Maps Coolify's application status onto [`WorkloadState`]. Coolify
/// reports `<state>:<health>` (`running:healthy`, `exited:unhealthy`,
/// `restarting`, `degraded:unhealthy`); it does not tell a clean exit from
/// a crash, so `exited` is `Stopped`. An unknown text is `Running`: it
/// exists, and reading it as stopped could end a live bot.
pub fn map_status(raw: &str) -> WorkloadState {
    let s = raw.trim().to_ascii_lowercase();
    let head = s
        .split([':', '(', ' '])
        .next()
        .unwrap_or_default()
        .to_string();
    match head.as_str() {
        "running" | "starting" | "restarting" | "degraded" | "healthy" => WorkloadState::Running,
        "exited" | "stopped" | "stopping" | "removing" | "created" | "" => WorkloadState::Stopped,
        "dead" | "failed" => WorkloadState::Failed,
        _ => WorkloadState::Running,
    }
}

/// Splits `repo[:tag]` the way Docker does (a `:` before the last `/` is a
/// registry port; a digest is kept whole).
pub fn split_image(image: &str) -> (String, Option<String>) {
    if image.contains('@') {
        return (image.to_string(), None);
    }
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(i) => (
            image[..slash + i].to_string(),
            Some(image[slash + i + 1..].to_string()),
        ),
        None => (image.to_string(), None),
    }
}

/// The bot id a reference-003 description names (`[BUSY] Bot #12 - ...`).
fn described_bot(description: &str) -> Option<i64> {
    let rest = description.split("Bot #").nth(1)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// How long after a bot's start an `exited` application still counts as
/// starting when this instance does not know its deployment (Coolify
/// reports `exited` until the deployment has pulled and run the image).
pub const START_GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// Whether a reference-003 description says the bot started less than
/// [`START_GRACE`] ago: `[DEPLOYING] ...` always, `[BUSY] Bot #N - <time>`
/// when `<time>` is recent (an unreadable time counts as not recent).
fn started_recently(description: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    if description.starts_with("[DEPLOYING]") {
        return true;
    }
    description
        .strip_prefix("[BUSY]")
        .and_then(|rest| rest.rsplit(" - ").next())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .is_some_and(|t| now.signed_duration_since(t) < START_GRACE)
}

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

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose_secret())
    }

    /// Sends one attempt and classifies the answer.
    async fn send(&self, req: RequestBuilder) -> Result<Response, Fault> {
        let req = req
            .build()
            .map_err(|e| Fault::Rejected(format!("bad request: {e}")))?;
        let (method, path) = (req.method().clone(), req.url().path().to_string());
        let resp = self.http.execute(req).await.map_err(|e| {
            // reqwest's messages name the URL (no credentials in it), never headers.
            Fault::transient(format!("{method} {path}: {}", e.without_url()))
        })?;
        if let Some(o) = &self.observer {
            o(&method, &path, resp.headers());
        }
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = resp.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let message = format!(
            "{method} {path}: HTTP {} {}",
            status.as_u16(),
            detail.trim()
        );
        Err(match status {
            StatusCode::UNAUTHORIZED => Fault::Unauthenticated(message),
            StatusCode::FORBIDDEN => Fault::Forbidden(message),
            StatusCode::NOT_FOUND => Fault::NotFound(message),
            StatusCode::CONFLICT => Fault::Conflict(message),
            StatusCode::TOO_MANY_REQUESTS => Fault::Transient {
                message,
                retry_after,
            },
            s if s.is_server_error() => Fault::Transient {
                message,
                retry_after,
            },
            _ => Fault::Rejected(message),
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, Fault> {
        let resp = self.send(req).await?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| Fault::transient(format!("reading the answer: {}", e.without_url())))?;
        serde_json::from_slice(&body)
            .map_err(|e| Fault::Rejected(format!("unexpected answer from Coolify: {e}")))
    }

    fn uuid<'a>(
        &self,
        operation: &'static str,
        slot: &'a SlotRef,
    ) -> Result<&'a str, PlatformError> {
        slot.platform_ref.as_deref().ok_or_else(|| PlatformError {
            platform: PlatformKind::Coolify,
            operation,
            kind: FailureKind::Rejected,
            message: format!("slot {} has no Coolify application yet", slot.slot_name),
        })
    }

    async fn applications(&self) -> Result<Vec<Application>, Fault> {
        self.json(self.request(Method::GET, "/applications")).await
    }

    async fn find(&self, name: &str) -> Result<Option<Application>, Fault> {
        Ok(self
            .applications()
            .await?
            .into_iter()
            .find(|a| a.name.as_deref() == Some(name)))
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

    async fn owned(&self) -> Result<Vec<OwnedWorkload>, PlatformError> {
        let apps = self
            .caller
            .run("list", None, || self.applications())
            .await?;
        let known = self
            .deployments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = Vec::new();
        for app in apps {
            let Some(slot_name) = app
                .name
                .as_deref()
                .and_then(|n| n.strip_prefix(self.cfg.app_prefix.as_str()))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
            else {
                continue;
            };
            let description = app.description.clone().unwrap_or_default();
            let mut raw = app.status.clone().unwrap_or_default();
            let mut state = map_status(&raw);
            let starting =
                description.starts_with("[DEPLOYING]") || description.starts_with("[BUSY]");
            if state != WorkloadState::Running && starting {
                // Between `start` and the container running, Coolify reports
                // `exited`: read the deployment, or a starting bot would look stopped.
                if let Some(dep) = known.get(&app.uuid) {
                    if let Ok(d) = self.deployment_status(dep).await {
                        match d.as_str() {
                            "queued" | "in_progress" => state = WorkloadState::Running,
                            "failed" | "cancelled-by-user" => state = WorkloadState::Failed,
                            _ => {}
                        }
                        raw = format!("{raw} (deployment {d})");
                    }
                } else if started_recently(&description, chrono::Utc::now()) {
                    // Another instance started it: its deployment is unknown
                    // here, so a fresh start counts as starting for a while.
                    state = WorkloadState::Running;
                    raw = format!("{raw} (starting)");
                }
            }
            out.push(OwnedWorkload {
                workload: Workload {
                    resource: app.uuid,
                    bot_id: starting.then(|| described_bot(&description)).flatten(),
                    epoch: None,
                    state,
                    raw_status: raw,
                },
                slot_name: Some(slot_name),
            });
        }
        Ok(out)
    }

    /// The slot id and lease epoch the application's workload was last
    /// configured for (its `BERTH_SLOT_ID` and `BERTH_EPOCH`), as far as set.
    async fn configured_lease(&self, uuid: &str) -> Result<(Option<i64>, Option<i64>), Fault> {
        #[derive(Deserialize)]
        struct Env {
            key: Option<String>,
            value: Option<Value>,
        }
        let envs: Vec<Env> = match self
            .json(self.request(Method::GET, &format!("/applications/{uuid}/envs")))
            .await
        {
            Ok(envs) => envs,
            // No application: no lease runs there.
            Err(Fault::NotFound(_)) => return Ok((None, None)),
            Err(f) => return Err(f),
        };
        let number = |key: &str| {
            envs.iter()
                .filter(|e| e.key.as_deref() == Some(key))
                .filter_map(|e| match e.value.as_ref()? {
                    Value::String(v) => v.trim().parse().ok(),
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                })
                .max()
        };
        Ok((number("BERTH_SLOT_ID"), number("BERTH_EPOCH")))
    }

    /// Whether a newer lease of `slot` than its own runs in the
    /// application: one application is the slot's only workload, so a start
    /// or stop of an older lease (a late deploy) must leave it alone. A
    /// lease of another slot of the same name (deleted and created again,
    /// its epochs started over) does not count.
    async fn newer_lease(&self, slot: &SlotRef, uuid: &str) -> Result<Option<i64>, PlatformError> {
        let (slot_id, epoch) = self
            .caller
            .run("lease_check", Some(&slot.slot_name), || {
                self.configured_lease(uuid)
            })
            .await?;
        let same_slot = slot_id.is_none_or(|id| id == slot.slot_id);
        Ok(epoch.filter(|e| same_slot && *e > slot.epoch))
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

    /// Coolify pulls the image when an application deploys; nothing to do ahead.
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
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
        let uuid = self.uuid("describe", slot)?;
        let body = &json!({ "description": description });
        self.caller
            .run("describe", Some(&slot.slot_name), move || async move {
                self.send(
                    self.request(Method::PATCH, &format!("/applications/{uuid}"))
                        .json(body),
                )
                .await
                .map(drop)
            })
            .await
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
mod tests {
    use super::*;

    #[test]
    fn statuses_map_and_keep_their_text() {
        assert_eq!(map_status("running:healthy"), WorkloadState::Running);
        assert_eq!(map_status("running:unknown"), WorkloadState::Running);
        assert_eq!(map_status("Restarting"), WorkloadState::Running);
        assert_eq!(map_status("degraded:unhealthy"), WorkloadState::Running);
        assert_eq!(map_status("exited:unhealthy"), WorkloadState::Stopped);
        assert_eq!(map_status("exited (0)"), WorkloadState::Stopped);
        assert_eq!(map_status("stopped"), WorkloadState::Stopped);
        assert_eq!(map_status(""), WorkloadState::Stopped);
        assert_eq!(map_status("dead"), WorkloadState::Failed);
        assert_eq!(map_status("something-new"), WorkloadState::Running);
    }

    #[test]
    fn images_split_like_docker() {
        assert_eq!(
            split_image("ghcr.io/a/b:1.2"),
            ("ghcr.io/a/b".into(), Some("1.2".into()))
        );
        assert_eq!(
            split_image("localhost:5000/bot"),
            ("localhost:5000/bot".into(), None)
        );
        assert_eq!(
            split_image("localhost:5000/bot:v2"),
            ("localhost:5000/bot".into(), Some("v2".into()))
        );
        assert_eq!(
            split_image("img@sha256:abc"),
            ("img@sha256:abc".into(), None)
        );
    }

    #[test]
    fn fresh_starts_count_as_starting() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T16:10:00Z")
            .unwrap()
            .to_utc();
        assert!(started_recently(
            "[DEPLOYING] Bot #1 - Starting container...",
            now
        ));
        assert!(started_recently(
            "[BUSY] Bot #1 - 2026-11-23T16:07:00Z",
            now
        ));
        assert!(!started_recently(
            "[BUSY] Bot #1 - 2026-11-23T16:04:00Z",
            now
        ));
        assert!(!started_recently("[BUSY] Bot #1 - yesterday", now));
        assert!(!started_recently("[IDLE] Available - Never used", now));
    }

    #[test]
    fn bot_ids_come_from_descriptions() {
        assert_eq!(
            described_bot("[BUSY] Bot #123 - 2025-12-17T22:30:00Z"),
            Some(123)
        );
        assert_eq!(
            described_bot("[DEPLOYING] Bot #7 - Starting container..."),
            Some(7)
        );
        assert_eq!(described_bot("[IDLE] Available - Never used"), None);
    }
}
