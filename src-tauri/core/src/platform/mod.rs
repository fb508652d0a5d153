//! Deployment platforms: the adapter trait, health, and the image-pull gate.
//!
//! Real adapters (Kubernetes, ECS, Coolify) implement [`Platform`]; so does
//! the simulator ([`sim::SimPlatform`]) used for `local` and for every
//! platform in development mode.

mod backoff;
pub mod call;
pub mod coolify;
pub mod drain;
#[cfg(feature = "cloud")]
pub mod ecs;
mod health;
pub mod image;
#[cfg(feature = "cloud")]
pub mod kube;
pub mod load;
pub mod naming;
pub mod secret;
pub mod sim;

pub use backoff::{
    deploy_backoff, record_deploy_failure, record_deploy_success, DEPLOY_BACKOFF_BASE_MS,
    DEPLOY_BACKOFF_MAX_MS,
};
pub use call::FailureKind;
pub use health::{
    record_health, record_health_detail, shared_health, shared_state, Health, PlatformState,
};

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

use crate::meeting::{MeetingPlatform, PlatformKind};

/// The slot a platform call is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRef {
    /// Database id of the slot.
    pub slot_id: i64,
    /// Unique slot name (`pool-google-meet-003`).
    pub slot_name: String,
    /// Pool the slot belongs to.
    pub pool: String,
    /// Lease epoch of the assignment the call is for.
    pub epoch: i64,
    /// The platform's identifier for the slot's resource, once created.
    pub platform_ref: Option<String>,
}

/// What a workload needs to run a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSpec {
    /// The bot's id.
    pub bot_id: i64,
    /// The meeting platform.
    pub meeting_platform: MeetingPlatform,
    /// The meeting to join.
    pub meeting_url: String,
    /// Image to run.
    pub image: String,
    /// Resource requests from the pool's applied definition; a field left
    /// out falls back to the platform's configured default.
    pub resources: crate::definition::Resources,
    /// The meeting account leased to the bot, when its pool has an account source.
    pub account: Option<BotAccount>,
    /// The bot's token for this lease (`BERTH_BOT_TOKEN`): how the workload
    /// authenticates to Berth (configuration, status reports, heartbeats).
    /// Redacted in `Debug`; adapters pass it to the workload only and never
    /// log it.
    pub token: crate::bot_lease::BotToken,
}

/// What a slot's resource is made of, given to
/// [`Platform::create_resource`] by its caller (the router, pre-warming), so
/// no adapter reads the database: the pool's image and its definition's
/// resource requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSpec {
    /// Image the slot runs.
    pub image: String,
    /// Resource requests from the pool's applied definition; a field left
    /// out falls back to the platform's configured default.
    pub resources: crate::definition::Resources,
    /// The pool's meeting platform (ECS picks the task definition by it);
    /// `None` when the caller does not know it.
    pub meeting_platform: Option<MeetingPlatform>,
}

/// A leased account as a bot receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotAccount {
    /// The account's key in its pool.
    pub key: String,
    /// The account's row from the source, as JSON text. It may hold
    /// credentials: adapters pass it to the workload only and never log it.
    pub data: String,
}

/// The bot's configuration as environment variables, the same on every
/// platform: what to join, which lease it runs under, and its token for
/// that lease. `BERTH_BOT_TOKEN` and `BERTH_ACCOUNT` are secrets: they go
/// to the workload only, never to a log or a description.
pub fn bot_env(slot: &SlotRef, bot: &BotSpec) -> Vec<(String, String)> {
    vec![
        ("BERTH_BOT_ID".into(), bot.bot_id.to_string()),
        ("BERTH_BOT_TOKEN".into(), bot.token.expose().to_string()),
        (
            "BERTH_MEETING_PLATFORM".into(),
            bot.meeting_platform.as_str().into(),
        ),
        ("BERTH_MEETING_URL".into(), bot.meeting_url.clone()),
        ("BERTH_POOL".into(), slot.pool.clone()),
        ("BERTH_SLOT".into(), slot.slot_name.clone()),
        // The slot's database id: a slot created again under a former
        // slot's name starts its epochs over, and this tells them apart.
        ("BERTH_SLOT_ID".into(), slot.slot_id.to_string()),
        ("BERTH_EPOCH".into(), slot.epoch.to_string()),
    ]
    .into_iter()
    .chain(bot.account.iter().flat_map(|a| {
        [
            ("BERTH_ACCOUNT_KEY".to_string(), a.key.clone()),
            ("BERTH_ACCOUNT".to_string(), a.data.clone()),
        ]
    }))
    .collect()
}

/// A workload's state as a platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkloadState {
    /// The resource exists but runs nothing.
    Stopped,
    /// Running (or starting).
    Running,
    /// Exited successfully.
    Succeeded,
    /// Exited with a failure.
    Failed,
}

/// One workload Berth owns on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The platform's identifier for the resource (matches `SlotRef::platform_ref`).
    pub resource: String,
    /// The bot it runs, if any.
    pub bot_id: Option<i64>,
    /// The lease epoch it was started for, if known.
    pub epoch: Option<i64>,
    /// Mapped state.
    pub state: WorkloadState,
    /// The platform's own status text, kept for display.
    pub raw_status: String,
}

/// A listed workload with the slot its owner marker names, when the
/// platform keeps one (e.g. the application name `berth-<slot name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedWorkload {
    /// The workload.
    pub workload: Workload,
    /// The slot name its owner marker names; `None` if the platform keeps no such marker.
    pub slot_name: Option<String>,
}

