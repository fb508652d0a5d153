//! Writing the environment's configuration into the shared settings.
//!
//! A value set in the environment overwrites and is marked pinned by its
//! variable; defaults only fill rows that do not exist yet. A pin the
//! environment no longer sets is lifted (the value stays, editable again),
//! except that a platform the environment had *disabled* by leaving it out
//! of `PLATFORM_PRIORITY` is enabled again once the environment no longer
//! leaves it out: that "disabled" was the environment's, not an
//! administrator's. A platform an administrator disabled (never pinned)
//! stays disabled. Rows that would not change are not written.
//!
//! Two steps: [`resolve`] is a pure function from the environment and the
//! rows in force to an [`EnvPlan`] (every rule above lives there, tested
//! without a database); [`apply_env`] reads the rows under the settings
//! lock, resolves and writes the plan.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};

use super::{lock, record};
use crate::actor::Actor;
use crate::config::EnvConfig;
use crate::error::Result;
use crate::meeting::PlatformKind;

/// A `platform_settings` row as the environment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Position in the priority order.
    pub position: i32,
    /// Whether the router may use the platform.
    pub enabled: bool,
    /// Max concurrent bots (`None`: skipped).
    pub bot_limit: Option<i32>,
    /// How long a request waits for the platform.
    pub queue_timeout_ms: i32,
    /// Field name → the variable pinning it.
    pub pinned: BTreeMap<String, String>,
}

/// One change to record in `settings_history`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The field (`position`, `enabled`, `botLimit`, `queueTimeoutMs`).
    pub field: &'static str,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
}

/// What the environment does to one platform's row.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformPlan {
    /// Which platform.
    pub kind: PlatformKind,
    /// The row does not exist yet: insert it with these defaults first.
    pub insert: Option<Row>,
    /// The row before the environment's changes (the inserted one, if new).
    pub before: Row,
    /// The row after them; written only when it differs from `before`.
    pub after: Row,
    /// The changes to record, in order (unchanged values are skipped when written).
    pub changes: Vec<Change>,
}

/// What the environment does to the global queue timeout.
#[derive(Debug, Clone, PartialEq)]
pub enum GlobalPlan {
    /// `GLOBAL_QUEUE_TIMEOUT_MS` is set: the value is pinned by it.
    Pin {
        /// The variable.
        var: String,
        /// The value.
        value: u32,
        /// The value before (`Null` when none was stored).
        old: Value,
    },
    /// Not set: the default fills a missing row, a pin is lifted.
    Unpinned {
        /// The default written when no value is stored.
        default: u32,
    },
}

/// Everything one application of the environment writes.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvPlan {
    /// Every platform, in [`PlatformKind::ALL`] order.
    pub platforms: Vec<PlatformPlan>,
    /// The global queue timeout.
    pub global: GlobalPlan,
}

/// Resolves what the environment `env` changes, given the platform rows in
/// force (`rows`, missing ones absent) and the stored global queue timeout
/// (`global`, `None` when no row exists). Pure: reads and writes nothing.
pub fn resolve(
    env: &EnvConfig,
    rows: &HashMap<PlatformKind, Row>,
    global: Option<&Value>,
) -> EnvPlan {
    let platforms = PlatformKind::ALL
        .iter()
        .enumerate()
        .map(|(ordinal, kind)| resolve_platform(env, *kind, ordinal, rows.get(kind)))
        .collect();
    let g = &env.global_queue_timeout_ms;
    let global = match &g.pinned_by {
        Some(var) => GlobalPlan::Pin {
            var: var.clone(),
            value: g.value,
            old: global.cloned().unwrap_or(Value::Null),
        },
        None => GlobalPlan::Unpinned { default: g.value },
    };
    EnvPlan { platforms, global }
}

/// The row a platform gets when none exists: its place in the priority
/// order (unlisted ones after every listed one), enabled when listed, the
/// configured or default limit and timeout, nothing pinned yet.
fn fresh_row(env: &EnvConfig, kind: PlatformKind, ordinal: usize) -> Row {
    let listed = env.priority.value.iter().position(|k| *k == kind);
    let cfg = env.platforms.iter().find(|p| p.kind == kind);
    Row {
        position: listed.map_or(100 + ordinal as i32, |i| i as i32),
        enabled: listed.is_some(),
        bot_limit: cfg.map(|c| c.bot_limit.value as i32),
        queue_timeout_ms: cfg.map_or(kind.default_queue_timeout_ms(), |c| {
            c.queue_timeout_ms.value
        }) as i32,
        pinned: BTreeMap::new(),
    }
}

