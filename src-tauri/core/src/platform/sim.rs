//! The simulated platform.
//!
//! Its "cluster" lives in the shared database (`sim_workloads`), so every
//! instance simulating a platform sees the same workloads — reconciliation
//! run by the leader agrees with deploys made by any instance. Knobs per
//! platform (`sim_knobs`): deploy and pull latency, failure rate, how long a
//! bot runs (or until told), and fault switches for stop and list. Like a
//! real platform's per-lease workloads, a resource remembers the newest
//! lease started in it: a late start or stop of an older lease changes
//! nothing.

use chrono::Duration;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;

use super::{
    BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload, WorkloadState,
};
use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

/// The simulator's knobs for one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct SimKnobs {
    /// How long starting a workload takes.
    pub deploy_latency_ms: i32,
    /// How long the first pull of an image takes.
    pub pull_latency_ms: i32,
    /// Probability (0..=1) that a start fails.
    pub failure_rate: f64,
    /// How long a bot runs before its workload exits; `None`: until told.
    pub run_ms: Option<i32>,
    /// Makes every stop fail (to exercise recovery).
    pub stop_fails: bool,
    /// Makes every listing fail (to exercise reconciliation's "unknown").
    pub list_fails: bool,
}

impl Default for SimKnobs {
    fn default() -> Self {
        SimKnobs {
            deploy_latency_ms: 0,
            pull_latency_ms: 0,
            failure_rate: 0.0,
            run_ms: None,
            stop_fails: false,
            list_fails: false,
        }
    }
}

/// Sets the knobs of `platform`'s simulator (shared by every instance).
pub async fn set_knobs(db: &PgPool, platform: PlatformKind, knobs: &SimKnobs) -> Result<()> {
    if !(0.0..=1.0).contains(&knobs.failure_rate) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "failure rate must be between 0 and 1, got {}",
                knobs.failure_rate
            ),
        ));
    }
    sqlx::query(
        "INSERT INTO sim_knobs (platform, deploy_latency_ms, pull_latency_ms, failure_rate, run_ms, stop_fails, list_fails)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (platform) DO UPDATE SET deploy_latency_ms = $2, pull_latency_ms = $3,
           failure_rate = $4, run_ms = $5, stop_fails = $6, list_fails = $7",
    )
    .bind(platform.as_str())
    .bind(knobs.deploy_latency_ms)
    .bind(knobs.pull_latency_ms)
    .bind(knobs.failure_rate)
    .bind(knobs.run_ms)
    .bind(knobs.stop_fails)
    .bind(knobs.list_fails)
    .execute(db)
    .await?;
    Ok(())
}

/// The knobs stored for `platform`'s simulator; `None` when no instance
/// or command wrote any yet (a simulator then runs with the defaults).
pub async fn stored_knobs(db: &PgPool, platform: PlatformKind) -> Result<Option<SimKnobs>> {
    Ok(sqlx::query_as(
        "SELECT deploy_latency_ms, pull_latency_ms, failure_rate, run_ms, stop_fails, list_fails
         FROM sim_knobs WHERE platform = $1",
    )
    .bind(platform.as_str())
    .fetch_optional(db)
    .await?)
}

/// A simulated deployment platform backed by the shared database.
pub struct SimPlatform {
    kind: PlatformKind,
    db: PgPool,
    clock: Arc<dyn Clock>,
}

impl SimPlatform {
    /// A simulator standing in for `kind`.
    pub fn new(kind: PlatformKind, db: PgPool, clock: Arc<dyn Clock>) -> Self {
        SimPlatform { kind, db, clock }
    }

    fn err(&self, operation: &'static str, message: impl Into<String>) -> PlatformError {
        PlatformError {
            platform: self.kind,
            operation,
            kind: super::FailureKind::Other,
            message: message.into(),
        }
    }

    async fn knobs(&self, operation: &'static str) -> Result<SimKnobs, PlatformError> {
        let row = stored_knobs(&self.db, self.kind)
            .await
            .map_err(|e| self.err(operation, e.to_string()))?;
        Ok(row.unwrap_or_default())
    }

    fn resource(&self, slot: &SlotRef) -> String {
        slot.platform_ref
            .clone()
            .unwrap_or_else(|| format!("sim-{}-{}", self.kind.as_str(), slot.slot_name))
    }
}

#[async_trait::async_trait]
impl Platform for SimPlatform {
    fn kind(&self) -> PlatformKind {
        self.kind
    }