/// A platform call's failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{platform} {operation}: {message}")]
pub struct PlatformError {
    /// Which platform.
    pub platform: PlatformKind,
    /// Which operation (`start`, `stop`, `list`, ...).
    pub operation: &'static str,
    /// What kind of failure it was, after retries.
    pub kind: FailureKind,
    /// What went wrong (never contains a secret).
    pub message: String,
}

impl From<PlatformError> for crate::error::Error {
    fn from(e: PlatformError) -> Self {
        crate::error::Error::new(crate::error::ErrorCode::PlatformFailed, e.to_string())
    }
}

/// A deployment platform adapter. Calls are idempotent where the platform allows.
#[async_trait::async_trait]
pub trait Platform: Send + Sync {
    /// Which platform this is.
    fn kind(&self) -> PlatformKind;
    /// Makes `image` available on the platform (the slow first pull).
    /// Called through [`image::ImageGate`] only, once per platform and image.
    async fn pull_image(&self, image: &str) -> Result<(), PlatformError>;
    /// Whether starting a workload is what pulls its image here (Coolify
    /// deploys, Kubernetes pods on nodes without it): the gate then holds
    /// the first *start* of an image, not a separate pull. Default: no.
    fn pulls_on_start(&self) -> bool {
        false
    }
    /// Moves the slot's resource (idle: nothing runs in it) to the image in
    /// `spec`, so its next start runs that image. Called by a rolling update
    /// ([`crate::rollout`]), never while the slot holds a bot. Default:
    /// nothing to do (the platform builds the workload from the bot's spec
    /// at each start).
    async fn update_image(
        &self,
        _slot: &SlotRef,
        _spec: &ResourceSpec,
    ) -> Result<(), PlatformError> {
        Ok(())
    }
    /// Creates the slot's resource from `spec`; returns its platform identifier.
    async fn create_resource(
        &self,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError>;
    /// Starts the bot's workload in the slot's resource. Returns the
    /// workload's own identifier when it has one that replaces the slot's
    /// platform reference (ECS: the task ARN, a new one per assignment); the
    /// router then records it as the slot's `platform_ref` and reports it as
    /// the bot's platform identifier. `None`: the slot's reference stays.
    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError>;
    /// Stops whatever runs in the slot's resource. Stopping nothing is success.
    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError>;
    /// Deletes the slot's resource. Deleting nothing is success.
    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError>;
    /// Writes the slot's description (reference 003 formats) on the platform side.
    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError>;
    /// Lists every workload Berth owns there. An error means *unknown*, never *empty*.
    async fn list(&self) -> Result<Vec<Workload>, PlatformError>;
    /// Checks the platform answers.
    async fn health(&self) -> Health;
    /// Like [`Platform::list`], with each workload's owner marker, so
    /// reconciliation can adopt a resource whose creation was never written
    /// to the database (or remove it). Default: no markers.
    async fn list_owned(&self) -> Result<Vec<OwnedWorkload>, PlatformError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .map(|workload| OwnedWorkload {
                workload,
                slot_name: None,
            })
            .collect())
    }
    /// Why calls to this platform fail fast right now (its circuit breaker
    /// is open), if they do. The router skips such a platform at once,
    /// without waiting for the next health check. Default: never.
    fn unavailable(&self) -> Option<String> {
        None
    }
}

/// The adapters of one Berth instance, by platform.
#[derive(Clone, Default)]
pub struct Platforms {
    adapters: HashMap<PlatformKind, Arc<dyn Platform>>,
}

impl Platforms {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the adapter for its platform.
    pub fn insert(&mut self, adapter: Arc<dyn Platform>) {
        self.adapters.insert(adapter.kind(), adapter);
    }

    /// The adapter for `kind`, if configured.
    pub fn get(&self, kind: PlatformKind) -> Option<Arc<dyn Platform>> {
        self.adapters.get(&kind).cloned()
    }

    /// Every configured adapter.
    pub fn iter(&self) -> impl Iterator<Item = (PlatformKind, &Arc<dyn Platform>)> {
        self.adapters.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn a_leased_account_reaches_the_bot_only_when_there_is_one() {
        let slot = SlotRef {
            slot_id: 1,
            slot_name: "pool-acc-001".into(),
            pool: "acc".into(),
            epoch: 3,
            platform_ref: None,
        };
        let mut bot = BotSpec {
            bot_id: 7,
            meeting_platform: MeetingPlatform::Zoom,
            meeting_url: "https://zoom.example/j/1".into(),
            image: "bots/zoom".into(),
            resources: Default::default(),
            account: None,
            token: crate::bot_lease::BotToken::generate(),
        };
        let keys = |env: &[(String, String)]| -> Vec<String> {
            env.iter().map(|(k, _)| k.clone()).collect()
        };
        assert!(!keys(&bot_env(&slot, &bot))
            .iter()
            .any(|k| k.starts_with("BERTH_ACCOUNT")));
        bot.account = Some(BotAccount {
            key: "12".into(),
            data: r#"{"id":12}"#.into(),
        });
        let env: std::collections::HashMap<_, _> = bot_env(&slot, &bot).into_iter().collect();
        assert_eq!(env["BERTH_ACCOUNT_KEY"], "12");
        assert_eq!(env["BERTH_ACCOUNT"], r#"{"id":12}"#);
        assert_eq!(env["BERTH_POOL"], "acc");
        assert_eq!(env["BERTH_BOT_ID"], "7");
        assert_eq!(env["BERTH_BOT_TOKEN"], bot.token.expose());
        assert!(
            !format!("{bot:?}").contains(bot.token.expose()),
            "a spec's Debug never shows the token"
        );
    }
}
