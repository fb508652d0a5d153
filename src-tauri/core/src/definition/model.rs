//! The definition's own types: the pool, its resources, recovery and queue
//! defaults, durations, problems, and what a scan found.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::account_source::AccountSource;
use crate::error::{Error, ErrorCode};
use crate::meeting::{MeetingPlatform, PlatformKind};

/// The most slots a pool may have (slot numbers are three digits).
pub const MAX_POOL_SIZE: u32 = 999;
/// The longest queue timeout a pool may ask for.
pub const MAX_QUEUE_TIMEOUT: Duration = Duration::from_secs(600);
/// The largest definition (file or text) Berth reads: 256 KiB, about fifty
/// times the largest realistic one (a builder form with long `in` lists).
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// The longest `recovery.interval`, `recovery.deploying_timeout` and
/// `accounts.pool_config.refresh_interval`: a day, as for the environment's
/// own recovery settings.
pub const MAX_JOB_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The longest `scaling.scale_down_after`: a day, like the other job durations.
pub const MAX_SCALE_DOWN_AFTER: Duration = MAX_JOB_DURATION;
/// The shortest `scaling.scale_down_after`: a slot made for a burst is not
/// removed before the burst's next minute could use it.
pub const MIN_SCALE_DOWN_AFTER: Duration = Duration::from_secs(60);

/// A pool definition, as written in its YAML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Berth pool definition")]
pub struct PoolDefinition {
    /// Unique pool name: lower-case letters, digits and `-`, at most 63
    /// characters. Slots are named `pool-<name>-NNN`.
    pub name: String,
    /// The meeting platform its bots join.
    pub meeting_platform: MeetingPlatform,
    /// The bot image, without tag (`ghcr.io/acme/meet-bot`).
    pub image: String,
    /// The image tag.
    #[serde(default = "default_tag")]
    pub tag: String,
    /// Most slots across all deployment platforms (1 to 999).
    pub max_size: u32,
    /// Idle slots to keep ready (at most `max_size`); a fixed count. A pool
    /// with `scaling` leaves it out (its `min_idle` is the floor instead).
    #[serde(default)]
    pub prewarm: u32,
    /// Auto-scaling: the idle target follows demand between `min_idle` and
    /// `max_idle`; omitted: the fixed `prewarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Scaling>,
    /// Deployment platforms allowed, in order; omitted: the global priority order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<PlatformKind>>,
    /// Resource requests of a bot's workload.
    #[serde(default)]
    pub resources: Resources,
    /// Slot recovery policy.
    #[serde(default)]
    pub recovery: Recovery,
    /// Defaults for this pool's bot requests.
    #[serde(default)]
    pub queue: QueueDefaults,
    /// Where the pool's meeting accounts come from, if it uses any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<AccountSource>,
}

fn default_tag() -> String {
    "latest".into()
}

/// Resource requests, in Kubernetes quantity notation (`500m`, `1Gi`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU request (`500m`, `1`, `2.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory request (`512Mi`, `2Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Size of `/dev/shm` (browsers need more than the default 64 MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
}

/// Auto-scaling policy ([`crate::scaling`]): the idle target is `min_idle`
/// plus what the next lead time's scheduled bots need plus a buffer from
/// the recent arrival rate, at most `max_idle`; idle slots above it are
/// removed once idle for `scale_down_after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Idle slots always kept ready (0 to `max_idle`).
    #[serde(default)]
    pub min_idle: u32,
    /// Most idle slots the target may reach (`min_idle` to `max_size`).
    pub max_idle: u32,
    /// How long an idle slot above the target stays before it is removed (1m to 24h).
    #[serde(default = "ten_minutes")]
    pub scale_down_after: Interval,
}

fn ten_minutes() -> Interval {
    Interval(Duration::from_secs(600))
}

/// Slot recovery policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// How often recovery looks at this pool's slots (1s to 24h).
    #[serde(default = "five_minutes")]
    pub interval: Interval,
    /// When a `deploying` slot counts as stuck (10s to 24h).
    #[serde(default = "five_minutes")]
    pub deploying_timeout: Interval,
    /// Failed recovery attempts before the slot and its resource are deleted (1 to 10).
    #[serde(default = "three")]
    pub max_attempts: u32,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            interval: five_minutes(),
            deploying_timeout: five_minutes(),
            max_attempts: 3,
        }
    }
}

pub(super) fn five_minutes() -> Interval {
    Interval(Duration::from_secs(300))
}

pub(super) fn three() -> u32 {
    3
}

/// Queue defaults of the pool's bot requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueDefaults {
    /// Priority (lower first, 0 to 1000).
    #[serde(default = "hundred")]
    pub priority: i32,
    /// How long a request may wait in the global queue (1s to 10m).
    #[serde(default = "five_minutes")]
    pub timeout: Interval,
}

impl Default for QueueDefaults {
    fn default() -> Self {
        QueueDefaults {
            priority: 100,
            timeout: five_minutes(),
        }
    }
}

fn hundred() -> i32 {
    100
}

/// A duration written the human way: `30s`, `5m`, `1h 30m`, `250ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(Interval)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a duration ({e}); write e.g. 30s, 5m or 1h"
                ))
            })
    }
}

impl JsonSchema for Interval {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Interval".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit (ms, s, m, h), e.g. 30s, 5m, 1h 30m.",
            "pattern": "^\\s*([0-9]+\\s*(ms|s|m|h|sec|min|hour|hours)\\s*)+$"
        })
    }
}

/// A problem with a definition, located in its file where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The file, when the definition came from one.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The field at fault (`max_size`, `accounts.query.parameters`), when known.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}")?;
            if let Some(col) = self.column {
                write!(f, ", column {col}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Self {
        Error::new(ErrorCode::DefinitionInvalid, p.to_string())
    }
}

/// The SHA-256 of a definition's text, hex: what "applied" compares.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The JSON Schema of the definition format.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PoolDefinition)).unwrap_or(serde_json::Value::Null)
}

/// A definition found in the pools directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its file.
    pub path: PathBuf,
    /// The parsed, checked definition.
    pub definition: PoolDefinition,
    /// The file's text, as applied when applied.
    pub text: String,
    /// [`content_hash`] of the text.
    pub hash: String,
}

/// What a scan of the pools directory found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Valid definitions, by file name.
    pub definitions: Vec<Found>,
    /// Files that could not be used, with why (each is skipped, never fatal).
    pub problems: Vec<Problem>,
    /// Example files written because the directory did not exist
    /// ([`super::scan`] only; first use).
    pub seeded: Vec<PathBuf>,
}

impl Discovery {
    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&Found> {
        self.definitions.iter().find(|f| f.definition.name == name)
    }
}