fn resolve_platform(
    env: &EnvConfig,
    kind: PlatformKind,
    ordinal: usize,
    existing: Option<&Row>,
) -> PlatformPlan {
    let fresh = fresh_row(env, kind, ordinal);
    let insert = existing.is_none().then(|| fresh.clone());
    let before = existing.cloned().unwrap_or_else(|| fresh.clone());
    let mut row = before.clone();
    let mut pinned = BTreeMap::new();
    let mut changes = Vec::new();
    let mut change = |field, old: Value, new: Value| changes.push(Change { field, old, new });
    let listed = env.priority.value.contains(&kind);
    let env_disabled_it = before.pinned.contains_key("enabled");
    let mut enabled = None;
    match &env.priority.pinned_by {
        Some(var) => {
            pinned.insert("position".to_string(), var.clone());
            change("position", json!(row.position), json!(fresh.position));
            row.position = fresh.position;
            if !listed {
                pinned.insert("enabled".to_string(), var.clone());
                enabled = Some(false);
            } else if env_disabled_it {
                enabled = Some(true);
            }
        }
        // The pinned order is gone: only a platform the environment itself
        // had left out goes back to its unconfigured default.
        None if env_disabled_it => enabled = Some(listed),
        None => {}
    }
    if let Some(v) = enabled {
        change("enabled", json!(row.enabled), json!(v));
        row.enabled = v;
    }
    // The limit and queue timeout the environment pins (a listed platform
    // without a limit is pinned to none: reference 004 skips it).
    match env.platforms.iter().find(|p| p.kind == kind) {
        Some(c) => {
            if let Some(var) = &c.bot_limit.pinned_by {
                pinned.insert("botLimit".to_string(), var.clone());
                let v = c.bot_limit.value as i32;
                change("botLimit", json!(row.bot_limit), json!(v));
                row.bot_limit = Some(v);
            }
            if let Some(var) = &c.queue_timeout_ms.pinned_by {
                pinned.insert("queueTimeoutMs".to_string(), var.clone());
                let v = c.queue_timeout_ms.value as i32;
                change("queueTimeoutMs", json!(row.queue_timeout_ms), json!(v));
                row.queue_timeout_ms = v;
            }
        }
        None if listed && env.priority.pinned_by.is_some() => {
            let var = format!("{}_BOT_LIMIT", kind.env_prefix());
            pinned.insert("botLimit".to_string(), var);
            change("botLimit", json!(row.bot_limit), Value::Null);
            row.bot_limit = None;
        }
        None => {}
    }
    row.pinned = pinned;
    PlatformPlan {
        kind,
        insert,
        before,
        after: row,
        changes,
    }
}

/// Writes the environment's configuration into the shared settings, in one
/// transaction under the settings lock: the rows in force are read,
/// [`resolve`]d and the plan written. Idempotent: applying the same
/// configuration again writes nothing. Changes are recorded as made by
/// [`Actor::environment`]. Publishes nothing: it runs while an instance
/// starts, before anyone can watch it.
pub async fn apply_env(db: &PgPool, env: &EnvConfig) -> Result<()> {
    let mut tx = db.begin().await?;
    // One writer at a time: instances starting together must not interleave.
    lock(&mut tx).await?;
    let rows = read_rows(&mut tx).await?;
    let global: Option<Value> = sqlx::query_scalar(
        "SELECT value FROM global_settings WHERE key = 'global_queue_timeout_ms'",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let plan = resolve(env, &rows, global.as_ref());
    write(&mut tx, &plan).await?;
    tx.commit().await?;
    Ok(())
}

async fn read_rows(conn: &mut PgConnection) -> Result<HashMap<PlatformKind, Row>> {
    let rows: Vec<(String, i32, bool, Option<i32>, i32, Value)> = sqlx::query_as(
        "SELECT platform, position, enabled, bot_limit, queue_timeout_ms, pinned
         FROM platform_settings FOR UPDATE",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for (platform, position, enabled, bot_limit, queue_timeout_ms, pinned) in rows {
        let Ok(kind) = platform.parse::<PlatformKind>() else {
            continue; // a platform this build does not know: not the environment's
        };
        out.insert(
            kind,
            Row {
                position,
                enabled,
                bot_limit,
                queue_timeout_ms,
                pinned: serde_json::from_value(pinned).unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// Writes a resolved plan: missing rows inserted, changes recorded, rows
/// that differ updated, the global timeout pinned or unpinned.
async fn write(conn: &mut PgConnection, plan: &EnvPlan) -> Result<()> {
    let who = Actor::environment();
    for p in &plan.platforms {
        if let Some(fresh) = &p.insert {
            sqlx::query(
                "INSERT INTO platform_settings (platform, position, enabled, bot_limit, queue_timeout_ms, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(p.kind.as_str())
            .bind(fresh.position)
            .bind(fresh.enabled)
            .bind(fresh.bot_limit)
            .bind(fresh.queue_timeout_ms)
            .bind(who.record())
            .execute(&mut *conn)
            .await?;
        }
        let subject = format!("platform:{}", p.kind.as_str());
        for c in &p.changes {
            record(conn, &subject, c.field, c.old.clone(), c.new.clone(), &who).await?;
        }
        if p.after == p.before {
            continue;
        }
        let row = &p.after;
        sqlx::query(
            "UPDATE platform_settings SET position = $2, enabled = $3, bot_limit = $4, queue_timeout_ms = $5,
                pinned = $6, updated_at = now()
             WHERE platform = $1",
        )
        .bind(p.kind.as_str())
        .bind(row.position)
        .bind(row.enabled)
        .bind(row.bot_limit)
        .bind(row.queue_timeout_ms)
        .bind(serde_json::to_value(&row.pinned).unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    }
    write_global(conn, &plan.global, &who).await
}

async fn write_global(conn: &mut PgConnection, plan: &GlobalPlan, who: &Actor) -> Result<()> {
    match plan {
        GlobalPlan::Pin { var, value, old } => {
            record(
                conn,
                "global",
                "globalQueueTimeoutMs",
                old.clone(),
                json!(value),
                who,
            )
            .await?;
            sqlx::query(
                "INSERT INTO global_settings (key, value, pinned_by, updated_by) VALUES ('global_queue_timeout_ms', $1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = $1, pinned_by = $2, updated_at = now(), updated_by = $3
                 WHERE (global_settings.value, global_settings.pinned_by) IS DISTINCT FROM ($1, $2)",
            )
            .bind(json!(value))
            .bind(var)
            .bind(who.record())
            .execute(&mut *conn)
            .await?;
        }
        GlobalPlan::Unpinned { default } => {
            sqlx::query(
                "INSERT INTO global_settings (key, value, updated_by) VALUES ('global_queue_timeout_ms', $1, $2)
                 ON CONFLICT (key) DO UPDATE SET pinned_by = NULL WHERE global_settings.pinned_by IS NOT NULL",
            )
            .bind(json!(default))
            .bind(who.record())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
