//! Platform settings shared by every instance, in the database.
//!
//! Sources, strongest first: a value set in the environment (pinned at
//! start-up, shown read-only with the variable's name), then what an
//! administrator saved, then defaults. Every change is recorded in
//! `settings_history` with who made it.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

use crate::config::{EnvConfig, DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;

/// One platform's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSettings {
    /// Which platform.
    pub platform: PlatformKind,
    /// Position in the priority order (0 first).
    pub position: i32,
    /// Whether the router may use it.
    pub enabled: bool,
    /// Max concurrent bots; `None`: skipped (no limit configured).
    pub bot_limit: Option<i32>,
    /// How long a request waits for it before the next platform is tried.
    pub queue_timeout_ms: i32,
    /// Field name → environment variable that pins it.
    pub pinned: BTreeMap<String, String>,
}

/// Every setting the router needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Platforms by priority.
    pub platforms: Vec<PlatformSettings>,
    /// Ceiling of every request's global queue timeout.
    pub global_queue_timeout_ms: i32,
    /// The variable pinning the global queue timeout, if any.
    pub global_queue_timeout_pinned_by: Option<String>,
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

/// Reads the settings in force.
pub async fn load(db: &PgPool) -> Result<Settings> {
    let rows: Vec<(String, i32, bool, Option<i32>, i32, Value)> = sqlx::query_as(
        "SELECT platform, position, enabled, bot_limit, queue_timeout_ms, pinned
         FROM platform_settings ORDER BY position, platform",
    )
    .fetch_all(db)
    .await?;
    let mut platforms = Vec::with_capacity(rows.len());
    for (platform, position, enabled, bot_limit, queue_timeout_ms, pinned) in rows {
        let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
        platforms.push(PlatformSettings {
            platform: platform.parse()?,
            position,
            enabled,
            bot_limit,
            queue_timeout_ms,
            pinned,
        });
    }
    let global: Option<(Value, Option<String>)> = sqlx::query_as(
        "SELECT value, pinned_by FROM global_settings WHERE key = 'global_queue_timeout_ms'",
    )
    .fetch_optional(db)
    .await?;
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
    })
}

