//! `berth status`: pools, queue, platforms, leader and peers.

use berth_core::clock::{Clock, SystemClock};
use berth_core::config::EnvConfig;
use berth_core::platform::Health;
use berth_core::pool::PoolStats;
use berth_core::queue::QueueStats;
use berth_core::{bot, instance, jobs, pool, queue, settings, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

use crate::connect::with_db;
use crate::output::{self, Ctx};

/// One platform's capacity and health.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStatus {
    pub platform: String,
    pub position: i32,
    pub used: i64,
    pub limit: Option<i32>,
    pub enabled: bool,
    pub queue_timeout_ms: i32,
    pub health: Health,
    pub pinned: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Peer {
    id: Uuid,
    hostname: String,
    pid: i32,
    mode: String,
    started_at: DateTime<Utc>,
    heartbeat_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    pools: Vec<PoolStats>,
    queue: QueueStats,
    platforms: Vec<PlatformStatus>,
    global_queue_timeout_ms: i32,
    leader: Option<Uuid>,
    peers: Vec<Peer>,
}

/// Every platform with settings, in priority order, with what it uses now.
/// Health is what running instances last recorded (older than
/// `HEALTH_MAX_AGE_MS`: `unknown`); with `check_health` (development mode)
/// a platform nobody checked recently is asked through the simulator here.
pub async fn platforms(db: &PgPool, check_health: bool) -> Result<Vec<PlatformStatus>> {
    let s = settings::load(db).await?;
    let used: HashMap<String, i64> = bot::active_per_platform(db).await?.into_iter().collect();
    let adapters = if check_health {
        let clock: Arc<dyn Clock> = SystemClock::new();
        Some(instance::build_platforms(db, clock, &EnvConfig::parse(&|_| None, true)?).await?)
    } else {
        None
    };
    let shared = berth_core::platform::shared_health(
        db,
        Utc::now(),
        chrono::Duration::milliseconds(instance::HEALTH_MAX_AGE_MS),
    )
    .await?;
    let mut out = Vec::with_capacity(s.platforms.len());
    for p in s.platforms {
        let health = match (
            shared.get(&p.platform).copied(),
            adapters.as_ref().and_then(|a| a.get(p.platform)),
        ) {
            (Some(h), _) if h != Health::Unknown => h,
            (_, Some(adapter)) => adapter.health().await,
            _ => Health::Unknown,
        };
        out.push(PlatformStatus {
            platform: p.platform.as_str().to_string(),
            position: p.position,
            used: used.get(p.platform.as_str()).copied().unwrap_or(0),
            limit: p.bot_limit,
            enabled: p.enabled,
            queue_timeout_ms: p.queue_timeout_ms,
            health,
            pinned: p.pinned,
        });
    }
    Ok(out)
}

async fn gather(db: &PgPool, dev: bool) -> Result<Status> {
    let pools = pool::stats(db).await?;
    let queue = queue::stats(db, Utc::now()).await?;
    let platforms = platforms(db, dev).await?;
    let global_queue_timeout_ms = settings::load(db).await?.global_queue_timeout_ms;
    let leader = jobs::leader(db).await?;
    let peers = sqlx::query_as(
        "SELECT id, hostname, pid, mode, started_at, heartbeat_at FROM peers ORDER BY started_at, id",
    )
    .fetch_all(db)
    .await?;
    Ok(Status {
        pools,
        queue,
        platforms,
        global_queue_timeout_ms,
        leader,
        peers,
    })
}

fn health_text(h: Health) -> &'static str {
    match h {
        Health::Healthy => "healthy",
        Health::Degraded => "degraded",
        Health::Down => "down",
        Health::Unknown => "unknown",
    }
}

/// Runs the command.
pub async fn run(ctx: Ctx) -> Result<()> {
    let status = with_db(async |db| gather(&db.pool, ctx.dev).await).await?;
    if ctx.json {
        return output::json(&status);
    }
    let now = Utc::now();

    output::emit("Pools");
    let mut t = output::table([
        "pool",
        "meeting platform",
        "idle",
        "deploying",
        "busy",
        "error",
        "total/max",
    ]);
    for p in &status.pools {
        t.add_row(vec![
            p.pool.clone(),
            p.meeting_platform.clone(),
            p.idle.to_string(),
            p.deploying.to_string(),
            p.busy.to_string(),
            p.error.to_string(),
            format!("{}/{}", p.total, p.max_size),
        ]);
    }
    if status.pools.is_empty() {
        output::emit("  no pools yet (an instance creates the default pools when it starts)");
    } else {
        output::emit(t);
    }

    let q = &status.queue;
    let oldest = match q.oldest_queued_at {
        Some(at) => format!(", oldest queued {}", output::ago(at, now)),
        None => String::new(),
    };
    output::emit(format!(
        "\nQueue: {} waiting{oldest}, average wait so far {}; {:.1} releases/min (last 15 min)",
        q.length,
        output::duration_ms(q.avg_wait_ms),
        q.releases_per_minute
    ));

    output::emit("\nPlatforms (priority order)");
    let mut t = output::table([
        "#",
        "platform",
        "used/limit",
        "enabled",
        "queue timeout",
        "health",
        "pinned by",
    ]);
    for (rank, p) in status.platforms.iter().enumerate() {
        let limit = match p.limit {
            Some(l) => format!("{}/{l}", p.used),
            None => format!("{}/- (no limit: skipped)", p.used),
        };
        let pinned: Vec<String> = p.pinned.iter().map(|(f, v)| format!("{f}={v}")).collect();
        t.add_row(vec![
            (rank + 1).to_string(),
            p.platform.clone(),
            limit,
            if p.enabled { "yes" } else { "no" }.to_string(),
            output::duration_ms(p.queue_timeout_ms.into()),
            health_text(p.health).to_string(),
            if pinned.is_empty() {
                "-".to_string()
            } else {
                pinned.join(", ")
            },
        ]);
    }
    if status.platforms.is_empty() {
        output::emit("  no platform settings yet (an instance writes them when it starts)");
    } else {
        output::emit(t);
    }
    if !ctx.dev {
        output::emit(
            "  (health comes from running instances' checks; unknown when none checked in the last 15 s)",
        );
    }
    output::emit(format!(
        "Global queue timeout: {}",
        output::duration_ms(status.global_queue_timeout_ms.into())
    ));

    output::emit(format!(
        "\nLeader: {}",
        status.leader.map_or_else(
            || "none (no instance is serving)".to_string(),
            |l| l.to_string()
        )
    ));
    if status.peers.is_empty() {
        output::emit("Peers: none");
    } else {
        let mut t = output::table([
            "instance",
            "host",
            "pid",
            "mode",
            "started",
            "last heartbeat",
            "leader",
        ]);
        for p in &status.peers {
            t.add_row(vec![
                p.id.to_string(),
                p.hostname.clone(),
                p.pid.to_string(),
                p.mode.clone(),
                output::time(p.started_at),
                output::ago(p.heartbeat_at, now),
                if status.leader == Some(p.id) {
                    "yes"
                } else {
                    ""
                }
                .to_string(),
            ]);
        }
        output::emit("Peers");
        output::emit(t);
    }
    Ok(())
}