    async fn pull_image(&self, image: &str) -> Result<(), PlatformError> {
        let knobs = self.knobs("pull_image").await?;
        // Counted as it begins, in the shared database: tests count pulls
        // across instances.
        sqlx::query(
            "INSERT INTO sim_pulls (platform, image, pulls) VALUES ($1, $2, 1)
             ON CONFLICT (platform, image) DO UPDATE SET pulls = sim_pulls.pulls + 1",
        )
        .bind(self.kind.as_str())
        .bind(image)
        .execute(&self.db)
        .await
        .map_err(|e| self.err("pull_image", e.to_string()))?;
        self.clock
            .sleep(Duration::milliseconds(knobs.pull_latency_ms.into()))
            .await;
        Ok(())
    }

    /// Records the image the resource now runs.
    async fn update_image(&self, slot: &SlotRef, spec: &ResourceSpec) -> Result<(), PlatformError> {
        sqlx::query("UPDATE sim_workloads SET image = $3 WHERE platform = $1 AND resource = $2")
            .bind(self.kind.as_str())
            .bind(self.resource(slot))
            .bind(&spec.image)
            .execute(&self.db)
            .await
            .map_err(|e| self.err("update_image", e.to_string()))?;
        Ok(())
    }

    async fn create_resource(
        &self,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        let resource = self.resource(slot);
        // A slot created again under a former slot's name starts its
        // epochs over: what the former one ran there no longer counts.
        sqlx::query(
            "INSERT INTO sim_workloads (platform, resource, state, image) VALUES ($1, $2, 'created', $3)
             ON CONFLICT (platform, resource) DO UPDATE SET last_epoch = NULL, image = $3
             WHERE sim_workloads.state <> 'running'",
        )
        .bind(self.kind.as_str())
        .bind(&resource)
        .bind(&spec.image)
        .execute(&self.db)
        .await
        .map_err(|e| self.err("create_resource", e.to_string()))?;
        Ok(resource)
    }

    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        let knobs = self.knobs("start").await?;
        self.clock
            .sleep(Duration::milliseconds(knobs.deploy_latency_ms.into()))
            .await;
        if knobs.failure_rate > 0.0 && rand::rng().random_bool(knobs.failure_rate) {
            return Err(self.err("start", "simulated deploy failure"));
        }
        let now = self.clock.now();
        let run_until = knobs
            .run_ms
            .map(|ms| now + Duration::milliseconds(ms.into()));
        // Like a real platform's per-lease workloads: a start that arrives
        // after a newer lease started here (a late deploy) changes nothing.
        let done = sqlx::query(
            "UPDATE sim_workloads SET state = 'running', bot_id = $3, epoch = $4, started_at = $5,
                 run_until = $6, last_epoch = $4, env = $7
             WHERE platform = $1 AND resource = $2 AND COALESCE(last_epoch, $4) <= $4",
        )
        .bind(self.kind.as_str())
        .bind(self.resource(slot))
        .bind(bot.bot_id)
        .bind(slot.epoch)
        .bind(now)
        .bind(run_until)
        .bind(sqlx::types::Json(
            super::bot_env(slot, bot)
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        ))
        .execute(&self.db)
        .await
        .map_err(|e| self.err("start", e.to_string()))?;
        if done.rows_affected() == 0 {
            let newer: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT last_epoch FROM sim_workloads WHERE platform = $1 AND resource = $2",
            )
            .bind(self.kind.as_str())
            .bind(self.resource(slot))
            .fetch_optional(&self.db)
            .await
            .map_err(|e| self.err("start", e.to_string()))?;
            return Err(match newer.flatten() {
                Some(n) => PlatformError {
                    kind: super::FailureKind::Conflict,
                    ..self.err(
                        "start",
                        format!(
                            "{} runs a newer lease (epoch {n}); the start for epoch {} changed nothing",
                            self.resource(slot),
                            slot.epoch
                        ),
                    )
                },
                None => self.err("start", format!("no resource {}", self.resource(slot))),
            });
        }
        Ok(None)
    }

    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let knobs = self.knobs("stop").await?;
        if knobs.stop_fails {
            return Err(self.err("stop", "simulated stop failure"));
        }
        // Stops this lease's workload, or an older one's; never a newer
        // lease's (a late deploy cleaning up after itself).
        sqlx::query(
            "UPDATE sim_workloads SET state = 'created', bot_id = NULL, epoch = NULL, started_at = NULL, run_until = NULL,
                 env = NULL
             WHERE platform = $1 AND resource = $2 AND COALESCE(last_epoch, $3) <= $3",
        )
        .bind(self.kind.as_str())
        .bind(self.resource(slot))
        .bind(slot.epoch)
        .execute(&self.db)
        .await
        .map_err(|e| self.err("stop", e.to_string()))?;
        Ok(())
    }

    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        sqlx::query("DELETE FROM sim_workloads WHERE platform = $1 AND resource = $2")
            .bind(self.kind.as_str())
            .bind(self.resource(slot))
            .execute(&self.db)
            .await
            .map_err(|e| self.err("delete_resource", e.to_string()))?;
        Ok(())
    }

    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        sqlx::query(
            "UPDATE sim_workloads SET description = $3 WHERE platform = $1 AND resource = $2",
        )
        .bind(self.kind.as_str())
        .bind(self.resource(slot))
        .bind(description)
        .execute(&self.db)
        .await
        .map_err(|e| self.err("describe", e.to_string()))?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        let knobs = self.knobs("list").await?;
        if knobs.list_fails {
            return Err(self.err("list", "simulated listing failure"));
        }
        let now = self.clock.now();
        let rows: Vec<(String, Option<i64>, Option<i64>, String, Option<chrono::DateTime<chrono::Utc>>)> =
            sqlx::query_as(
                "SELECT resource, bot_id, epoch, state, run_until FROM sim_workloads WHERE platform = $1 ORDER BY resource",
            )
            .bind(self.kind.as_str())
            .fetch_all(&self.db)
            .await
            .map_err(|e| self.err("list", e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|(resource, bot_id, epoch, state, run_until)| {
                let mapped = match state.as_str() {
                    "running" if run_until.is_some_and(|t| t <= now) => WorkloadState::Succeeded,
                    "running" => WorkloadState::Running,
                    "succeeded" => WorkloadState::Succeeded,
                    "failed" => WorkloadState::Failed,
                    _ => WorkloadState::Stopped,
                };
                let raw_status = match mapped {
                    WorkloadState::Succeeded if state == "running" => "exited(0)".to_string(),
                    _ => state,
                };
                Workload {
                    resource,
                    bot_id,
                    epoch,
                    state: mapped,
                    raw_status,
                }
            })
            .collect())
    }

    async fn health(&self) -> Health {
        match self.knobs("health").await {
            Ok(k) if k.list_fails => Health::Down,
            Ok(_) => Health::Healthy,
            Err(_) => Health::Unknown,
        }
    }
}

