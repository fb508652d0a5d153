//! AWS ECS adapter: one task per assignment (`RunTask`), through the
//! official SDK.
//!
//! Model: a slot has no long-lived ECS resource. `create_resource` returns a
//! logical identity (`ecs-slot/<identity>`); `start` runs a task and returns
//! its **task ARN**, which the router stores as the slot's platform
//! reference (it is the bot's identifier). Every task carries
//! `startedBy = berth-<slot>-s<slot id>-e<epoch>` and tags naming owner,
//! pool, slot, bot and epoch, and is run with the same value as its
//! `clientToken`.
//!
//! Idempotency: ECS itself dedupes `RunTask` calls with the same
//! `clientToken`. Emulators may not (moto ignores it), and a reply can be
//! lost after the task started, so `start` first looks for a running task
//! started for the same slot and epoch and adopts it: a retried start never
//! runs two tasks.
//!
//! The SDK's own retries are off: [`Caller`] retries (once per attempt, under
//! the platform's policy), and double retry loops would multiply attempts.

use std::sync::Arc;

use aws_sdk_ecs::types::{DesiredStatus, TaskField};

use super::call::{Caller, Fault, Policy};
use super::naming;
use super::{BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload};
use crate::error::Result;
use crate::meeting::PlatformKind;

mod fault;
mod revision;
mod settings;
mod task;

pub use fault::fault;
pub use settings::{tags, Capacity, EcsSettings};
pub use task::map_state;
use task::{tag, tag_value, TaskRequest};

/// The ECS adapter.
pub struct EcsPlatform {
    client: aws_sdk_ecs::Client,
    settings: EcsSettings,
    caller: Arc<Caller>,
    revisions: revision::Revisions,
}

/// Static credentials for tests and emulators (never logged: the SDK's
/// `Credentials` redacts its secret in `Debug`).
pub use aws_sdk_ecs::config::Credentials;

impl EcsPlatform {
    /// Builds the SDK client: region, profile or the standard credential
    /// chain (or `credentials`), endpoint override; ring-based rustls as the
    /// only TLS provider; SDK retries off.
    pub async fn connect(
        settings: EcsSettings,
        credentials: Option<Credentials>,
        policy: Policy,
    ) -> Self {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(settings.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &settings.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        if let Some(c) = credentials {
            loader = loader.credentials_provider(c);
        }
        let shared = loader.load().await;
        EcsPlatform {
            client: aws_sdk_ecs::Client::new(&shared),
            settings,
            caller: Arc::new(Caller::new(PlatformKind::Aws, policy)),
            revisions: Default::default(),
        }
    }

    /// The same adapter with its breaker's cool-down on `clock` (the
    /// instance's clock; a manual one in tests).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        let policy = self.caller.policy().clone();
        self.caller = Arc::new(Caller::with_clock(PlatformKind::Aws, policy, clock));
        self
    }

    /// The SDK client (tests set emulators up through it).
    pub fn client(&self) -> &aws_sdk_ecs::Client {
        &self.client
    }

    /// The settings in force.
    pub fn settings(&self) -> &EcsSettings {
        &self.settings
    }

    /// The shared caller (breaker state, for health).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// `startedBy` and `clientToken` of one assignment (≤ 63 characters,
    /// letters, digits and hyphens: valid for both fields). The slot's
    /// database id is part of it: a slot deleted and created again under the
    /// same name starts its epochs over, and must not reuse (and so adopt)
    /// an earlier task's token within ECS's idempotency window.
    pub fn assignment_token(slot: &SlotRef) -> String {
        naming::dns_label(
            &format!("berth-{}-s{}-e{}", slot.slot_name, slot.slot_id, slot.epoch),
            63,
        )
    }

    async fn running_tasks_for(&self, token: &str) -> Result<Vec<String>, Fault> {
        let out = self
            .client
            .list_tasks()
            .cluster(&self.settings.cluster)
            .started_by(token)
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .map_err(fault)?;
        Ok(out.task_arns.unwrap_or_default())
    }

    async fn list_arns(&self, status: DesiredStatus) -> Result<Vec<String>, PlatformError> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let token = next.clone();
            let page = self
                .caller
                .run("list", None, || {
                    let req = self
                        .client
                        .list_tasks()
                        .cluster(&self.settings.cluster)
                        .desired_status(status.clone())
                        .max_results(100)
                        .set_next_token(token.clone());
                    async move { req.send().await.map_err(fault) }
                })
                .await;
            let page = page?;
            arns.extend(page.task_arns.unwrap_or_default());
            match page.next_token {
                Some(t) if !t.is_empty() => next = Some(t),
                _ => return Ok(arns),
            }
        }
    }
}

