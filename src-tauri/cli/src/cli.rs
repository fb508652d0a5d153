//! The command line's shape (clap derive) and its argument parsers.
//!
//! Every value with a closed set of forms (platforms, statuses) is parsed
//! here with the core's own `FromStr`, so a bad value is refused before
//! anything runs, with the core's message naming the valid values.

use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind, SlotStatus};
use berth_core::webhook::EventType;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand};

mod operator;
mod values;
pub use operator::{
    AuditArgs, PlatformActionArgs, PlatformsCommand, SettingsCommand, SettingsSetArgs, SlotsCommand,
};
use values::{
    bot_id, bot_status, dev_flag, event_type, failure_rate, meeting_platform, meeting_url, millis,
    platform_kind, priority, queue_timeout_ms, slot_status, token_scope,
};

/// Berth: a pool of meeting-bot slots across deployment platforms.
#[derive(Debug, Parser)]
#[command(name = "berth", version, propagate_version = true)]
#[command(
    after_help = "Environment: DATABASE_URL (absent: the embedded cluster), PLATFORM_PRIORITY, \
<PLATFORM>_BOT_LIMIT, <PLATFORM>_QUEUE_TIMEOUT_MS, GLOBAL_QUEUE_TIMEOUT_MS, POOL_*; RUST_LOG for logs (stderr)."
)]
pub struct Cli {
    /// Machine-readable output on stdout (errors too, as {"error":{"code","message"}})
    #[arg(long, global = true)]
    pub json: bool,

    /// Development mode: every platform runs on the simulator
    #[arg(long, global = true, env = "BERTH_DEV", action = ArgAction::SetTrue,
          value_parser = dev_flag, hide_env_values = true)]
    pub dev: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations and write the environment's
    /// configuration (pinned settings, default pools); print the schema version
    Migrate,
    /// Run headless (dispatcher, background jobs, change feed) until Ctrl-C
    /// or SIGTERM; with --listen, also the HTTP API
    Serve(ServeArgs),
    /// Pools, queue, per-platform capacity and health, leader and peers
    Status,
    /// List slots, optionally filtered; or act on slots by name
    Slots(SlotsArgs),
    /// List queued requests with their estimated wait and time left
    Queue,
    /// Create, list, inspect bots and report their status
    #[command(subcommand)]
    Bots(BotsCommand),
    /// Print change-feed events as they happen, until Ctrl-C
    Watch,
    /// Development mode with simulated traffic and a status line every second
    Demo(DemoArgs),
    /// The simulator's knobs (latencies, failures, run times)
    #[command(subcommand)]
    Sim(SimCommand),
    /// Pool definitions (YAML files in the pools directory)
    Pools(PoolsArgs),
    /// Platform API tokens in the OS keychain
    #[command(subcommand)]
    Secret(SecretCommand),
    /// API tokens for the HTTP API (shown once; stored hashed)
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Outgoing webhooks: subscriptions and their delivery log
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Drain a deployment platform (no new bots there) or undrain it
    #[command(subcommand)]
    Platforms(PlatformsCommand),
    /// The platform settings: show them, or change them as the app's
    /// Settings view does (same checks; values pinned by the environment
    /// are refused)
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// The audit log of operator actions, newest first
    Audit(AuditArgs),
}

/// `berth serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve the HTTP API on this address (e.g. 127.0.0.1:8080); off when not given
    #[arg(long, value_name = "ADDR", env = "BERTH_API_ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// TLS certificate chain (PEM) for the API; needs --tls-key
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "listen"])]
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM) for the API; needs --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// `berth tokens`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; it is printed once and only its hash is kept
    Create {
        /// bots:read, bots:write or admin (each allows what the ones before it do)
        #[arg(long, value_parser = token_scope)]
        scope: berth_core::token::Scope,
        /// Its name (letters, digits, '.', '_', '-'): how it is listed, revoked and recorded
        #[arg(long)]
        name: String,
    },
    /// Every token (never the token itself), live ones first
    List,
    /// Revoke the live token of this name: it stops working at once
    Revoke {
        /// The token's name
        name: String,
    },
}

/// `berth webhooks ...`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe a URL to event types; prints its signing secret (shown
    /// only now)
    Add {
        /// Where events are POSTed (http or https, no user name or password)
        url: String,
        /// Event types, comma-separated and/or repeated: bot.state_changed,
        /// bot.queued, bot.dispatched, bot.expired, platform.health_changed,
        /// pool.exhausted
        #[arg(long, value_name = "TYPE", value_delimiter = ',', required = true, value_parser = event_type)]
        events: Vec<EventType>,
        /// Its name (lower-case letters, digits, '.', '_', '-')
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Every subscription (never its secret)
    List,
    /// Remove a subscription with its pending deliveries and log
    Remove {
        /// The subscription's name
        name: String,
    },
    /// Recent deliveries, newest first: attempts, last status or error, next try
    Log {
        /// Only this subscription's deliveries
        name: Option<String>,
        /// How many (1 to 1000)
        #[arg(long, value_name = "N", default_value_t = 50,
              value_parser = clap::value_parser!(i64).range(1..=berth_core::webhook::log::MAX_LOG))]
        limit: i64,
    },
    /// The secret events to bots' own webhook URLs are signed with (one per
    /// database; created on first use)
    BotSecret,
}