/// Marks a simulated workload as exited (a bot "told" to finish, or a crash).
pub async fn exit_workload(
    db: &PgPool,
    platform: PlatformKind,
    bot_id: i64,
    success: bool,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sim_workloads SET state = $3 WHERE platform = $1 AND bot_id = $2 AND state = 'running'",
    )
    .bind(platform.as_str())
    .bind(bot_id)
    .bind(if success { "succeeded" } else { "failed" })
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The environment the simulated workload running `bot_id` on `platform`
/// was started with ([`super::bot_env`]: its `BERTH_BOT_TOKEN` included),
/// as a simulated bot reads it; `None` when no workload of the bot runs.
/// The simulated cluster keeps it while the workload runs, as a real
/// platform keeps a workload's environment (development only).
pub async fn workload_env(
    db: &PgPool,
    platform: PlatformKind,
    bot_id: i64,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    let env: Option<sqlx::types::Json<std::collections::BTreeMap<String, String>>> =
        sqlx::query_scalar(
            "SELECT env FROM sim_workloads
             WHERE platform = $1 AND bot_id = $2 AND state = 'running' AND env IS NOT NULL",
        )
        .bind(platform.as_str())
        .bind(bot_id)
        .fetch_optional(db)
        .await?;
    Ok(env.map(|j| j.0))
}

/// How many times `platform`'s simulator pulled `image` (every instance).
pub async fn pulls(db: &PgPool, platform: PlatformKind, image: &str) -> Result<i64> {
    let n: Option<i32> =
        sqlx::query_scalar("SELECT pulls FROM sim_pulls WHERE platform = $1 AND image = $2")
            .bind(platform.as_str())
            .bind(image)
            .fetch_optional(db)
            .await?;
    Ok(n.unwrap_or(0).into())
}

/// The image a simulated resource runs, as created or last updated.
pub async fn resource_image(
    db: &PgPool,
    platform: PlatformKind,
    resource: &str,
) -> Result<Option<String>> {
    let image: Option<Option<String>> =
        sqlx::query_scalar("SELECT image FROM sim_workloads WHERE platform = $1 AND resource = $2")
            .bind(platform.as_str())
            .bind(resource)
            .fetch_optional(db)
            .await?;
    Ok(image.flatten())
}
