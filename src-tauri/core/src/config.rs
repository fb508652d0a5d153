//! Configuration from the environment, validated by reference 004's rules.
//!
//! Parsing is a pure function of a variable lookup, so every rule is tested
//! without touching the process environment. Values set here are *pinned*:
//! at start-up they are written to the shared database (see `settings`) and
//! win over administrators' edits, because the environment is the
//! deployment's declared configuration; values not set here come from the
//! database, else from defaults.

mod coolify;
mod platforms;
pub mod var;
mod webview;

pub use coolify::{CoolifyConfig, DEFAULT_COOLIFY_APP_PREFIX};
use platforms::{parse_priority, DEV_PRIORITY};
pub use webview::{webview_compositing, WEBVIEW_COMPOSITING};

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{MeetingPlatform, PlatformKind};

use crate::settings::rules::{Range, GLOBAL_QUEUE_TIMEOUT_MS, HISTORY_RETENTION_DAYS};
use var::{number, Lookup};

/// A value and the environment variable that fixed it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value in force.
    pub value: T,
    /// The environment variable that pinned it; `None` for defaults.
    pub pinned_by: Option<String>,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Setting {
            value,
            pinned_by: None,
        }
    }
    fn pinned(value: T, var: &str) -> Self {
        Setting {
            value,
            pinned_by: Some(var.to_string()),
        }
    }
}

/// One deployment platform's configuration, in priority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfig {
    /// Which platform.
    pub kind: PlatformKind,
    /// Max concurrent bots.
    pub bot_limit: Setting<u32>,
    /// How long a request waits for this platform before the next is tried.
    pub queue_timeout_ms: Setting<u32>,
}

/// Pool sizing from the environment, per meeting platform's default pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSizing {
    /// The pool's meeting platform (the default pool is named after it).
    pub meeting_platform: MeetingPlatform,
    /// Max slots in the pool.
    pub max_size: u32,
    /// Idle slots to keep ready.
    pub prewarm_count: u32,
}

/// Intervals and limits of the background jobs and the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// How long a leadership lease lasts; another instance takes over after it expires.
    pub leader_lease_ms: u32,
    /// How often slot recovery runs for a pool whose applied definition
    /// sets no `recovery.interval` of its own (see `jobs::recover_due`).
    pub recovery_interval_ms: u32,
    /// A slot `deploying` for longer than this is recovered.
    pub deploying_timeout_ms: u32,
    /// After this many failed recovery attempts the slot is deleted.
    pub recovery_max_attempts: u32,
    /// How often Berth's view is reconciled with the platforms'.
    pub reconcile_interval_ms: u32,
    /// How often pre-warming tops pools up.
    pub prewarm_interval_ms: u32,
    /// The dispatcher's safety-net tick (expiries, platform wait deadlines).
    pub dispatch_tick_ms: u32,
    /// A running bot silent (no heartbeat or status report through its
    /// token) for longer than this is stuck: its slot is recovered and it
    /// ends `FATAL` (see [`crate::bot_lease::stuck`]). 0 turns the check off
    /// (for bots that do not speak to Berth).
    pub bot_heartbeat_timeout_ms: u32,
    /// Days of history kept (`BERTH_HISTORY_RETENTION_DAYS`, within
    /// [`HISTORY_RETENTION_DAYS`]): the leader drops older days
    /// ([`crate::history::partitions`]) and the bots that ended before
    /// them ([`crate::bot::retention`]).
    pub history_retention_days: u32,
}

/// Default heartbeat timeout of a running bot: 15 minutes, as in the
/// earlier system.
pub const DEFAULT_BOT_HEARTBEAT_TIMEOUT_MS: u32 = 900_000;
/// Shortest heartbeat timeout (other than 0, off): bots need a margin.
pub const MIN_BOT_HEARTBEAT_TIMEOUT_MS: u32 = 10_000;
/// Default days of history kept.
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 30;