/// `berth pools ...`.
#[derive(Debug, Args)]
pub struct PoolsArgs {
    /// The pools directory (default: $BERTH_POOLS_DIR, else ~/.config/berth/pools)
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: PoolsCommand,
}

/// `berth pools` subcommands.
#[derive(Debug, Subcommand)]
pub enum PoolsCommand {
    /// Every definition with its applied/pending state, and every broken file
    List,
    /// One definition and its applied version
    Show {
        /// Pool name
        name: String,
    },
    /// Check every file (or the given ones); exits 1 when any is invalid
    Validate {
        /// Files to check instead of the whole directory
        files: Vec<std::path::PathBuf>,
    },
    /// Dry run: checks and the impact of applying it
    Test {
        /// Pool name
        name: String,
    },
    /// Read the pool's account source again (the query, or the directory)
    Refresh {
        /// Pool name
        name: String,
    },
    /// Make the file's definition the one every instance uses
    Apply {
        /// Pool name
        name: String,
    },
    /// Delete the definition file and retire its pool (refused while its
    /// slots are busy or deploying; idle slots are removed, history kept)
    Delete {
        /// Pool name
        name: String,
    },
    /// The JSON Schema of the definition format
    Schema,
}

/// `berth secret`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a platform's API token in the OS keychain, read from standard
    /// input (e.g. `berth secret set coolify < token.txt`)
    Set {
        /// The platform (coolify)
        #[arg(value_parser = platform_kind)]
        platform: PlatformKind,
    },
}

impl Command {
    /// Log level when `RUST_LOG` is not set.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Command::Serve(_) | Command::Demo(_) => "info,sqlx=warn",
            _ => "warn",
        }
    }
}

/// `berth slots`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SlotsArgs {
    /// An action on slots by name (without one: list the slots)
    #[command(subcommand)]
    pub action: Option<SlotsCommand>,
    /// Only these statuses (idle, deploying, busy, error); comma-separated and/or repeated
    #[arg(long, value_name = "STATUS", value_delimiter = ',', value_parser = slot_status)]
    pub status: Vec<SlotStatus>,
    /// Only this pool
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// Only this deployment platform (k8s, aws, coolify, local)
    #[arg(long, value_parser = platform_kind)]
    pub platform: Option<PlatformKind>,
}

