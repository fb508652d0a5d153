//! Definitions in the shared database: the applied versions, what applying
//! would do, applying and retiring.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgPool;

use super::model::{content_hash, Found, PoolDefinition, Resources};
use super::parse::parse;
use crate::actor::Actor;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};

/// The applied version of one pool's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// Pool name.
    pub name: String,
    /// Version number, from 1.
    pub version: i32,
    /// [`content_hash`] of the applied text.
    pub hash: String,
    /// The applied YAML.
    pub text: String,
    /// Who applied it.
    pub applied_by: String,
    /// When.
    pub applied_at: chrono::DateTime<chrono::Utc>,
}

/// The applied version of every defined pool.
pub async fn applied(db: &PgPool) -> Result<BTreeMap<String, Applied>> {
    let rows: Vec<Applied> = sqlx::query_as(
        "SELECT DISTINCT ON (name) name, version, hash, text, applied_by, applied_at
         FROM pool_definitions ORDER BY name, version DESC",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|a| (a.name.clone(), a)).collect())
}

/// Where a file stands against what the database has applied.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "DefinitionState", rename_all = "camelCase", tag = "state")]
pub enum State {
    /// Never applied.
    NotApplied,
    /// The applied version has the file's content.
    Applied {
        /// Applied version.
        version: i32,
    },
    /// The file differs from the applied version.
    Pending {
        /// Applied version the file differs from.
        version: i32,
    },
}

impl State {
    /// `found`'s state against `applied` (from [`applied`]), by content hash.
    pub fn of(found: &Found, applied: &BTreeMap<String, Applied>) -> State {
        match applied.get(&found.definition.name) {
            None => State::NotApplied,
            Some(a) if a.hash == found.hash => State::Applied { version: a.version },
            Some(a) => State::Pending { version: a.version },
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::NotApplied => write!(f, "not applied"),
            State::Applied { version } => write!(f, "applied v{version}"),
            State::Pending { version } => write!(f, "pending (file differs from v{version})"),
        }
    }
}

/// What applying a definition would do to the pool's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// Idle slots pre-warming will create.
    pub creates: i64,
    /// Idle slots beyond the new max size that will be removed.
    pub removes_idle: i64,
    /// Busy or deploying slots beyond the new max size (left to finish).
    pub busy_affected: i64,
}

impl std::fmt::Display for Impact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "creates {} slot{}, removes {} idle, {} busy affected",
            self.creates,
            if self.creates == 1 { "" } else { "s" },
            self.removes_idle,
            self.busy_affected
        )
    }
}

/// The impact of making `def` the pool's definition, from its current slots.
pub async fn impact(db: &PgPool, def: &PoolDefinition) -> Result<Impact> {
    let (idle, beyond_idle, beyond_busy, total): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'idle'),
                count(*) FILTER (WHERE status = 'idle' AND slot_number > $2),
                count(*) FILTER (WHERE status <> 'idle' AND slot_number > $2),
                count(*)
         FROM pool_slots WHERE pool = $1",
    )
    .bind(&def.name)
    .bind(def.max_size as i32)
    .fetch_one(db)
    .await?;
    let kept_idle = idle - beyond_idle;
    let room = i64::from(def.max_size) - (total - beyond_idle - beyond_busy);
    // A scaled pool keeps at least its minimum; the rest follows demand.
    let floor = def.scaling.as_ref().map_or(def.prewarm, |s| s.min_idle);
    let creates = (i64::from(floor) - kept_idle).clamp(0, room.max(0));
    Ok(Impact {
        creates,
        removes_idle: beyond_idle,
        busy_affected: beyond_busy,
    })
}

/// The resources of `pool`'s applied definition (all unset for a pool
/// without one, e.g. a built-in default pool).
pub async fn resources_of(db: &PgPool, pool: &str) -> Result<Resources> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT definition -> 'resources' FROM pool_definitions
         WHERE name = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(pool)
    .fetch_optional(db)
    .await?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(Resources::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("the applied definition of {pool} has unreadable resources: {e}"),
            )
        }),
    }
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyOutcome {
    /// The version now in force.
    pub version: i32,
    /// Its content hash.
    pub hash: String,
    /// `false` when the same text was already applied (nothing written).
    pub changed: bool,
}