#[async_trait::async_trait]
impl Platform for EcsPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Aws
    }

    /// ECS pulls images itself when a task starts; nothing to do ahead.
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Registers (once per image) the revision of the meeting platform's
    /// task definition that runs `spec.image`, so the slot's next task runs
    /// it: ECS keeps nothing per slot, and a running task is never touched.
    /// Nothing to do when `spec` names no meeting platform.
    async fn update_image(
        &self,
        _slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<(), PlatformError> {
        let Some(meeting) = spec.meeting_platform else {
            return Ok(());
        };
        let Some(configured) = self.settings.task_definitions.get(&meeting) else {
            return Err(PlatformError {
                platform: PlatformKind::Aws,
                operation: "update_image",
                kind: super::FailureKind::Rejected,
                message: format!("no task definition for {}", meeting.as_str()),
            });
        };
        self.revision_for("update_image", configured, &spec.image)
            .await
            .map(|_| ())
    }

    async fn create_resource(
        &self,
        slot: &SlotRef,
        _spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        Ok(format!(
            "ecs-slot/{}",
            naming::slot_identity(&slot.slot_name)
        ))
    }

    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        let token = Self::assignment_token(slot);
        let mut request = TaskRequest::new(&self.settings, slot, bot)?;
        // The pool's image, whatever the configured task definition names.
        let definition = self
            .revision_for("start", request.task_definition(), &bot.image)
            .await?;
        request.set_task_definition(definition);
        let arn = self
            .caller
            .run("start", Some(&slot.slot_name), || async {
                // A retry after a lost reply must not start a second task.
                if let Some(arn) = self.running_tasks_for(&token).await?.into_iter().next() {
                    return Ok(arn);
                }
                let req = request.fill(self.client.run_task(), &self.settings, &token)?;
                let out = req.send().await.map_err(fault)?;
                if let Some(f) = out.failures().first() {
                    return Err(Fault::Rejected(format!(
                        "task not started: {} {}",
                        f.reason().unwrap_or("unknown reason"),
                        f.detail().unwrap_or("")
                    )));
                }
                out.tasks()
                    .first()
                    .and_then(|t| t.task_arn().map(str::to_string))
                    .ok_or_else(|| Fault::Rejected("RunTask returned no task".into()))
            })
            .await?;
        Ok(Some(arn))
    }

    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let token = Self::assignment_token(slot);
        let known = slot.platform_ref.clone().filter(|r| r.starts_with("arn:"));
        self.caller
            .run("stop", Some(&slot.slot_name), || async {
                // Before `start` recorded the ARN (a crash in between), the
                // task is found by the assignment's `startedBy`.
                let arns = match &known {
                    Some(arn) => vec![arn.clone()],
                    None => self.running_tasks_for(&token).await?,
                };
                for arn in arns {
                    match self
                        .client
                        .stop_task()
                        .cluster(&self.settings.cluster)
                        .task(&arn)
                        .reason("released by Berth")
                        .send()
                        .await
                        .map_err(fault)
                    {
                        Ok(_) | Err(Fault::NotFound(_)) => {}
                        Err(f) => return Err(f),
                    }
                }
                Ok(())
            })
            .await
    }

    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        // Nothing outlives a task; stopping it is all there is to delete.
        self.stop(slot).await
    }

    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        let Some(arn) = slot
            .platform_ref
            .as_deref()
            .filter(|r| r.starts_with("arn:"))
        else {
            // No task yet: ECS has nowhere to keep a slot's description.
            return Ok(());
        };
        let value = tag_value(description);
        self.caller
            .run("describe", Some(&slot.slot_name), || {
                let req = self
                    .client
                    .tag_resource()
                    .resource_arn(arn)
                    .tags(tag(tags::DESCRIPTION, value.clone()));
                async move { req.send().await.map(|_| ()).map_err(fault) }
            })
            .await
    }

    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        // STOPPED tasks too: that is where exits (and exit codes) show.
        let mut arns = self.list_arns(DesiredStatus::Running).await?;
        arns.extend(self.list_arns(DesiredStatus::Stopped).await?);
        arns.sort();
        arns.dedup();
        let mut out = Vec::new();
        // DescribeTasks takes at most 100 tasks per call.
        for batch in arns.chunks(100) {
            let tasks = self
                .caller
                .run("list", None, || {
                    let req = self
                        .client
                        .describe_tasks()
                        .cluster(&self.settings.cluster)
                        .set_tasks(Some(batch.to_vec()))
                        .include(TaskField::Tags);
                    async move { req.send().await.map_err(fault) }
                })
                .await?;
            for t in tasks.tasks() {
                let tag_of = |k: &str| {
                    t.tags()
                        .iter()
                        .find(|x| x.key() == Some(k))
                        .and_then(|x| x.value())
                };
                // Only Berth's tasks: the cluster may run anything else too.
                if tag_of(tags::MANAGED_BY) != Some("berth") {
                    continue;
                }
                let Some(arn) = t.task_arn() else { continue };
                let last = t.last_status().unwrap_or("UNKNOWN");
                let stop_code = t.stop_code().map(|c| c.as_str().to_string());
                let exit_codes: Vec<Option<i32>> =
                    t.containers().iter().map(|c| c.exit_code()).collect();
                let state = map_state(last, stop_code.as_deref(), &exit_codes);
                let mut raw = format!(
                    "lastStatus={last} desiredStatus={}",
                    t.desired_status().unwrap_or("?")
                );
                if let Some(c) = &stop_code {
                    raw.push_str(&format!(" stopCode={c}"));
                }
                if !exit_codes.is_empty() {
                    raw.push_str(&format!(" exitCodes={exit_codes:?}"));
                }
                out.push(Workload {
                    resource: arn.to_string(),
                    bot_id: tag_of(tags::BOT).and_then(|v| v.parse().ok()),
                    epoch: tag_of(tags::EPOCH).and_then(|v| v.parse().ok()),
                    state,
                    raw_status: raw,
                });
            }
        }
        Ok(out)
    }

    /// Healthy when `DescribeClusters` answers and the cluster is ACTIVE;
    /// down when it is missing or inactive, or the call fails. One probe
    /// through the breaker: while it is open and cooling down ECS is not
    /// called; after the cool-down a success closes it.
    async fn health(&self) -> Health {
        let answer = self
            .caller
            .probe("health", || {
                let req = self
                    .client
                    .describe_clusters()
                    .clusters(&self.settings.cluster);
                async move { req.send().await.map_err(fault) }
            })
            .await;
        match answer {
            Ok(out) => match out.clusters().first().and_then(|c| c.status()) {
                Some("ACTIVE") => Health::Healthy,
                _ => Health::Down,
            },
            Err(e) => {
                tracing::debug!(platform = "aws", kind = ?e.kind, error = %e.message, "health check failed");
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
