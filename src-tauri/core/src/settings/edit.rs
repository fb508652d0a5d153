//! Administrators' edits of the settings.
//!
//! A save ([`SettingsPlan`]: the priority order, each platform's edits and
//! the global queue timeout) is one transaction: every value is checked,
//! pinned fields are refused, and at the end some enabled platform must
//! still have a limit. Any refusal rolls the whole save back, so a refused
//! save changes nothing and records nothing.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};

use super::rules::{BOT_LIMIT, GLOBAL_QUEUE_TIMEOUT_MS, QUEUE_TIMEOUT_MS};
use super::{load, lock, record, Settings};
use crate::actor::Actor;
use crate::audit::{self, TargetKind};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};
use crate::meeting::PlatformKind;
use crate::tier::{self, TierSettings};

/// An administrator's edit of one platform; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformEdit {
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New limit (within [`BOT_LIMIT`]).
    pub bot_limit: Option<i32>,
    /// New queue timeout (within [`QUEUE_TIMEOUT_MS`]).
    pub queue_timeout_ms: Option<i32>,
}

impl PlatformEdit {
    fn is_empty(&self) -> bool {
        self.enabled.is_none() && self.bot_limit.is_none() && self.queue_timeout_ms.is_none()
    }
}

/// Everything one save changes; parts left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPlan {
    /// The priority order: every platform exactly once, first tried first.
    pub order: Option<Vec<PlatformKind>>,
    /// Edits of single platforms (each platform at most once).
    pub edits: Vec<(PlatformKind, PlatformEdit)>,
    /// The ceiling of every request's global queue timeout (within
    /// [`GLOBAL_QUEUE_TIMEOUT_MS`]).
    pub global_queue_timeout_ms: Option<i32>,
    /// The priority tiers and the default one, replaced as a whole
    /// (checked by [`crate::tier::check`]).
    pub tiers: Option<TierSettings>,
}

fn invalid(field: &str, message: String) -> Error {
    Error::config(ErrorCode::ConfigInvalid, field, message)
}

fn pinned_error(field: &str, var: &str) -> Error {
    Error::config(
        ErrorCode::Conflict,
        field,
        format!("is fixed by the environment variable {var}; change it there"),
    )
}

/// The checks that need no database: ranges, duplicates, an empty plan.
fn check_values(plan: &SettingsPlan) -> Result<()> {
    if plan.order.is_none()
        && plan.edits.is_empty()
        && plan.global_queue_timeout_ms.is_none()
        && plan.tiers.is_none()
    {
        return Err(Error::new(ErrorCode::InvalidInput, "nothing to change"));
    }
    if let Some(order) = &plan.order {
        let mut seen = BTreeSet::new();
        if let Some(twice) = order.iter().find(|k| !seen.insert(**k)) {
            return Err(invalid("priority", format!("lists {twice} twice")));
        }
    }
    let mut edited = BTreeSet::new();
    for (kind, edit) in &plan.edits {
        if !edited.insert(*kind) {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("{kind} is edited twice in one save"),
            ));
        }
        if edit.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("nothing to change for {kind}: give enabled, botLimit or queueTimeoutMs"),
            ));
        }
        if let Some(l) = edit.bot_limit.filter(|l| !BOT_LIMIT.contains((*l).into())) {
            return Err(invalid("botLimit", BOT_LIMIT.refusal(l)));
        }
        if let Some(t) = edit
            .queue_timeout_ms
            .filter(|t| !QUEUE_TIMEOUT_MS.contains((*t).into()))
        {
            return Err(invalid("queueTimeoutMs", QUEUE_TIMEOUT_MS.refusal(t)));
        }
    }
    if let Some(ms) = plan
        .global_queue_timeout_ms
        .filter(|ms| !GLOBAL_QUEUE_TIMEOUT_MS.contains((*ms).into()))
    {
        return Err(invalid(
            "globalQueueTimeoutMs",
            GLOBAL_QUEUE_TIMEOUT_MS.refusal(ms),
        ));
    }
    if let Some(tiers) = &plan.tiers {
        tier::check(tiers)?;
    }
    Ok(())
}

/// An administrator's save, the use case every face calls: the whole
/// plan checked and applied in one transaction, each change recorded as
/// made by `actor` (in the settings history, and as one `settings.save`
/// row of the audit log); after the commit the [`Topic::Settings`] and
/// [`Topic::Audit`] changes are published on `feed` (so every open app
/// reloads its settings), and the settings now in force are returned.
/// Refused (`invalid_input`, `config_invalid`, `conflict` for a value
/// pinned by the environment, `not_found`) before or while writing; either
/// way the transaction is rolled back, nothing changes and nothing is
/// published.
pub async fn save(
    db: &PgPool,
    feed: &Feed,
    plan: &SettingsPlan,
    actor: &Actor,
) -> Result<Settings> {
    save_with_reason(db, feed, plan, actor, None).await
}