/// Makes `text` (which must parse and check) the definition every instance
/// uses: a new version in `pool_definitions` and the `pools` row, in one
/// transaction, recorded as applied by `actor` ([`Actor::record`]); then
/// announces `pools` on the feed. Applying the text already in force writes
/// nothing. Faces apply through [`super::catalog::apply`], which also puts
/// the account query through the filter.
pub async fn apply(db: &PgPool, feed: &Feed, text: &str, actor: &Actor) -> Result<ApplyOutcome> {
    let def = parse(text, None).map_err(|mut problems| Error::from(problems.remove(0)))?;
    let hash = content_hash(text);
    let mut tx = db.begin().await?;
    lock_pool(&mut tx, &def.name).await?;
    let current: Option<(i32, String)> = sqlx::query_as(
        "SELECT version, hash FROM pool_definitions WHERE name = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(&def.name)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((version, h)) = &current {
        if *h == hash {
            tx.rollback().await?;
            return Ok(ApplyOutcome {
                version: *version,
                hash,
                changed: false,
            });
        }
    }
    // An error drops `tx`, which rolls it back.
    refuse_platform_change(&mut tx, &def).await?;
    let version = current.map_or(1, |(v, _)| v + 1);
    insert_version(&mut tx, &def, version, &hash, text, &actor.record()).await?;
    upsert_pool(&mut tx, &def).await?;
    tx.commit().await?;
    feed.publish(&[Topic::Pools]);
    Ok(ApplyOutcome {
        version,
        hash,
        changed: true,
    })
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// Serialises concurrent applies and retirements of one pool across
/// instances, until `tx` ends.
async fn lock_pool(tx: &mut Tx, name: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth:definition:' || $1))")
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `conflict` when `def` changes the meeting platform of a pool that has
/// slots (they were made for the old one).
async fn refuse_platform_change(tx: &mut Tx, def: &PoolDefinition) -> Result<()> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT meeting_platform FROM pools WHERE name = $1 FOR UPDATE")
            .bind(&def.name)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(mp) = existing else {
        return Ok(());
    };
    let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = $1")
        .bind(&def.name)
        .fetch_one(&mut **tx)
        .await?;
    if mp != def.meeting_platform.as_str() && slots > 0 {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "pool {} serves {mp} and has {slots} slots: its meeting platform cannot change",
                def.name
            ),
        ));
    }
    Ok(())
}

/// Records `text` as version `version` of `def`'s pool, applied by `who` (an [`Actor::record`]).
async fn insert_version(
    tx: &mut Tx,
    def: &PoolDefinition,
    version: i32,
    hash: &str,
    text: &str,
    who: &str,
) -> Result<()> {
    let definition =
        serde_json::to_value(def).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    sqlx::query(
        "INSERT INTO pool_definitions (name, version, hash, text, definition, applied_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&def.name)
    .bind(version)
    .bind(hash)
    .bind(text)
    .bind(&definition)
    .bind(who)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes `def` to the `pools` row the engine reads (reviving a retired pool).
async fn upsert_pool(tx: &mut Tx, def: &PoolDefinition) -> Result<()> {
    let allowed: Option<Vec<String>> = def
        .platforms
        .as_ref()
        .map(|v| v.iter().map(|p| p.as_str().to_string()).collect());
    sqlx::query(
        "INSERT INTO pools (name, meeting_platform, image, max_size, prewarm_count, allowed_platforms,
                            source, uses_accounts, queue_priority, queue_timeout_ms,
                            deploying_timeout_ms, recovery_max_attempts,
                            scaling_min_idle, scaling_max_idle, scaling_scale_down_after_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'definition', $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (name) DO UPDATE SET meeting_platform = $2, image = $3, max_size = $4,
             prewarm_count = $5, allowed_platforms = $6, source = 'definition', uses_accounts = $7,
             queue_priority = $8, queue_timeout_ms = $9, deploying_timeout_ms = $10,
             recovery_max_attempts = $11, scaling_min_idle = $12, scaling_max_idle = $13,
             scaling_scale_down_after_ms = $14, retired = false, updated_at = now()",
    )
    .bind(&def.name)
    .bind(def.meeting_platform.as_str())
    .bind(format!("{}:{}", def.image, def.tag))
    .bind(def.max_size as i32)
    .bind(def.prewarm as i32)
    .bind(allowed)
    .bind(def.accounts.is_some())
    .bind(def.queue.priority)
    .bind(def.queue.timeout.0.as_millis() as i32)
    .bind(i32::try_from(def.recovery.deploying_timeout.0.as_millis()).unwrap_or(i32::MAX))
    .bind(def.recovery.max_attempts as i32)
    .bind(def.scaling.as_ref().map(|s| s.min_idle as i32))
    .bind(def.scaling.as_ref().map(|s| s.max_idle as i32))
    .bind(def.scaling.as_ref().map(|s| {
        i64::try_from(s.scale_down_after.0.as_millis()).unwrap_or(i64::MAX)
    }))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What [`retire`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retired {
    /// Whether the database had an applied pool of that name.
    pub existed: bool,
    /// Idle or errored slots left for the trim job to remove.
    pub slots: i64,
}

/// Retires pool `name` after its definition was deleted: it takes no new
/// bots, pre-warms nothing, and the trim job removes its idle slots (the row
/// stays for its bots' history; applying a definition of that name revives
/// it). Refused (`conflict`, nothing written) while any of its slots is busy
/// or deploying. A pool no definition was ever applied to (a built-in
/// default pool) is left alone (`existed: false`). Announces `pools`.
pub async fn retire(db: &PgPool, feed: &Feed, name: &str) -> Result<Retired> {
    let mut tx = db.begin().await?;
    lock_pool(&mut tx, name).await?;
    let exists: Option<bool> = sqlx::query_scalar(
        "SELECT retired FROM pools WHERE name = $1 AND source = 'definition' FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        tx.rollback().await?;
        return Ok(Retired {
            existed: false,
            slots: 0,
        });
    }
    let (held, rest): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status IN ('busy', 'deploying')),
                count(*) FILTER (WHERE status NOT IN ('busy', 'deploying'))
         FROM pool_slots WHERE pool = $1",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    if held > 0 {
        tx.rollback().await?;
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("{name} has {held} busy or deploying slots; delete it once they are done"),
        ));
    }
    sqlx::query(
        "UPDATE pools SET retired = true, prewarm_count = 0, updated_at = now() WHERE name = $1",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    feed.publish(&[Topic::Pools]);
    Ok(Retired {
        existed: true,
        slots: rest,
    })
}
