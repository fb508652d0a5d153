//! `berth status`: pools, queue, platforms, leader and peers.

use berth_core::overview::{self, PlatformOverview};
use berth_core::peers::Peer;
use berth_core::platform::Health;
use berth_core::pool::PoolStats;
use berth_core::queue::QueueStats;
use berth_core::Result;
use chrono::Utc;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::connect::with_db;
use crate::output::{self, Ctx};

/// One platform's capacity and health, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlatformStatus {
    platform: String,
    position: i32,
    used: i64,
    /// Requests waiting for capacity on it.
    queued: i64,
    limit: Option<i32>,
    enabled: bool,
    queue_timeout_ms: i32,
    health: Health,
    pinned: BTreeMap<String, String>,
    /// Drained by an operator (no new bots there).
    drain: Option<berth_core::platform::drain::Drained>,
}

impl From<PlatformOverview> for PlatformStatus {
    fn from(p: PlatformOverview) -> Self {
        let s = p.settings;
        PlatformStatus {
            platform: s.platform.as_str().to_string(),
            position: s.position,
            used: p.used,
            queued: p.queued,
            limit: s.bot_limit,
            enabled: s.enabled,
            queue_timeout_ms: s.queue_timeout_ms,
            health: p.health,
            pinned: s.pinned,
            drain: p.drain,
        }
    }
}

/// The core's status read model in the shape `--json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    pools: Vec<PoolStats>,
    queue: QueueStats,
    platforms: Vec<PlatformStatus>,
    /// Requests in the global queue (or between platforms).
    global_queued: i64,
    global_queue_timeout_ms: i32,
    leader: Option<Uuid>,
    peers: Vec<Peer>,
}

impl From<overview::Status> for Status {
    fn from(s: overview::Status) -> Self {
        Status {
            pools: s.pools,
            queue: s.queue,
            global_queue_timeout_ms: s.platforms.global_queue_timeout_ms,
            global_queued: s.platforms.global_queued,
            platforms: s.platforms.platforms.into_iter().map(Into::into).collect(),
            leader: s.leader,
            peers: s.peers,
        }
    }
}

/// The status; in development mode a platform nobody checked recently is
/// asked through the simulator.
async fn gather(db: &sqlx::PgPool, dev: bool) -> Result<Status> {
    let probe = if dev {
        Some(overview::dev_probe(db).await?)
    } else {
        None
    };
    Ok(overview::status(db, Utc::now(), probe.as_ref())
        .await?
        .into())
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
    show_pools(&status.pools);
    show_queue(&status.queue, now);
    show_platforms(&status, ctx.dev);
    show_instances(&status, now);
    Ok(())
}

/// The pools' slot counts.
fn show_pools(pools: &[PoolStats]) {
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
    for p in pools {
        t.add_row(vec![
            p.pool.clone(),
            p.meeting_platform.to_string(),
            p.idle.to_string(),
            p.deploying.to_string(),
            p.busy.to_string(),
            p.error.to_string(),
            format!("{}/{}", p.total, p.max_size),
        ]);
    }
    if pools.is_empty() {
        output::emit("  no pools yet (an instance creates the default pools when it starts)");
    } else {
        output::emit(t);
    }
}

/// The queue's length, waits and release rate.
fn show_queue(q: &QueueStats, now: chrono::DateTime<Utc>) {
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
}

/// The platforms in priority order, and the global queue timeout.
fn show_platforms(status: &Status, dev: bool) {
    output::emit("\nPlatforms (priority order)");
    let mut t = output::table([
        "#",
        "platform",
        "used/limit",
        "queued",
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
            p.queued.to_string(),
            match (&p.drain, p.enabled) {
                (Some(d), _) => format!("drained by {}", d.by),
                (None, true) => "yes".to_string(),
                (None, false) => "no".to_string(),
            },
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
    if !dev {
        output::emit(
            "  (health comes from running instances' checks; unknown when none checked in the last 15 s)",
        );
    }
    output::emit(format!(
        "Global queue: {} waiting on no platform yet; timeout {}",
        status.global_queued,
        output::duration_ms(status.global_queue_timeout_ms.into())
    ));
}

/// The leader and the instances sharing the database.
fn show_instances(status: &Status, now: chrono::DateTime<Utc>) {
    output::emit(format!(
        "\nLeader: {}",
        status.leader.map_or_else(
            || "none (no instance is serving)".to_string(),
            |l| l.to_string()
        )
    ));
    if status.peers.is_empty() {
        output::emit("Peers: none");
        return;
    }
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