async fn record(
    conn: &mut PgConnection,
    subject: &str,
    field: &str,
    old: Value,
    new: Value,
    who: &str,
) -> Result<()> {
    if old != new {
        sqlx::query(
            "INSERT INTO settings_history (subject, field, old_value, new_value, changed_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(subject)
        .bind(field)
        .bind(old)
        .bind(new)
        .bind(who)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes the environment's configuration into the shared settings:
/// pinned values overwrite and are marked pinned; defaults only fill rows
/// that do not exist yet. Idempotent; changes are recorded as made by
/// `environment`.
pub async fn apply_env(db: &PgPool, env: &EnvConfig) -> Result<()> {
    let mut tx = db.begin().await?;
    // One writer at a time: instances starting together must not interleave.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.settings'))")
        .execute(&mut *tx)
        .await?;
    let order = &env.priority.value;
    for (ordinal, kind) in PlatformKind::ALL.iter().enumerate() {
        let listed = order.iter().position(|k| k == kind);
        let cfg = env.platforms.iter().find(|p| p.kind == *kind);
        let position = listed.map(|i| i as i32).unwrap_or(100 + ordinal as i32);
        let existing: Option<(i32, bool, Option<i32>, i32)> = sqlx::query_as(
            "SELECT position, enabled, bot_limit, queue_timeout_ms FROM platform_settings WHERE platform = $1 FOR UPDATE",
        )
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let default_timeout = cfg
            .map(|c| c.queue_timeout_ms.value)
            .unwrap_or(kind.default_queue_timeout_ms()) as i32;
        let (mut cur_position, mut cur_enabled, mut cur_limit, mut cur_timeout) = match existing {
            Some(row) => row,
            None => {
                let row = (
                    position,
                    listed.is_some(),
                    cfg.map(|c| c.bot_limit.value as i32),
                    default_timeout,
                );
                sqlx::query(
                    "INSERT INTO platform_settings (platform, position, enabled, bot_limit, queue_timeout_ms, updated_by)
                     VALUES ($1, $2, $3, $4, $5, 'environment')",
                )
                .bind(kind.as_str())
                .bind(row.0)
                .bind(row.1)
                .bind(row.2)
                .bind(row.3)
                .execute(&mut *tx)
                .await?;
                row
            }
        };
        let mut pinned = BTreeMap::new();
        let subject = format!("platform:{}", kind.as_str());
        if let Some(var) = &env.priority.pinned_by {
            pinned.insert("position".to_string(), var.clone());
            record(
                &mut tx,
                &subject,
                "position",
                json!(cur_position),
                json!(position),
                "environment",
            )
            .await?;
            cur_position = position;
            if listed.is_none() {
                pinned.insert("enabled".to_string(), var.clone());
                record(
                    &mut tx,
                    &subject,
                    "enabled",
                    json!(cur_enabled),
                    json!(false),
                    "environment",
                )
                .await?;
                cur_enabled = false;
            }
        }
        if let Some(c) = cfg {
            if let Some(var) = &c.bot_limit.pinned_by {
                pinned.insert("botLimit".to_string(), var.clone());
                let v = c.bot_limit.value as i32;
                record(
                    &mut tx,
                    &subject,
                    "botLimit",
                    json!(cur_limit),
                    json!(v),
                    "environment",
                )
                .await?;
                cur_limit = Some(v);
            }
            if let Some(var) = &c.queue_timeout_ms.pinned_by {
                pinned.insert("queueTimeoutMs".to_string(), var.clone());
                let v = c.queue_timeout_ms.value as i32;
                record(
                    &mut tx,
                    &subject,
                    "queueTimeoutMs",
                    json!(cur_timeout),
                    json!(v),
                    "environment",
                )
                .await?;
                cur_timeout = v;
            }
        } else if listed.is_some() && env.priority.pinned_by.is_some() {
            // Listed without a limit: reference 004 skips it (with a warning).
            pinned.insert(
                "botLimit".to_string(),
                format!("{}_BOT_LIMIT", kind.env_prefix()),
            );
            record(
                &mut tx,
                &subject,
                "botLimit",
                json!(cur_limit),
                Value::Null,
                "environment",
            )
            .await?;
            cur_limit = None;
        }
        sqlx::query(
            "UPDATE platform_settings SET position = $2, enabled = $3, bot_limit = $4, queue_timeout_ms = $5,
                pinned = $6, updated_at = now()
             WHERE platform = $1",
        )
        .bind(kind.as_str())
        .bind(cur_position)
        .bind(cur_enabled)
        .bind(cur_limit)
        .bind(cur_timeout)
        .bind(serde_json::to_value(&pinned).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    }
    let g = &env.global_queue_timeout_ms;
    match &g.pinned_by {
        Some(var) => {
            let old: Option<Value> = sqlx::query_scalar(
                "SELECT value FROM global_settings WHERE key = 'global_queue_timeout_ms'",
            )
            .fetch_optional(&mut *tx)
            .await?;
            record(
                &mut tx,
                "global",
                "globalQueueTimeoutMs",
                old.unwrap_or(Value::Null),
                json!(g.value),
                "environment",
            )
            .await?;
            sqlx::query(
                "INSERT INTO global_settings (key, value, pinned_by, updated_by) VALUES ('global_queue_timeout_ms', $1, $2, 'environment')
                 ON CONFLICT (key) DO UPDATE SET value = $1, pinned_by = $2, updated_at = now(), updated_by = 'environment'",
            )
            .bind(json!(g.value))
            .bind(var)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO global_settings (key, value, updated_by) VALUES ('global_queue_timeout_ms', $1, 'environment')
                 ON CONFLICT (key) DO UPDATE SET pinned_by = NULL",
            )
            .bind(json!(g.value))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// An administrator's edit of one platform; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct PlatformEdit {
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New limit (1..=100000).
    pub bot_limit: Option<i32>,
    /// New queue timeout (0..=3600000 ms).
    pub queue_timeout_ms: Option<i32>,
}

/// Applies an administrator's edit, refusing fields pinned by the
/// environment; records each change as made by `who`.
pub async fn edit_platform(
    db: &PgPool,
    kind: PlatformKind,
    edit: &PlatformEdit,
    who: &str,
) -> Result<()> {
    if let Some(l) = edit.bot_limit {
        if !(1..=100_000).contains(&l) {
            return Err(Error::config(
                ErrorCode::ConfigInvalid,
                "botLimit",
                format!("must be from 1 to 100000, got {l}"),
            ));
        }
    }
    if let Some(t) = edit.queue_timeout_ms {
        if !(0..=3_600_000).contains(&t) {
            return Err(Error::config(
                ErrorCode::ConfigInvalid,
                "queueTimeoutMs",
                format!("must be from 0 to 3600000, got {t}"),
            ));
        }
    }
    let mut tx = db.begin().await?;
    let row: Option<(bool, Option<i32>, i32, Value)> = sqlx::query_as(
        "SELECT enabled, bot_limit, queue_timeout_ms, pinned FROM platform_settings WHERE platform = $1 FOR UPDATE",
    )
    .bind(kind.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((enabled, limit, timeout, pinned)) = row else {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("no settings for {kind}"),
        ));
    };
    let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
    let subject = format!("platform:{kind}");
    let check = |field: &str| -> Result<()> {
        match pinned.get(field) {
            Some(var) => Err(Error::config(
                ErrorCode::Conflict,
                field,
                format!("is fixed by the environment variable {var}; change it there"),
            )),
            None => Ok(()),
        }
    };
    if let Some(v) = edit.enabled {
        check("enabled")?;
        record(&mut tx, &subject, "enabled", json!(enabled), json!(v), who).await?;
    }
    if let Some(v) = edit.bot_limit {
        check("botLimit")?;
        record(&mut tx, &subject, "botLimit", json!(limit), json!(v), who).await?;
    }
    if let Some(v) = edit.queue_timeout_ms {
        check("queueTimeoutMs")?;
        record(
            &mut tx,
            &subject,
            "queueTimeoutMs",
            json!(timeout),
            json!(v),
            who,
        )
        .await?;
    }
    sqlx::query(
        "UPDATE platform_settings SET enabled = COALESCE($2, enabled), bot_limit = COALESCE($3, bot_limit),
            queue_timeout_ms = COALESCE($4, queue_timeout_ms), updated_at = now(), updated_by = $5
         WHERE platform = $1",
    )
    .bind(kind.as_str())
    .bind(edit.enabled)
    .bind(edit.bot_limit)
    .bind(edit.queue_timeout_ms)
    .bind(who)
    .execute(&mut *tx)
    .await?;
    ensure_routable(&mut tx, "enabled").await?;
    tx.commit().await?;
    Ok(())
}

/// Reference 004's rule that at least one listed platform has a limit, as
/// it applies to edits: some enabled platform must keep a limit, or every
/// request would end in the global queue.
async fn ensure_routable(conn: &mut PgConnection, field: &str) -> Result<()> {
    let routable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform_settings WHERE enabled AND bot_limit IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    if routable == 0 {
        return Err(Error::config(
            ErrorCode::ConfigInvalid,
            field,
            "at least one enabled platform needs a limit; this change would leave none",
        ));
    }
    Ok(())
}

/// Sets the priority order: `order` lists every platform exactly once, first
/// tried first. Refused when the order is pinned by `PLATFORM_PRIORITY`;
/// each moved platform is recorded as changed by `who`.
pub async fn set_priority(db: &PgPool, order: &[PlatformKind], who: &str) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for kind in order {
        if !seen.insert(*kind) {
            return Err(Error::config(
                ErrorCode::ConfigInvalid,
                "priority",
                format!("lists {kind} twice"),
            ));
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.settings'))")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(String, i32, Value)> = sqlx::query_as(
        "SELECT platform, position, pinned FROM platform_settings ORDER BY position, platform FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut current = Vec::with_capacity(rows.len());
    for (platform, position, pinned) in rows {
        let kind: PlatformKind = platform.parse()?;
        let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
        current.push((kind, position, pinned.get("position").cloned()));
    }
    let missing: Vec<&str> = current
        .iter()
        .filter(|(k, _, _)| !seen.contains(k))
        .map(|(k, _, _)| k.as_str())
        .collect();
    if !missing.is_empty() || order.len() != current.len() {
        return Err(Error::config(
            ErrorCode::ConfigInvalid,
            "priority",
            format!(
                "must list every platform exactly once; missing: {}",
                if missing.is_empty() {
                    "none (unknown platforms listed)".to_string()
                } else {
                    missing.join(", ")
                }
            ),
        ));
    }
    if current.iter().map(|(k, _, _)| k).eq(order.iter()) {
        return Ok(()); // the order in force: nothing to change or record
    }
    if let Some((_, _, Some(var))) = current.iter().find(|(_, _, pinned)| pinned.is_some()) {
        return Err(Error::config(
            ErrorCode::Conflict,
            "priority",
            format!("is fixed by the environment variable {var}; change it there"),
        ));
    }
    for (i, kind) in order.iter().enumerate() {
        let (_, old, _) = current
            .iter()
            .find(|(k, _, _)| k == kind)
            .ok_or_else(|| Error::new(ErrorCode::Internal, "platform vanished"))?;
        let new = i as i32;
        if *old == new {
            continue;
        }
        record(
            &mut tx,
            &format!("platform:{kind}"),
            "position",
            json!(old),
            json!(new),
            who,
        )
        .await?;
        sqlx::query(
            "UPDATE platform_settings SET position = $2, updated_at = now(), updated_by = $3 WHERE platform = $1",
        )
        .bind(kind.as_str())
        .bind(new)
        .bind(who)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets the ceiling of every request's global queue timeout
/// (1000..=3600000 ms, as `GLOBAL_QUEUE_TIMEOUT_MS`). Refused when that
/// variable pins it; the change is recorded as made by `who`.
pub async fn set_global_queue_timeout(db: &PgPool, ms: i32, who: &str) -> Result<()> {
    if !(1_000..=3_600_000).contains(&ms) {
        return Err(Error::config(
            ErrorCode::ConfigInvalid,
            "globalQueueTimeoutMs",
            format!("must be from 1000 to 3600000, got {ms}"),
        ));
    }
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth.settings'))")
        .execute(&mut *tx)
        .await?;
    let row: Option<(Value, Option<String>)> = sqlx::query_as(
        "SELECT value, pinned_by FROM global_settings WHERE key = 'global_queue_timeout_ms' FOR UPDATE",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let old = match row {
        Some((_, Some(var))) => {
            return Err(Error::config(
                ErrorCode::Conflict,
                "globalQueueTimeoutMs",
                format!("is fixed by the environment variable {var}; change it there"),
            ))
        }
        Some((v, None)) => v,
        None => Value::Null,
    };
    record(
        &mut tx,
        "global",
        "globalQueueTimeoutMs",
        old,
        json!(ms),
        who,
    )
    .await?;
    sqlx::query(
        "INSERT INTO global_settings (key, value, updated_by) VALUES ('global_queue_timeout_ms', $1, $2)
         ON CONFLICT (key) DO UPDATE SET value = $1, updated_at = now(), updated_by = $2",
    )
    .bind(json!(ms))
    .bind(who)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One recorded settings change.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    /// Change id (increasing).
    pub id: i64,
    /// `platform:<kind>` or `global`.
    pub subject: String,
    /// The field (`enabled`, `botLimit`, `queueTimeoutMs`, `position`, `globalQueueTimeoutMs`).
    pub field: String,
    /// Value before.
    pub old_value: Option<Value>,
    /// Value after.
    pub new_value: Option<Value>,
    /// Who made it (`environment`, `desktop:<user>`, ...).
    pub changed_by: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
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
