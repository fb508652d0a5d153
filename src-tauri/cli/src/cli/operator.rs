//! The operator's actions on the command line (issue 14): slots by name,
//! platforms, settings and the audit log. Each only maps arguments to the
//! core's use cases.

use berth_core::meeting::PlatformKind;
use clap::builder::BoolishValueParser;
use clap::{ArgGroup, Args, Subcommand};

use super::values::{platform_kind, since, target_kind};

/// `berth slots <action> NAME...`: each slot on its own; the command fails
/// (after printing every slot's outcome) when any slot was refused.
#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Stop each slot's workload and return it to idle (a slot holding a
    /// bot needs --force, which ends that bot FATAL)
    Restart(SlotForceArgs),
    /// Each slot takes no new bot and is deleted once idle
    Drain(SlotNames),
    /// Each slot takes bots again
    Undrain(SlotNames),
    /// Delete each slot and its platform resource (a slot holding a bot
    /// needs --force, which ends that bot FATAL)
    Delete(SlotForceArgs),
    /// Retry the recovery of each slot in error now
    Recover(SlotNames),
}

/// Slots by name, and why.
#[derive(Debug, Args)]
pub struct SlotNames {
    /// Slot names (e.g. pool-zoom-001)
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Why (recorded in the audit log)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// Slots by name, why, and whether a held slot's bot may be ended.
#[derive(Debug, Args)]
pub struct SlotForceArgs {
    #[command(flatten)]
    pub slots: SlotNames,
    /// Also act on a slot holding a bot: the bot ends FATAL with the reason
    #[arg(long)]
    pub force: bool,
}

/// `berth platforms ...`.
#[derive(Debug, Subcommand)]
pub enum PlatformsCommand {
    /// No new bots go to the platform (running ones finish), from every instance
    Drain(PlatformActionArgs),
    /// The platform takes new bots again
    Undrain(PlatformActionArgs),
}

/// A platform and why.
#[derive(Debug, Args)]
pub struct PlatformActionArgs {
    /// k8s, aws, coolify or local
    #[arg(value_parser = platform_kind)]
    pub platform: PlatformKind,
    /// Why (recorded in the audit log)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `berth settings ...`.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// The settings in force: priority order, each platform, global queue timeout, pins
    Show,
    /// Change settings in one save (all or nothing)
    Set(SettingsSetArgs),
}

/// `berth settings set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true)
    .args(["priority", "enabled", "bot_limit", "queue_timeout_ms", "global_queue_timeout_ms",
        "tiers", "default_tier"])))]
pub struct SettingsSetArgs {
    /// The priority order: every platform once, comma-separated (e.g. k8s,aws,coolify,local)
    #[arg(long, value_name = "P,...", value_delimiter = ',', value_parser = platform_kind)]
    pub priority: Option<Vec<PlatformKind>>,
    /// The platform --enabled, --bot-limit and --queue-timeout-ms change
    #[arg(long, value_parser = platform_kind)]
    pub platform: Option<PlatformKind>,
    /// Enable or disable the platform
    #[arg(long, value_name = "BOOL", value_parser = BoolishValueParser::new(), requires = "platform")]
    pub enabled: Option<bool>,
    /// The platform's bot limit
    #[arg(
        long,
        value_name = "N",
        requires = "platform",
        allow_negative_numbers = true
    )]
    pub bot_limit: Option<i32>,
    /// How long a request waits on the platform when it is full
    #[arg(
        long,
        value_name = "MS",
        requires = "platform",
        allow_negative_numbers = true
    )]
    pub queue_timeout_ms: Option<i32>,
    /// The ceiling of every request's global queue timeout
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub global_queue_timeout_ms: Option<i32>,
    /// The priority tiers, replacing those in force: NAME=PRIORITY, or
    /// NAME=PRIORITY/MAX_WAIT_MS for a tier that ages (its requests are
    /// served before others once they waited that long); comma-separated
    /// and/or repeated, e.g. critical=10,standard=100,batch=500/60000
    #[arg(long, value_name = "TIER,...", value_delimiter = ',', value_parser = super::values::tier)]
    pub tiers: Option<Vec<berth_core::tier::Tier>>,
    /// The tier of requests that nothing else gives one
    #[arg(long, value_name = "NAME")]
    pub default_tier: Option<String>,
    /// Why (recorded in the audit log)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `berth audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only actions on this kind of target: slot, bot, platform or settings
    #[arg(long, value_name = "KIND", value_parser = target_kind)]
    pub target_kind: Option<berth_core::audit::TargetKind>,
    /// Only actions on this target (a slot name, a bot id, a platform)
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Only actions by this actor (e.g. cli:alice, desktop:bob, api:billing)
    #[arg(long, value_name = "ACTOR")]
    pub actor: Option<String>,
    /// Only actions since this time: RFC 3339 (2026-12-01T09:00:00Z) or a
    /// duration ago (90m, 2h, 1d)
    #[arg(long, value_name = "WHEN", value_parser = since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// How many (1 to 1000)
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=berth_core::audit::MAX_LIST as i64))]
    pub limit: u32,
}