/// `berth bots ...`.
#[derive(Debug, Subcommand)]
pub enum BotsCommand {
    /// Request a bot: deployed on the first platform with room, or queued
    Create(CreateArgs),
    /// Report a bot's status (DONE and FATAL end it and release its slot)
    Status(ReportArgs),
    /// Cancel a bot that has not ended: it ends FATAL ("cancelled by
    /// cli:<user>[: reason]"), leaves the queue and releases its slot
    Cancel {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
        /// Why (kept in its error and the audit log)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Change a queued bot's priority (lower goes first); its place in the queue follows
    Priority {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
        /// The new priority (0 or more)
        #[arg(value_parser = priority, allow_negative_numbers = true)]
        priority: i32,
        /// Why (recorded in the audit log)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Pin a queued bot to one platform of its pool, or clear the pin (--clear)
    Reroute {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
        /// k8s, aws, coolify or local
        #[arg(value_parser = platform_kind, required_unless_present = "clear")]
        platform: Option<PlatformKind>,
        /// Clear the pin: every platform of its pool again
        #[arg(long, conflicts_with = "platform")]
        clear: bool,
        /// Why (recorded in the audit log)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Deploy a failed (FATAL) bot again: a new bot with the same request,
    /// linked to the old one
    Redeploy {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
        /// Why (recorded in the audit log)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Move a scheduled bot to another join time (its booking is checked again)
    Move {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
        /// The new join time: RFC 3339 (2026-12-01T09:00:00Z), in the future
        #[arg(long, value_name = "TIME", value_parser = values::join_at)]
        join_at: chrono::DateTime<chrono::Utc>,
    },
    /// One bot with its decision trace
    Show {
        /// Bot id
        #[arg(value_parser = bot_id)]
        id: i64,
    },
    /// Recent bots, newest first
    List(ListArgs),
}

/// `berth bots create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Meeting platform: google-meet, microsoft-teams or zoom
    #[arg(long, value_name = "PLATFORM", value_parser = meeting_platform)]
    pub meeting_platform: MeetingPlatform,
    /// Meeting URL: an http(s) link on the meeting platform's own hosts, at
    /// most 2048 bytes (a refusal names the hosts)
    #[arg(long, value_name = "URL", value_parser = meeting_url)]
    pub meeting_url: String,
    /// Priority, lower goes first (default: the pool's `queue.priority`, else 100)
    #[arg(long, value_name = "N", value_parser = priority, allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// How long the request may wait in the queue, 0 to 600000 ms (default:
    /// the pool's `queue.timeout`, else 300000)
    #[arg(long, value_name = "MS", value_parser = queue_timeout_ms, allow_negative_numbers = true)]
    pub queue_timeout_ms: Option<i32>,
    /// The pool to use (it must serve the meeting platform; default: the
    /// meeting platform's own pool)
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// The bot's own webhook URL: its events go there too, signed with the
    /// secret `berth webhooks bot-secret` shows
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// When the bot must be in the meeting: RFC 3339 (2026-12-01T09:00:00Z),
    /// in the future, at most 30 days ahead. The bot is SCHEDULED until
    /// Berth starts it, its observed deploy time ahead
    #[arg(long, value_name = "TIME", value_parser = values::join_at)]
    pub join_at: Option<chrono::DateTime<chrono::Utc>>,
    /// With --join-at, when the window is fully booked: refuse (default;
    /// window_full) or queue (accepted, started at its time and queued)
    #[arg(long, value_name = "WHAT", value_parser = values::if_full, requires = "join_at")]
    pub if_full: Option<berth_core::schedule::IfFull>,
    /// With --join-at, how long the bot is expected to stay, in ms
    /// (60000 to 86400000; default 3600000): its booking's length
    #[arg(long, value_name = "MS", value_parser = millis, requires = "join_at")]
    pub expected_duration_ms: Option<i32>,
    /// How many bots (1 to 100; several: a batch in --pool, which is then required)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=berth_core::lifecycle::MAX_BATCH as i64))]
    pub count: u32,
    /// With --count, space the bots' starts by this delay (5s, 500ms, 1m;
    /// at most 10m): later bots are SCHEDULED and Berth starts them, so the
    /// command returns at once
    #[arg(long, value_name = "DELAY", value_parser = values::stagger)]
    pub stagger: Option<u32>,
}

/// `berth bots status`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Bot id
    #[arg(value_parser = bot_id)]
    pub id: i64,
    /// New status: JOINING_CALL, IN_WAITING_ROOM, IN_CALL, LEAVING, CALL_ENDED, DONE or FATAL (any case)
    #[arg(value_parser = bot_status)]
    pub status: BotStatus,
    /// Why (kept as the error of a FATAL bot)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `berth bots list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only bots in this status (repeat for several)
    #[arg(long, value_parser = bot_status)]
    pub status: Vec<BotStatus>,
    /// Only bots of this pool (repeat for several)
    #[arg(long, value_name = "NAME")]
    pub pool: Vec<String>,
    /// Only bots on this deployment platform: k8s, aws, coolify or local
    /// (repeat for several)
    #[arg(long, value_name = "PLATFORM", value_parser = platform_kind)]
    pub platform: Vec<PlatformKind>,
    /// A bot id (123 or #123), else a case-insensitive part of the meeting
    /// URL or display name
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only bots created since this time: RFC 3339 (2026-12-01T09:00:00Z)
    /// or a duration ago (90m, 2h, 1d)
    #[arg(long, value_name = "WHEN", value_parser = values::since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only bots listed after this one (the next page)
    #[arg(long, value_name = "ID", value_parser = bot_id)]
    pub before: Option<i64>,
    /// How many (1 to 1000)
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=berth_core::bot::MAX_PAGE as i64))]
    pub limit: u32,
}

/// `berth demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself (gracefully) after this many seconds
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration_secs: Option<u64>,
}

/// `berth sim ...`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Change one platform's knobs; knobs not given keep their value
    Set(SimSetArgs),
    /// Every platform's knobs
    Show,
}

/// `berth sim set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("knob").required(true).multiple(true)
    .args(["deploy_latency_ms", "pull_latency_ms", "failure_rate", "run_ms", "run_until_told", "stop_fails", "list_fails"])))]
pub struct SimSetArgs {
    /// Platform: k8s, aws, coolify or local
    #[arg(value_parser = platform_kind)]
    pub platform: PlatformKind,
    /// How long starting a workload takes
    #[arg(long, value_name = "MS", value_parser = millis)]
    pub deploy_latency_ms: Option<i32>,
    /// How long the first pull of an image takes
    #[arg(long, value_name = "MS", value_parser = millis)]
    pub pull_latency_ms: Option<i32>,
    /// Probability (0 to 1) that a start fails
    #[arg(long, value_name = "F", value_parser = failure_rate)]
    pub failure_rate: Option<f64>,
    /// How long a bot runs before its workload exits
    #[arg(long, value_name = "MS", value_parser = millis, conflicts_with = "run_until_told")]
    pub run_ms: Option<i32>,
    /// Bots run until they report DONE/FATAL themselves
    #[arg(long)]
    pub run_until_told: bool,
    /// Make every stop fail (exercises recovery)
    #[arg(long, value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub stop_fails: Option<bool>,
    /// Make every listing fail (exercises reconciliation's "unknown")
    #[arg(long, value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub list_fails: Option<bool>,
}

#[cfg(test)]
mod tests;