/// [`save`] with the operator's reason, kept in the audit row (a bad
/// reason is `invalid_input`, before anything is written).
pub async fn save_with_reason(
    db: &PgPool,
    feed: &Feed,
    plan: &SettingsPlan,
    actor: &Actor,
    reason: Option<&str>,
) -> Result<Settings> {
    let reason = audit::reason(reason)?;
    check_values(plan)?;
    let mut tx = db.begin().await?;
    lock(&mut tx).await?;
    if let Some(order) = &plan.order {
        apply_order(&mut tx, order, actor).await?;
    }
    for (kind, edit) in &plan.edits {
        apply_edit(&mut tx, *kind, edit, actor).await?;
    }
    if !plan.edits.is_empty() {
        ensure_routable(&mut tx).await?;
    }
    if let Some(ms) = plan.global_queue_timeout_ms {
        apply_global(&mut tx, ms, actor).await?;
    }
    if let Some(tiers) = &plan.tiers {
        apply_tiers(&mut tx, tiers, actor).await?;
    }
    let record = audit::Record::new(
        actor,
        "settings.save",
        TargetKind::Settings,
        "settings",
        reason,
    )
    .detail(plan_json(plan));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    feed.publish(&[Topic::Settings, Topic::Audit]);
    load(db).await
}