/// Everything Berth reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    /// Development mode: every platform runs on the simulator and `local` is allowed.
    pub dev: bool,
    /// The platform priority order; pinned when `PLATFORM_PRIORITY` was set.
    pub priority: Setting<Vec<PlatformKind>>,
    /// Platforms of the priority list that have a limit, in order.
    pub platforms: Vec<PlatformConfig>,
    /// Ceiling for every request's global queue timeout.
    pub global_queue_timeout_ms: Setting<u32>,
    /// Default pools' sizing.
    pub pools: Vec<PoolSizing>,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// How scheduled bots' lead times are learned
    /// (`BERTH_SCHEDULE_LEAD_FLOOR_MS`, `BERTH_SCHEDULE_LEAD_MARGIN_PCT`):
    /// checked here so a bad value refuses the start, rather than failing
    /// the starter's every pass ([`crate::schedule::lead`] reads the same
    /// variables where it runs).
    pub schedule_lead: crate::schedule::LeadPolicy,
    /// Warnings to log at start-up (e.g. platforms skipped for lack of a limit).
    pub warnings: Vec<String>,
}

/// Default global queue timeout (reference 004).
pub const DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS: u32 = 600_000;
/// Default per-request queue timeout (reference 001).
pub const DEFAULT_REQUEST_QUEUE_TIMEOUT_MS: u32 = 300_000;
/// Largest per-request queue timeout (reference 001).
pub const MAX_REQUEST_QUEUE_TIMEOUT_MS: u32 = 600_000;
/// Default pool max size.
pub const DEFAULT_POOL_MAX_SIZE: u32 = 100;
/// Default priority of a request (lower goes first).
pub const DEFAULT_PRIORITY: i32 = 100;

fn invalid(var: &str, message: String) -> Error {
    Error::config(ErrorCode::ConfigInvalid, var, message)
}

/// A range of a configuration-only number (pool sizes, job intervals).
const fn range(min: u32, max: u32) -> Range {
    Range { min, max }
}

impl EnvConfig {
    /// Reads the process environment.
    pub fn from_env(dev: bool) -> Result<Self> {
        Self::parse(&var::process, dev)
    }

    /// Parses and validates configuration from `get` (a variable lookup).
    ///
    /// Rules (reference 004): `PLATFORM_PRIORITY` is required and not empty
    /// (outside development mode); at least one listed platform has a
    /// `*_BOT_LIMIT`; `local` is refused outside development mode; listed
    /// platforms without a limit are skipped with a warning. Every error names
    /// the variable at fault.
    pub fn parse(get: &Lookup<'_>, dev: bool) -> Result<Self> {
        let mut warnings = Vec::new();
        if get("DEPLOYMENT_PLATFORM").is_some() {
            return Err(invalid(
                "DEPLOYMENT_PLATFORM",
                "was removed; list platforms by priority in PLATFORM_PRIORITY instead (e.g. PLATFORM_PRIORITY=k8s,aws,coolify)".into(),
            ));
        }

        let priority = match get("PLATFORM_PRIORITY") {
            Some(raw) => Setting::pinned(parse_priority(&raw, dev)?, "PLATFORM_PRIORITY"),
            None if dev => Setting::default(DEV_PRIORITY.to_vec()),
            None => {
                return Err(Error::config(
                    ErrorCode::ConfigMissing,
                    "PLATFORM_PRIORITY",
                    "is required; list platforms by priority, e.g. PLATFORM_PRIORITY=k8s,aws,coolify (or run with --dev for the simulator)",
                ))
            }
        };

        let platforms = platforms::parse(get, &priority.value, dev, &mut warnings)?;

        let global_queue_timeout_ms =
            match number(get, "GLOBAL_QUEUE_TIMEOUT_MS", GLOBAL_QUEUE_TIMEOUT_MS)? {
                Some(n) => Setting::pinned(n, "GLOBAL_QUEUE_TIMEOUT_MS"),
                None => Setting::default(DEFAULT_GLOBAL_QUEUE_TIMEOUT_MS),
            };

        let pools = Self::parse_pools(get)?;
        let jobs = Self::parse_jobs(get, dev)?;
        let schedule_lead = crate::schedule::LeadPolicy::parse(get)?;
        Ok(EnvConfig {
            dev,
            priority,
            platforms,
            global_queue_timeout_ms,
            pools,
            jobs,
            schedule_lead,
            warnings,
        })
    }

