//! Platform settings shared by every instance, in the database.
//!
//! Sources, strongest first: a value set in the environment (pinned at
//! start-up, shown read-only with the variable's name), then what an
//! administrator saved, then defaults. Every change is recorded in
//! `settings_history` with who made it. Writers take one advisory lock
//! (`berth.settings`), so an instance starting and an administrator saving
//! never interleave.
//!
//! [`env`] writes the environment's configuration (at start-up);
//! [`edit`] applies administrators' edits, a whole save in one transaction
//! that announces itself on the change feed; [`rules`] holds the ranges
//! both check against.

mod edit;
pub mod env;
pub mod rules;

pub use edit::{
    edit_platform, save, save_with_reason, set_global_queue_timeout, set_priority, PlatformEdit,
    SettingsPlan,
};
pub use env::apply_env;

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

use crate::actor::Actor;
use crate::config::DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS;
use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::tier::{self, TierSettings};

/// One platform's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlatformSettings {
    /// Which platform.
    pub platform: PlatformKind,
    /// Its display label (`K8s`), [`PlatformKind::label`].
    pub label: &'static str,
    /// Position in the priority order (0 first).
    pub position: i32,
    /// Whether the router may use it.
    pub enabled: bool,
    /// Max concurrent bots; `None`: skipped (no limit configured).
    pub bot_limit: Option<i32>,
    /// How long a request waits for it before the next platform is tried.
    pub queue_timeout_ms: i32,
    /// Field name (`position`, `enabled`, `botLimit`, `queueTimeoutMs`) →
    /// the environment variable that pins it (read-only in the UI).
    pub pinned: BTreeMap<String, String>,
}

/// Every setting the router needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Platforms by priority.
    pub platforms: Vec<PlatformSettings>,
    /// Ceiling of every request's global queue timeout.
    pub global_queue_timeout_ms: i32,
    /// The variable pinning the global queue timeout, if any.
    pub global_queue_timeout_pinned_by: Option<String>,
    /// The priority tiers and the default one ([`crate::tier`]).
    pub tiers: TierSettings,
}

impl Settings {
    /// Platforms the router may try, in order: enabled and with a limit.
    pub fn routable(&self) -> impl Iterator<Item = &PlatformSettings> {
        self.platforms
            .iter()
            .filter(|p| p.enabled && p.bot_limit.is_some())
    }

    /// Settings of one platform.
    pub fn platform(&self, kind: PlatformKind) -> Option<&PlatformSettings> {
        self.platforms.iter().find(|p| p.platform == kind)
    }
}

impl PlatformSettings {
    /// Why a disabled platform is disabled, for decision traces: left out
    /// of the pinned priority (naming the variable), or an administrator's
    /// choice.
    pub fn disabled_reason(&self) -> String {
        match self.pinned.get("enabled") {
            Some(var) => format!("disabled: not listed in {var}"),
            None => "disabled by an administrator".to_string(),
        }
    }
}

/// Whether the platform settings were written (by `berth migrate` or an
/// instance that prepared the database): one cheap read, for a command
/// that needs them but prepares nothing. Reads only.
pub async fn written(db: &PgPool) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM platform_settings)")
            .fetch_one(db)
            .await?,
    )
}

/// Reads the settings in force.
pub async fn load(db: &PgPool) -> Result<Settings> {
    load_on(&mut *db.acquire().await?).await
}

/// [`load`] on `conn` (e.g. inside the caller's transaction).
pub async fn load_on(conn: &mut PgConnection) -> Result<Settings> {
    let rows: Vec<(String, i32, bool, Option<i32>, i32, Value)> = sqlx::query_as(
        "SELECT platform, position, enabled, bot_limit, queue_timeout_ms, pinned
         FROM platform_settings ORDER BY position, platform",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut platforms = Vec::with_capacity(rows.len());
    for (platform, position, enabled, bot_limit, queue_timeout_ms, pinned) in rows {
        let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
        let platform: PlatformKind = platform.parse()?;
        platforms.push(PlatformSettings {
            platform,
            label: platform.label(),
            position,
            enabled,
            bot_limit,
            queue_timeout_ms,
            pinned,
        });
    }
    // Both global keys in one read (a dispatcher's pass loads the settings).
    let globals: Vec<(String, Value, Option<String>)> = sqlx::query_as(
        "SELECT key, value, pinned_by FROM global_settings WHERE key IN ('global_queue_timeout_ms', 'tiers')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let value_of = |key: &str| globals.iter().find(|(k, _, _)| k == key);
    let tiers = tier::from_value(value_of("tiers").map(|(_, v, _)| v.clone()))?;
    let global = value_of("global_queue_timeout_ms").map(|(_, v, p)| (v.clone(), p.clone()));
    let (global_queue_timeout_ms, global_queue_timeout_pinned_by) = match global {
        Some((v, pinned)) => (
            v.as_i64()
                .map(|n| n as i32)
                .unwrap_or(DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS as i32),
            pinned,
        ),
        None => (DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS as i32, None),
    };
    Ok(Settings {
        platforms,
        global_queue_timeout_ms,
        global_queue_timeout_pinned_by,
        tiers,
    })
}

/// Serialises every writer of the settings for the rest of the transaction.
async fn lock(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.settings'))")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records one change in `settings_history`; nothing when `old == new`.
async fn record(
    conn: &mut PgConnection,
    subject: &str,
    field: &str,
    old: Value,
    new: Value,
    who: &Actor,
) -> Result<()> {
    if old != new {
        sqlx::query(
            "INSERT INTO settings_history (subject, field, old_value, new_value, changed_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(subject)
        .bind(field)
        .bind(old)
        .bind(new)
        .bind(who.record())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One recorded settings change. Values serialize as JSON text (`30`,
/// `true`, `null`), the time as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    /// Change id (increasing).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// `platform:<kind>` or `global`.
    pub subject: String,
    /// The field (`enabled`, `botLimit`, `queueTimeoutMs`, `position`, `globalQueueTimeoutMs`, `tiers`).
    pub field: String,
    /// Value before.
    #[serde(serialize_with = "json_text")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub old_value: Option<Value>,
    /// Value after.
    #[serde(serialize_with = "json_text")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub new_value: Option<Value>,
    /// Who made it (`environment`, `desktop:<user>`, ...).
    pub changed_by: String,
    /// When.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A recorded value as its JSON text (what the history shows verbatim).
fn json_text<S: serde::Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// The latest `limit` settings changes, newest first.
pub async fn history(db: &PgPool, limit: i64) -> Result<Vec<SettingsChange>> {
    Ok(sqlx::query_as(
        "SELECT id, subject, field, old_value, new_value, changed_by, at
         FROM settings_history ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.max(0))
    .fetch_all(db)
    .await?)
}
