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

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

use super::{lock, record};
use crate::config::EnvConfig;
use crate::error::Result;
use crate::meeting::PlatformKind;

const WHO: &str = "environment";

/// Writes the environment's configuration into the shared settings, in one
/// transaction. Idempotent: applying the same configuration again writes
/// nothing. Changes are recorded as made by `environment`.
pub async fn apply_env(db: &PgPool, env: &EnvConfig) -> Result<()> {
    let mut tx = db.begin().await?;
    // One writer at a time: instances starting together must not interleave.
    lock(&mut tx).await?;
    for (ordinal, kind) in PlatformKind::ALL.iter().enumerate() {
        apply_platform(&mut tx, env, *kind, ordinal).await?;
    }
    apply_global(&mut tx, env).await?;
    tx.commit().await?;
    Ok(())
}

/// A `platform_settings` row as the environment sees it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Row {
    position: i32,
    enabled: bool,
    bot_limit: Option<i32>,
    queue_timeout_ms: i32,
    pinned: Value,
}

async fn existing_or_new(conn: &mut PgConnection, kind: PlatformKind, fresh: Row) -> Result<Row> {
    let existing: Option<Row> = sqlx::query_as(
        "SELECT position, enabled, bot_limit, queue_timeout_ms, pinned FROM platform_settings
         WHERE platform = $1 FOR UPDATE",
    )
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = existing {
        return Ok(row);
    }
    sqlx::query(
        "INSERT INTO platform_settings (platform, position, enabled, bot_limit, queue_timeout_ms, updated_by)
         VALUES ($1, $2, $3, $4, $5, 'environment')",
    )
    .bind(kind.as_str())
    .bind(fresh.position)
    .bind(fresh.enabled)
    .bind(fresh.bot_limit)
    .bind(fresh.queue_timeout_ms)
    .execute(&mut *conn)
    .await?;
    Ok(Row {
        pinned: json!({}),
        ..fresh
    })
}

async fn apply_platform(
    conn: &mut PgConnection,
    env: &EnvConfig,
    kind: PlatformKind,
    ordinal: usize,
) -> Result<()> {
    let listed = env.priority.value.iter().position(|k| *k == kind);
    let cfg = env.platforms.iter().find(|p| p.kind == kind);
    let position = listed.map_or(100 + ordinal as i32, |i| i as i32);
    let fresh = Row {
        position,
        enabled: listed.is_some(),
        bot_limit: cfg.map(|c| c.bot_limit.value as i32),
        queue_timeout_ms: cfg.map_or(kind.default_queue_timeout_ms(), |c| {
            c.queue_timeout_ms.value
        }) as i32,
        pinned: json!({}),
    };
    let before = existing_or_new(conn, kind, fresh).await?;
    let was_pinned: BTreeMap<String, String> =
        serde_json::from_value(before.pinned.clone()).unwrap_or_default();
    let mut row = before.clone();
    let mut pinned = BTreeMap::new();
    let subject = format!("platform:{}", kind.as_str());
    let env_disabled_it = was_pinned.contains_key("enabled");
    let mut enabled = None;
    match &env.priority.pinned_by {
        Some(var) => {
            pinned.insert("position".to_string(), var.clone());
            record(
                conn,
                &subject,
                "position",
                json!(row.position),
                json!(position),
                WHO,
            )
            .await?;
            row.position = position;
            if listed.is_none() {
                pinned.insert("enabled".to_string(), var.clone());
                enabled = Some(false);
            } else if env_disabled_it {
                enabled = Some(true);
            }
        }
        // The pinned order is gone: only a platform the environment itself
        // had left out goes back to its unconfigured default.
        None if env_disabled_it => enabled = Some(listed.is_some()),
        None => {}
    }
    if let Some(v) = enabled {
        record(conn, &subject, "enabled", json!(row.enabled), json!(v), WHO).await?;
        row.enabled = v;
    }
    apply_limits(conn, env, kind, &mut row, &mut pinned).await?;
    row.pinned = serde_json::to_value(&pinned).unwrap_or_default();
    if row == before {
        return Ok(());
    }
    sqlx::query(
        "UPDATE platform_settings SET position = $2, enabled = $3, bot_limit = $4, queue_timeout_ms = $5,
            pinned = $6, updated_at = now()
         WHERE platform = $1",
    )
    .bind(kind.as_str())
    .bind(row.position)
    .bind(row.enabled)
    .bind(row.bot_limit)
    .bind(row.queue_timeout_ms)
    .bind(&row.pinned)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The limit and queue timeout the environment pins for one platform (a
/// listed platform without a limit is pinned to none: skipped).
async fn apply_limits(
    conn: &mut PgConnection,
    env: &EnvConfig,
    kind: PlatformKind,
    row: &mut Row,
    pinned: &mut BTreeMap<String, String>,
) -> Result<()> {
    let subject = format!("platform:{}", kind.as_str());
    let listed = env.priority.value.contains(&kind);
    let cfg = env.platforms.iter().find(|p| p.kind == kind);
    if let Some(c) = cfg {
        if let Some(var) = &c.bot_limit.pinned_by {
            pinned.insert("botLimit".to_string(), var.clone());
            let v = c.bot_limit.value as i32;
            record(
                conn,
                &subject,
                "botLimit",
                json!(row.bot_limit),
                json!(v),
                WHO,
            )
            .await?;
            row.bot_limit = Some(v);
        }
        if let Some(var) = &c.queue_timeout_ms.pinned_by {
            pinned.insert("queueTimeoutMs".to_string(), var.clone());
            let v = c.queue_timeout_ms.value as i32;
            record(
                conn,
                &subject,
                "queueTimeoutMs",
                json!(row.queue_timeout_ms),
                json!(v),
                WHO,
            )
            .await?;
            row.queue_timeout_ms = v;
        }
    } else if listed && env.priority.pinned_by.is_some() {
        // Listed without a limit: reference 004 skips it (with a warning).
        pinned.insert(
            "botLimit".to_string(),
            format!("{}_BOT_LIMIT", kind.env_prefix()),
        );
        record(
            conn,
            &subject,
            "botLimit",
            json!(row.bot_limit),
            Value::Null,
            WHO,
        )
        .await?;
        row.bot_limit = None;
    }
    Ok(())
}

async fn apply_global(conn: &mut PgConnection, env: &EnvConfig) -> Result<()> {
    let g = &env.global_queue_timeout_ms;
    match &g.pinned_by {
        Some(var) => {
            let old: Option<Value> = sqlx::query_scalar(
                "SELECT value FROM global_settings WHERE key = 'global_queue_timeout_ms'",
            )
            .fetch_optional(&mut *conn)
            .await?;
            record(
                conn,
                "global",
                "globalQueueTimeoutMs",
                old.unwrap_or(Value::Null),
                json!(g.value),
                WHO,
            )
            .await?;
            sqlx::query(
                "INSERT INTO global_settings (key, value, pinned_by, updated_by) VALUES ('global_queue_timeout_ms', $1, $2, 'environment')
                 ON CONFLICT (key) DO UPDATE SET value = $1, pinned_by = $2, updated_at = now(), updated_by = 'environment'
                 WHERE (global_settings.value, global_settings.pinned_by) IS DISTINCT FROM ($1, $2)",
            )
            .bind(json!(g.value))
            .bind(var)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO global_settings (key, value, updated_by) VALUES ('global_queue_timeout_ms', $1, 'environment')
                 ON CONFLICT (key) DO UPDATE SET pinned_by = NULL WHERE global_settings.pinned_by IS NOT NULL",
            )
            .bind(json!(g.value))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