/// A plan as its audit row keeps it.
fn plan_json(plan: &SettingsPlan) -> Value {
    let edits: serde_json::Map<String, Value> = plan
        .edits
        .iter()
        .map(|(kind, e)| {
            let edit = json!({ "enabled": e.enabled, "botLimit": e.bot_limit, "queueTimeoutMs": e.queue_timeout_ms });
            (kind.as_str().to_string(), edit)
        })
        .collect();
    json!({
        "order": plan.order.as_ref().map(|o| o.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
        "edits": edits,
        "globalQueueTimeoutMs": plan.global_queue_timeout_ms,
        "tiers": plan.tiers,
    })
}

/// Applies an administrator's edit of one platform ([`save`] with only it).
pub async fn edit_platform(
    db: &PgPool,
    feed: &Feed,
    kind: PlatformKind,
    edit: &PlatformEdit,
    actor: &Actor,
) -> Result<()> {
    let plan = SettingsPlan {
        edits: vec![(kind, edit.clone())],
        ..SettingsPlan::default()
    };
    save(db, feed, &plan, actor).await.map(drop)
}

/// Sets the priority order ([`save`] with only it). The order in force is
/// accepted as is, even when `PLATFORM_PRIORITY` pins it.
pub async fn set_priority(
    db: &PgPool,
    feed: &Feed,
    order: &[PlatformKind],
    actor: &Actor,
) -> Result<()> {
    let plan = SettingsPlan {
        order: Some(order.to_vec()),
        ..SettingsPlan::default()
    };
    save(db, feed, &plan, actor).await.map(drop)
}

/// Sets the ceiling of every request's global queue timeout ([`save`] with only it).
pub async fn set_global_queue_timeout(
    db: &PgPool,
    feed: &Feed,
    ms: i32,
    actor: &Actor,
) -> Result<()> {
    let plan = SettingsPlan {
        global_queue_timeout_ms: Some(ms),
        ..SettingsPlan::default()
    };
    save(db, feed, &plan, actor).await.map(drop)
}

async fn apply_edit(
    conn: &mut PgConnection,
    kind: PlatformKind,
    edit: &PlatformEdit,
    who: &Actor,
) -> Result<()> {
    let row: Option<(bool, Option<i32>, i32, Value)> = sqlx::query_as(
        "SELECT enabled, bot_limit, queue_timeout_ms, pinned FROM platform_settings WHERE platform = $1 FOR UPDATE",
    )
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((enabled, limit, timeout, pinned)) = row else {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("no settings for {kind}"),
        ));
    };
    let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
    let subject = format!("platform:{kind}");
    let check = |field: &str| match pinned.get(field) {
        Some(var) => Err(pinned_error(field, var)),
        None => Ok(()),
    };
    if let Some(v) = edit.enabled {
        check("enabled")?;
        record(conn, &subject, "enabled", json!(enabled), json!(v), who).await?;
    }
    if let Some(v) = edit.bot_limit {
        check("botLimit")?;
        record(conn, &subject, "botLimit", json!(limit), json!(v), who).await?;
    }
    if let Some(v) = edit.queue_timeout_ms {
        check("queueTimeoutMs")?;
        record(
            conn,
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
    .bind(who.record())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reference 004's rule that at least one listed platform has a limit, as
/// it applies to edits: some enabled platform must keep a limit, or every
/// request would end in the global queue.
async fn ensure_routable(conn: &mut PgConnection) -> Result<()> {
    let routable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform_settings WHERE enabled AND bot_limit IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    if routable == 0 {
        return Err(invalid(
            "enabled",
            "at least one enabled platform needs a limit; this change would leave none".into(),
        ));
    }
    Ok(())
}

async fn apply_order(conn: &mut PgConnection, order: &[PlatformKind], who: &Actor) -> Result<()> {
    let rows: Vec<(String, i32, Value)> = sqlx::query_as(
        "SELECT platform, position, pinned FROM platform_settings ORDER BY position, platform FOR UPDATE",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut current = Vec::with_capacity(rows.len());
    for (platform, position, pinned) in rows {
        let kind: PlatformKind = platform.parse()?;
        let pinned: BTreeMap<String, String> = serde_json::from_value(pinned).unwrap_or_default();
        current.push((kind, position, pinned.get("position").cloned()));
    }
    let missing: Vec<&str> = current
        .iter()
        .filter(|(k, _, _)| !order.contains(k))
        .map(|(k, _, _)| k.as_str())
        .collect();
    if !missing.is_empty() || order.len() != current.len() {
        return Err(invalid(
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
        return Err(pinned_error("priority", var));
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
        let subject = format!("platform:{kind}");
        record(conn, &subject, "position", json!(old), json!(new), who).await?;
        sqlx::query(
            "UPDATE platform_settings SET position = $2, updated_at = now(), updated_by = $3 WHERE platform = $1",
        )
        .bind(kind.as_str())
        .bind(new)
        .bind(who.record())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn apply_global(conn: &mut PgConnection, ms: i32, who: &Actor) -> Result<()> {
    let row: Option<(Value, Option<String>)> = sqlx::query_as(
        "SELECT value, pinned_by FROM global_settings WHERE key = 'global_queue_timeout_ms' FOR UPDATE",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let old = match row {
        Some((_, Some(var))) => return Err(pinned_error("globalQueueTimeoutMs", &var)),
        Some((v, None)) => v,
        None => Value::Null,
    };
    record(conn, "global", "globalQueueTimeoutMs", old, json!(ms), who).await?;
    sqlx::query(
        "INSERT INTO global_settings (key, value, updated_by) VALUES ('global_queue_timeout_ms', $1, $2)
         ON CONFLICT (key) DO UPDATE SET value = $1, updated_at = now(), updated_by = $2",
    )
    .bind(json!(ms))
    .bind(who.record())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the tiers (already checked). Bots admitted before keep the
/// priority and ageing bound they were admitted with. A tier still named by
/// a live API token or a live pool cannot go (`conflict`, naming them):
/// their requests would be refused.
async fn apply_tiers(conn: &mut PgConnection, tiers: &TierSettings, who: &Actor) -> Result<()> {
    let names: Vec<&str> = tiers.tiers.iter().map(|t| t.name.as_str()).collect();
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT 'token ' || name FROM api_tokens
          WHERE revoked_at IS NULL AND (default_tier <> ALL($1) OR max_tier <> ALL($1))
         UNION ALL
         SELECT 'pool ' || name FROM pools WHERE NOT retired AND queue_tier <> ALL($1)
         ORDER BY 1",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?;
    if !users.is_empty() {
        return Err(Error::config(
            ErrorCode::Conflict,
            "tiers",
            format!(
                "{} still name a tier this save removes; change them first",
                users.join(", ")
            ),
        ));
    }
    let old: Option<Value> =
        sqlx::query_scalar("SELECT value FROM global_settings WHERE key = 'tiers' FOR UPDATE")
            .fetch_optional(&mut *conn)
            .await?;
    let old = match old {
        Some(v) => v,
        None => json!(TierSettings::default()),
    };
    let new = json!(tiers);
    record(conn, "global", "tiers", old, new.clone(), who).await?;
    sqlx::query(
        "INSERT INTO global_settings (key, value, updated_by) VALUES ('tiers', $1, $2)
         ON CONFLICT (key) DO UPDATE SET value = $1, updated_at = now(), updated_by = $2",
    )
    .bind(new)
    .bind(who.record())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
