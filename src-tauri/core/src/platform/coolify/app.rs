//! Berth's Coolify applications: what Coolify lists about them, their
//! states, and which of them are Berth's workloads.

use serde::Deserialize;

use super::CoolifyPlatform;
use crate::platform::{OwnedWorkload, PlatformError, Workload, WorkloadState};

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
pub(super) fn described_bot(description: &str) -> Option<i64> {
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
pub(super) fn started_recently(description: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    if description.starts_with("[DEPLOYING]") {
        return true;
    }
    description
        .strip_prefix("[BUSY]")
        .and_then(|rest| rest.rsplit(" - ").next())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .is_some_and(|t| now.signed_duration_since(t) < START_GRACE)
}

impl CoolifyPlatform {
    pub(super) async fn owned(&self) -> Result<Vec<OwnedWorkload>, PlatformError> {
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
}