    fn parse_pools(get: &Lookup<'_>) -> Result<Vec<PoolSizing>> {
        let max_all = number(get, "POOL_MAX_SIZE", range(1, 999))?;
        let prewarm_all = number(get, "POOL_PREWARM_COUNT", range(0, 999))?;
        let mut pools = Vec::new();
        for mp in MeetingPlatform::ALL {
            let key = mp.as_str().replace('-', "_").to_ascii_uppercase();
            let max_var = format!("POOL_{key}_MAX_SIZE");
            let prewarm_var = format!("POOL_{key}_PREWARM_COUNT");
            let max_size = number(get, &max_var, range(1, 999))?
                .or(max_all)
                .unwrap_or(DEFAULT_POOL_MAX_SIZE);
            let prewarm_count = number(get, &prewarm_var, range(0, 999))?
                .or(prewarm_all)
                .unwrap_or(0);
            if prewarm_count > max_size {
                let var = if get(&prewarm_var).is_some() {
                    prewarm_var
                } else {
                    "POOL_PREWARM_COUNT".to_string()
                };
                let max_from = if get(&max_var).is_some() {
                    max_var.as_str()
                } else if max_all.is_some() {
                    "POOL_MAX_SIZE"
                } else {
                    "the default"
                };
                return Err(invalid(
                    &var,
                    format!(
                        "pre-warm count {prewarm_count} exceeds the {} pool's max size {max_size} (from {max_from})",
                        mp.as_str()
                    ),
                ));
            }
            pools.push(PoolSizing {
                meeting_platform: *mp,
                max_size,
                prewarm_count,
            });
        }
        Ok(pools)
    }

    fn parse_jobs(get: &Lookup<'_>, dev: bool) -> Result<JobsConfig> {
        let pick = |var: &str, min: u32, max: u32, prod: u32, dev_default: u32| -> Result<u32> {
            Ok(number(get, var, range(min, max))?.unwrap_or(if dev { dev_default } else { prod }))
        };
        let jobs = JobsConfig {
            leader_lease_ms: pick("BERTH_LEADER_LEASE_MS", 500, 600_000, 15_000, 5_000)?,
            recovery_interval_ms: pick(
                "BERTH_RECOVERY_INTERVAL_MS",
                100,
                86_400_000,
                300_000,
                10_000,
            )?,
            deploying_timeout_ms: pick(
                "BERTH_DEPLOYING_TIMEOUT_MS",
                1_000,
                86_400_000,
                300_000,
                300_000,
            )?,
            recovery_max_attempts: pick("BERTH_RECOVERY_MAX_ATTEMPTS", 1, 100, 3, 3)?,
            reconcile_interval_ms: pick(
                "BERTH_RECONCILE_INTERVAL_MS",
                100,
                86_400_000,
                30_000,
                1_000,
            )?,
            prewarm_interval_ms: pick("BERTH_PREWARM_INTERVAL_MS", 100, 86_400_000, 60_000, 5_000)?,
            dispatch_tick_ms: pick("BERTH_DISPATCH_TICK_MS", 50, 60_000, 1_000, 500)?,
            bot_heartbeat_timeout_ms: Self::parse_heartbeat_timeout(get)?,
            history_retention_days: number(
                get,
                "BERTH_HISTORY_RETENTION_DAYS",
                HISTORY_RETENTION_DAYS,
            )?
            .unwrap_or(DEFAULT_HISTORY_RETENTION_DAYS),
        };
        Ok(jobs)
    }

    /// `BERTH_BOT_HEARTBEAT_TIMEOUT_MS`: 0 (off), or from
    /// [`MIN_BOT_HEARTBEAT_TIMEOUT_MS`] to a day.
    fn parse_heartbeat_timeout(get: &Lookup<'_>) -> Result<u32> {
        const VAR: &str = "BERTH_BOT_HEARTBEAT_TIMEOUT_MS";
        let allowed = range(MIN_BOT_HEARTBEAT_TIMEOUT_MS, 86_400_000);
        match number(get, VAR, range(0, allowed.max))? {
            None => Ok(DEFAULT_BOT_HEARTBEAT_TIMEOUT_MS),
            Some(n) if n == 0 || allowed.contains(n.into()) => Ok(n),
            Some(n) => Err(invalid(
                VAR,
                format!("{} (or 0 to turn the check off)", allowed.refusal(n)),
            )),
        }
    }
}
