//! Pool definitions: one YAML file per pool in a pools directory.
//!
//! A definition is parsed strictly (unknown keys are errors, keys are
//! snake_case), then checked semantically; every problem names the file, the
//! line and column where it can be found, and a machine-readable code.
//! [`discover`] reads a directory (only `*.yaml`), reporting each broken file
//! and skipping it, never failing the whole scan. [`apply`] makes a
//! definition the version every instance uses: it is stored in the shared
//! database with its content hash and version, and the `pools` row the engine
//! reads is updated in the same transaction. The JSON Schema of the format
//! ([`schema`]) is generated from the same types.
//!
//! Files are read only from inside the pools directory ([`read_file`],
//! through [`crate::confined`]): a symbolic link leading out of it is
//! refused, a file is at most [`MAX_FILE_BYTES`], and a problem quotes at
//! most a short excerpt of what it found, so a file that is not a definition
//! is never echoed back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::confined::{self, Confined, Refusal};
use crate::error::{Error, ErrorCode, Result};
use crate::feed::{Feed, Topic};
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
    /// Idle slots to keep ready (at most `max_size`).
    #[serde(default)]
    pub prewarm: u32,
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

fn five_minutes() -> Interval {
    Interval(Duration::from_secs(300))
}

fn three() -> u32 {
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

/// Where a pool's meeting accounts come from.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccountSource {
    /// Accounts selected from the database by a read-only query.
    Sql {
        /// The query and its typed parameters (either this or `builder`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<SqlQuery>,
        /// The query as a visual-builder form (either this or `query`):
        /// compiled to SQL after its table and columns are checked against
        /// the columns the query role can read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        builder: Option<QueryBuilder>,
        /// Leasing policy.
        #[serde(default)]
        pool_config: AccountPoolConfig,
    },
    /// One account file per account in a directory.
    File {
        /// The directory, relative to the pools directory and inside it
        /// (no leading `/`, no `..`, no symbolic link leading out).
        directory: PathBuf,
        /// Leasing policy.
        #[serde(default)]
        pool_config: AccountPoolConfig,
    },
}

/// Keys given to the wrong kind of account source: the parser's message
/// and the keys it is about, to point the problem at the first of them
/// (the parser can only point at the source's mapping, read as a whole).
const MISPLACED_KEYS: [(&str, &[&str]); 2] = [
    (
        "`directory` belongs to a file source (type: file); an sql source takes `query` or `builder`",
        &["accounts.directory"],
    ),
    (
        "`query` and `builder` belong to an sql source (type: sql); a file source takes `directory`",
        &["accounts.query", "accounts.builder"],
    ),
];

impl<'de> Deserialize<'de> for AccountSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        // Read in one pass as a flat mapping, not as a serde internally
        // tagged enum: that buffers the whole mapping to find `type` first,
        // and every error inside it then lost its location (they all
        // pointed at `accounts:`).
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Flat {
            #[serde(rename = "type")]
            kind: SourceKind,
            #[serde(default)]
            query: Option<SqlQuery>,
            #[serde(default)]
            builder: Option<QueryBuilder>,
            #[serde(default)]
            directory: Option<PathBuf>,
            #[serde(default)]
            pool_config: AccountPoolConfig,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum SourceKind {
            Sql,
            File,
        }
        let flat = Flat::deserialize(d)?;
        match flat.kind {
            SourceKind::Sql if flat.directory.is_some() => {
                Err(D::Error::custom(MISPLACED_KEYS[0].0))
            }
            SourceKind::Sql => Ok(AccountSource::Sql {
                query: flat.query,
                builder: flat.builder,
                pool_config: flat.pool_config,
            }),
            SourceKind::File if flat.query.is_some() || flat.builder.is_some() => {
                Err(D::Error::custom(MISPLACED_KEYS[1].0))
            }
            SourceKind::File => Ok(AccountSource::File {
                directory: flat
                    .directory
                    .ok_or_else(|| D::Error::missing_field("directory"))?,
                pool_config: flat.pool_config,
            }),
        }
    }
}

impl AccountSource {
    /// Its leasing policy.
    pub fn pool_config(&self) -> &AccountPoolConfig {
        match self {
            AccountSource::Sql { pool_config, .. } | AccountSource::File { pool_config, .. } => {
                pool_config
            }
        }
    }
}

/// An account query: one `SELECT` with named parameters (`:name`), which
/// are bound by the driver, never spliced into the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlQuery {
    /// The `SELECT` statement.
    pub select: String,
    /// Its parameters, by name.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

/// An account query as a form: table, columns, filters, sort and limit.
/// Names are checked against the table's real columns (as the query role
/// sees them) and quoted; values become bound parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryBuilder {
    /// The table (`accounts`, or `schema.accounts`).
    pub table: String,
    /// Columns returned; empty: every column the query role can read. The
    /// account key is the `id` column, or else the first one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Conditions, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Order of the rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<Sort>,
    /// Most rows returned (1 to 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One condition of a [`QueryBuilder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// The comparator.
    pub op: Comparator,
    /// The value: a string, number or boolean; a non-empty list of them for
    /// `in`/`not_in`; omitted for `is_null`/`is_not_null`.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub value: serde_json::Value,
}

/// Comparators the builder allows (nothing else can be written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Comparator {
    /// Equal.
    #[serde(rename = "=")]
    Eq,
    /// Not equal.
    #[serde(rename = "!=")]
    Ne,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// At least.
    #[serde(rename = ">=")]
    Ge,
    /// One of a list.
    #[serde(rename = "in")]
    In,
    /// None of a list.
    #[serde(rename = "not_in")]
    NotIn,
    /// SQL `LIKE` pattern (`%` any text, `_` one character), on the column as text.
    #[serde(rename = "like")]
    Like,
    /// Null.
    #[serde(rename = "is_null")]
    IsNull,
    /// Not null.
    #[serde(rename = "is_not_null")]
    IsNotNull,
}

impl Comparator {
    /// Every comparator, in the order a form offers them.
    pub const ALL: [Comparator; 11] = [
        Comparator::Eq,
        Comparator::Ne,
        Comparator::Lt,
        Comparator::Le,
        Comparator::Gt,
        Comparator::Ge,
        Comparator::In,
        Comparator::NotIn,
        Comparator::Like,
        Comparator::IsNull,
        Comparator::IsNotNull,
    ];

    /// How it is written in a definition.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::In => "in",
            Comparator::NotIn => "not_in",
            Comparator::Like => "like",
            Comparator::IsNull => "is_null",
            Comparator::IsNotNull => "is_not_null",
        }
    }
}

/// One sort key of a [`QueryBuilder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    /// The column.
    pub column: String,
    /// Ascending (default) or descending.
    #[serde(default)]
    pub direction: Direction,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// The most rows a builder query may ask for.
pub const MAX_BUILDER_LIMIT: u32 = 10_000;

/// One typed query parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Name used in the query as `:name`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Its value, of that type.
    pub value: serde_json::Value,
}

/// Types a query parameter may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// Text.
    String,
    /// A 64-bit integer.
    Int,
    /// A floating-point number.
    Float,
    /// `true` or `false`.
    Bool,
}

/// How accounts are leased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPoolConfig {
    /// Whether a failed account returns to the pool (until `max_failures`).
    #[serde(default)]
    pub retry_failed: bool,
    /// Failures after which an account is no longer leased (1 to 100).
    #[serde(default = "three")]
    pub max_failures: u32,
    /// How often the source is read again (`0s`: by hand only; else 1s to 24h).
    #[serde(default = "five_minutes")]
    pub refresh_interval: Interval,
}

impl Default for AccountPoolConfig {
    fn default() -> Self {
        AccountPoolConfig {
            retry_failed: false,
            max_failures: 3,
            refresh_interval: five_minutes(),
        }
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

/// Parses and checks one definition's text. `file` only labels problems.
/// A text over [`MAX_FILE_BYTES`] is refused unread. Problems quote at most
/// a short excerpt of the text ([`excerpt`]).
pub fn parse(text: &str, file: Option<&Path>) -> std::result::Result<PoolDefinition, Vec<Problem>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![Problem {
            file: file.map(Path::to_path_buf),
            line: None,
            column: None,
            field: None,
            message: format!(
                "the definition is {} bytes; at most {MAX_FILE_BYTES} ({} KiB) are allowed",
                text.len(),
                MAX_FILE_BYTES / 1024
            ),
        }]);
    }
    // YAML 1.2 booleans: only `true`/`false` (in YAML 1.1, `n`, `no` or `off`
    // would silently become `false`, e.g. a parameter named `n`).
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    let def: PoolDefinition = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| vec![parse_problem(&e, text, file)])?;
    let problems = check(&def, text, file);
    if problems.is_empty() {
        Ok(def)
    } else {
        Err(problems)
    }
}

/// The parser's error as a problem: its own message (the rendered error
/// would add "at line N, column M" a second time, after the location
/// reported in the problem's fields), cut to excerpts, located where the
/// parser says, or for a key given to the wrong kind of account source, at
/// that key.
fn parse_problem(e: &serde_saphyr::Error, text: &str, file: Option<&Path>) -> Problem {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(e);
    let misplaced = MISPLACED_KEYS
        .iter()
        .find(|(m, _)| message == *m)
        .and_then(|(_, fields)| {
            fields.iter().find_map(|f| {
                let (depth, line, column) = find_key(text, f)?;
                (depth == f.split('.').count()).then_some((f, line, column))
            })
        });
    let (field, line, column) = match (misplaced, e.location()) {
        (Some((f, l, c)), _) => (Some(f.to_string()), Some(l), Some(c)),
        (None, Some(l)) => (None, Some(l.line()), Some(l.column())),
        (None, None) => (None, None, None),
    };
    Problem {
        file: file.map(Path::to_path_buf),
        line,
        column,
        field,
        message: excerpt(&message, MAX_MESSAGE_CHARS),
    }
}

/// The most characters of a problem's message.
const MAX_MESSAGE_CHARS: usize = 300;
/// The most characters a problem quotes of one value it found.
const MAX_EXCERPT_CHARS: usize = 40;

/// `text` made safe to show: control characters escaped, every quoted run
/// (between backticks or double quotes, as the parser and [`check`] quote
/// what they found) cut to [`MAX_EXCERPT_CHARS`], and the whole cut to
/// `max` characters. What a file holds comes back only as short excerpts.
fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut open: Option<char> = None;
    let mut escaped = false;
    let mut quoted = 0;
    let mut shown = 0;
    for c in text.chars() {
        if shown >= max {
            out.push('…');
            break;
        }
        match open {
            // `{:?}` escapes quotes inside the quoted value.
            Some(q) if c == q && !escaped => open = None,
            Some(_) => {
                escaped = c == '\\' && !escaped;
                quoted += 1;
                if quoted > MAX_EXCERPT_CHARS {
                    if quoted == MAX_EXCERPT_CHARS + 1 {
                        out.push('…');
                        shown += 1;
                    }
                    continue;
                }
            }
            None if c == '`' || c == '"' => {
                open = Some(c);
                quoted = 0;
                escaped = false;
            }
            None => {}
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
        shown += 1;
    }
    out
}

/// Semantic checks (ranges, names, cross-field rules); each problem is
/// located at its key ([`locate`]) and quotes at most excerpts ([`excerpt`]).
pub fn check(def: &PoolDefinition, text: &str, file: Option<&Path>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |field: &str, message: String| {
        let (line, column) = locate(text, field);
        out.push(Problem {
            file: file.map(Path::to_path_buf),
            line,
            column,
            field: Some(field.to_string()),
            message: excerpt(&message, MAX_MESSAGE_CHARS),
        });
    };
    if !valid_name(&def.name) {
        bad(
            "name",
            format!(
                "{:?} is not a valid pool name: use 1-63 lower-case letters, digits and '-', starting with a letter or digit",
                def.name
            ),
        );
    }
    if def.image.trim().is_empty() || def.image.chars().any(char::is_whitespace) {
        bad("image", "must be an image reference without spaces".into());
    } else if def
        .image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
    {
        bad("image", "give the tag in `tag`, not in the image".into());
    }
    if def.tag.is_empty()
        || def.tag.len() > 128
        || !def
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        bad("tag", format!("{:?} is not a valid image tag", def.tag));
    }
    if !(1..=MAX_POOL_SIZE).contains(&def.max_size) {
        bad(
            "max_size",
            format!("must be from 1 to {MAX_POOL_SIZE}, got {}", def.max_size),
        );
    }
    if def.prewarm > def.max_size {
        bad(
            "prewarm",
            format!(
                "{} exceeds max_size {}: a pool cannot keep more idle slots than it may have",
                def.prewarm, def.max_size
            ),
        );
    }
    if let Some(platforms) = &def.platforms {
        if platforms.is_empty() {
            bad(
                "platforms",
                "is empty: omit it to use the global priority order".into(),
            );
        }
        let mut seen = Vec::new();
        for p in platforms {
            if seen.contains(p) {
                bad("platforms", format!("{p} is listed twice"));
            }
            seen.push(*p);
        }
    }
    for (field, value) in [
        ("resources.cpu", &def.resources.cpu),
        ("resources.memory", &def.resources.memory),
        ("resources.shm_size", &def.resources.shm_size),
    ] {
        if let Some(v) = value {
            if !valid_quantity(v) {
                bad(
                    field,
                    format!("{v:?} is not a quantity (e.g. 500m, 1, 512Mi, 2Gi)"),
                );
            }
        }
    }
    let second = Duration::from_secs(1);
    for (field, value, min, max) in [
        (
            "recovery.interval",
            def.recovery.interval,
            second,
            MAX_JOB_DURATION,
        ),
        (
            "recovery.deploying_timeout",
            def.recovery.deploying_timeout,
            Duration::from_secs(10),
            MAX_JOB_DURATION,
        ),
        (
            "queue.timeout",
            def.queue.timeout,
            second,
            MAX_QUEUE_TIMEOUT,
        ),
    ] {
        if let Some(message) = out_of_range(value.0, min, max) {
            bad(field, message);
        }
    }
    if !(1..=10).contains(&def.recovery.max_attempts) {
        bad(
            "recovery.max_attempts",
            format!("must be from 1 to 10, got {}", def.recovery.max_attempts),
        );
    }
    if !(0..=1000).contains(&def.queue.priority) {
        bad(
            "queue.priority",
            format!("must be from 0 to 1000, got {}", def.queue.priority),
        );
    }
    if let Some(source) = &def.accounts {
        let config = match source {
            AccountSource::Sql {
                query,
                builder,
                pool_config,
            } => {
                match (query, builder) {
                    (Some(query), None) => check_query(query, &mut bad),
                    (None, Some(b)) => check_builder(b, &mut bad),
                    (None, None) => bad(
                        "accounts.query",
                        "is missing: write a `query` (SQL) or a `builder` (form)".into(),
                    ),
                    (Some(_), Some(_)) => bad(
                        "accounts.builder",
                        "and `query` are both given: keep one of them".into(),
                    ),
                }
                pool_config
            }
            AccountSource::File {
                directory,
                pool_config,
            } => {
                if directory.as_os_str().is_empty() {
                    bad("accounts.directory", "is empty".into());
                } else if !confined::written_inside(directory) {
                    bad(
                        "accounts.directory",
                        format!(
                            "{:?} is not inside the pools directory: write it relative to that directory, without a leading `/` or `..`",
                            directory.display().to_string()
                        ),
                    );
                }
                pool_config
            }
        };
        if !(1..=100).contains(&config.max_failures) {
            bad(
                "accounts.pool_config.max_failures",
                format!("must be from 1 to 100, got {}", config.max_failures),
            );
        }
        let refresh = config.refresh_interval.0;
        if !refresh.is_zero() && out_of_range(refresh, second, MAX_JOB_DURATION).is_some() {
            bad(
                "accounts.pool_config.refresh_interval",
                format!(
                    "must be 0s (manual refresh only) or from 1s to {}, got {}",
                    short_duration(MAX_JOB_DURATION),
                    short_duration(refresh)
                ),
            );
        }
    }
    out
}

/// "must be from MIN to MAX, got V" when `value` is outside `min..=max`.
fn out_of_range(value: Duration, min: Duration, max: Duration) -> Option<String> {
    (value < min || value > max).then(|| {
        format!(
            "must be from {} to {}, got {}",
            short_duration(min),
            short_duration(max),
            short_duration(value)
        )
    })
}

/// A duration in its largest whole unit of h, m, s, ms (`24h`, `90s`).
fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if !d.subsec_nanos().is_multiple_of(1_000_000) => {
            humantime::format_duration(d).to_string()
        }
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

fn check_query(query: &SqlQuery, bad: &mut impl FnMut(&str, String)) {
    let names: Vec<&str> = query.parameters.iter().map(|p| p.name.as_str()).collect();
    if query.select.trim().is_empty() {
        bad("accounts.query.select", "is empty".into());
    }
    for (i, p) in query.parameters.iter().enumerate() {
        if p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bad(
                "accounts.query.parameters",
                format!("{:?} is not a parameter name (letters, digits, _)", p.name),
            );
        }
        if names[..i].contains(&p.name.as_str()) {
            bad(
                "accounts.query.parameters",
                format!("{:?} is defined twice", p.name),
            );
        }
        let fits = match p.kind {
            ParameterType::String => p.value.is_string(),
            ParameterType::Int => p.value.is_i64(),
            ParameterType::Float => p.value.is_number(),
            ParameterType::Bool => p.value.is_boolean(),
        };
        if !fits {
            bad(
                "accounts.query.parameters",
                format!("{:?}: {} is not a {:?} value", p.name, p.value, p.kind).to_lowercase(),
            );
        }
    }
    for used in placeholders(&query.select) {
        if !names.contains(&used.as_str()) {
            bad(
                "accounts.query.select",
                format!("uses :{used}, which is not among the parameters"),
            );
        }
    }
}

fn check_builder(b: &QueryBuilder, bad: &mut impl FnMut(&str, String)) {
    let ident = |bad: &mut dyn FnMut(&str, String), field: &str, name: &str| {
        if name.trim().is_empty() || name.len() > 63 || name.contains('\0') {
            bad(field, format!("{name:?} is not a column or table name"));
        }
    };
    let mut parts = b.table.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(t), None, None) => ident(bad, "accounts.builder.table", t),
        (Some(s), Some(t), None) => {
            ident(bad, "accounts.builder.table", s);
            ident(bad, "accounts.builder.table", t);
        }
        _ => ident(bad, "accounts.builder.table", ""),
    }
    for c in &b.columns {
        ident(bad, "accounts.builder.columns", c);
    }
    for s in &b.sort {
        ident(bad, "accounts.builder.sort", &s.column);
    }
    let scalar = |v: &serde_json::Value| v.is_string() || v.is_number() || v.is_boolean();
    for f in &b.filters {
        ident(bad, "accounts.builder.filters", &f.column);
        let op = f.op.as_str();
        let ok = match f.op {
            Comparator::IsNull | Comparator::IsNotNull => f.value.is_null(),
            Comparator::In | Comparator::NotIn => f.value.as_array().is_some_and(|items| {
                !items.is_empty()
                    && items.len() <= 1000
                    && items.iter().all(scalar)
                    && items.iter().all(|i| same_kind(i, &items[0]))
            }),
            Comparator::Like => f.value.is_string(),
            _ => scalar(&f.value),
        };
        if !ok {
            let want = match f.op {
                Comparator::IsNull | Comparator::IsNotNull => "no value",
                Comparator::In | Comparator::NotIn => {
                    "a list of 1 to 1000 values of one type (strings, numbers or booleans)"
                }
                Comparator::Like => "a string pattern",
                _ => "a string, number or boolean",
            };
            bad(
                "accounts.builder.filters",
                format!("{:?} {op}: takes {want}, got {}", f.column, f.value),
            );
        }
    }
    if let Some(limit) = b.limit {
        if !(1..=MAX_BUILDER_LIMIT).contains(&limit) {
            bad(
                "accounts.builder.limit",
                format!("must be from 1 to {MAX_BUILDER_LIMIT}, got {limit}"),
            );
        }
    }
}

fn same_kind(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// `:name` placeholders in a query, outside quoted strings and `::` casts.
pub fn placeholders(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ':' => {
                if chars.get(i + 1) == Some(&':') {
                    i += 2;
                    continue;
                }
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_')
                {
                    end += 1;
                }
                if end > start && !(i > 0 && chars[i - 1] == ':') {
                    let name: String = chars[start..end].iter().collect();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out
}

fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn valid_quantity(q: &str) -> bool {
    const SUFFIXES: [&str; 14] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E", "",
    ];
    SUFFIXES.iter().any(|s| {
        q.strip_suffix(s).is_some_and(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                && n.chars().filter(|c| *c == '.').count() <= 1
                && n.parse::<f64>().is_ok_and(|v| v > 0.0)
        })
    })
}

/// Line and column (1-based) of the key at `path` (`queue.timeout`,
/// `accounts.pool_config.max_failures`) in block-style YAML: the first key
/// at the top level, each next one inside the block of the one before it.
/// When the last key is not there (it sits in a flow mapping `{ ... }`, or
/// was left out), the deepest key found; when not even the first is, the
/// first line holding the last key anywhere.
fn locate(text: &str, path: &str) -> (Option<u64>, Option<u64>) {
    if let Some((_, line, column)) = find_key(text, path) {
        return (Some(line), Some(column));
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    text.lines()
        .enumerate()
        .find_map(|(i, line)| {
            let (column, body) = key_line(line)?;
            starts_with_key(body, last).then_some((Some(i as u64 + 1), Some(column as u64)))
        })
        .unwrap_or((None, None))
}

/// How many keys of `path` [`locate`] followed through the blocks, and the
/// line and column of the deepest; none when not even the first is there.
fn find_key(text: &str, path: &str) -> Option<(usize, u64, u64)> {
    let keys: Vec<&str> = path.split('.').collect();
    let mut found = None;
    let mut depth = 0;
    let mut block: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let Some((column, body)) = key_line(line) else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        match block {
            // The parent's block ends at the first line indented no deeper.
            Some(parent) if indent <= parent => break,
            None if column != 1 => continue,
            _ => {}
        }
        if starts_with_key(body, keys[depth]) {
            depth += 1;
            found = Some((depth, i as u64 + 1, column as u64));
            if depth == keys.len() {
                break;
            }
            block = Some(column - 1);
        }
    }
    found
}

/// A line's 1-based column of its content (after any `- `) and that
/// content; none for blank and comment lines.
fn key_line(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
    Some((line.len() - body.len() + 1, body))
}

fn starts_with_key(body: &str, key: &str) -> bool {
    body.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
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
}

impl Discovery {
    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&Found> {
        self.definitions.iter().find(|f| f.definition.name == name)
    }
}

/// The pools directory `dir`, confined ([`Confined`]); `not_found` when it
/// does not exist.
fn pools_root(dir: &Path) -> Result<Confined> {
    Confined::new(dir).map_err(|e| {
        Error::new(
            e.code(),
            format!("cannot read the pools directory {}: it {e}", dir.display()),
        )
    })
}

/// Reads one definition file's text from the pools directory `dir`: the one
/// function every reader of a pool file goes through (scan, validate, the
/// desktop's editor). `path` names the file as the caller has it: `dir`
/// joined with a file name, or a command-line path (relative to the working
/// directory or absolute). It must lie in `dir` and, with its symbolic links
/// followed, stay inside (a link that stays inside is followed); it must be
/// a regular file of at most [`MAX_FILE_BYTES`] of UTF-8. Refused:
/// `not_found` when there is nothing to read, else `definition_invalid`,
/// the message saying why (never quoting the file).
pub fn read_file(dir: &Path, path: &Path) -> Result<String> {
    let root = pools_root(dir)?;
    read_in(&root, path).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn read_in(root: &Confined, path: &Path) -> std::result::Result<String, FileRefusal> {
    let rel = root.relative(path)?;
    let bytes = root.read(&rel, MAX_FILE_BYTES as u64)?;
    String::from_utf8(bytes).map_err(|_| FileRefusal::NotText)
}

/// Why [`read_file`] read nothing.
#[derive(Debug, thiserror::Error)]
enum FileRefusal {
    #[error("{0}")]
    Confined(#[from] Refusal),
    #[error("is not UTF-8 text")]
    NotText,
}

impl FileRefusal {
    fn code(&self) -> ErrorCode {
        match self {
            FileRefusal::Confined(r) => r.code(),
            FileRefusal::NotText => ErrorCode::DefinitionInvalid,
        }
    }
}

/// Reads every `*.yaml` entry of `dir` (not other files, not subdirectories)
/// through [`read_file`]'s rules. A file that cannot be read (a symbolic
/// link leading out of the directory, too large, not text) or is broken is
/// reported in [`Discovery::problems`] and skipped; so is a second file
/// defining a name already taken. A missing directory is an error.
pub fn discover(dir: &Path) -> Result<Discovery> {
    let root = pools_root(dir)?;
    let entries = std::fs::read_dir(root.root()).map_err(|e| {
        Error::new(
            ErrorCode::NotFound,
            format!("cannot read the pools directory {}: {e}", dir.display()),
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        // A directory (or a link to one) named `*.yaml` is not a definition.
        .filter(|e| !e.path().is_dir())
        .map(|e| dir.join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut out = Discovery::default();
    for path in paths {
        let text = match read_in(&root, &path) {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(Problem {
                    file: Some(path.clone()),
                    line: None,
                    column: None,
                    field: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match parse(&text, Some(&path)) {
            Ok(definition) => {
                if let Some(first) = out.get(&definition.name) {
                    let (line, column) = locate(&text, "name");
                    out.problems.push(Problem {
                        file: Some(path.clone()),
                        line,
                        column,
                        field: Some("name".into()),
                        message: format!(
                            "{:?} is already defined by {}",
                            definition.name,
                            first.path.display()
                        ),
                    });
                    continue;
                }
                let hash = content_hash(&text);
                out.definitions.push(Found {
                    path,
                    definition,
                    text,
                    hash,
                });
            }
            Err(problems) => out.problems.extend(problems),
        }
    }
    Ok(out)
}

/// A file name for a pool name (names are already file-safe once valid).
pub fn file_name(name: &str) -> Result<String> {
    if valid_name(name) {
        Ok(format!("{name}.yaml"))
    } else {
        Err(Error::new(
            ErrorCode::DefinitionInvalid,
            format!("{name:?} is not a valid pool name"),
        ))
    }
}

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
#[serde(rename_all = "camelCase", tag = "state")]
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
    let creates = (i64::from(def.prewarm) - kept_idle).clamp(0, room.max(0));
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
/// transaction; then announces the change on the feed. Applying the text
/// already in force writes nothing.
pub async fn apply(db: &PgPool, feed: &Feed, text: &str, who: &str) -> Result<ApplyOutcome> {
    let def = parse(text, None).map_err(|mut problems| Error::from(problems.remove(0)))?;
    let hash = content_hash(text);
    let mut tx = db.begin().await?;
    // Serialises concurrent applies of one pool across instances.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth:definition:' || $1))")
        .bind(&def.name)
        .execute(&mut *tx)
        .await?;
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
    let existing: Option<String> =
        sqlx::query_scalar("SELECT meeting_platform FROM pools WHERE name = $1 FOR UPDATE")
            .bind(&def.name)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(mp) = existing {
        let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = $1")
            .bind(&def.name)
            .fetch_one(&mut *tx)
            .await?;
        if mp != def.meeting_platform.as_str() && slots > 0 {
            tx.rollback().await?;
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "pool {} serves {mp} and has {slots} slots: its meeting platform cannot change",
                    def.name
                ),
            ));
        }
    }
    let version = current.map_or(1, |(v, _)| v + 1);
    let definition =
        serde_json::to_value(&def).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    sqlx::query(
        "INSERT INTO pool_definitions (name, version, hash, text, definition, applied_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&def.name)
    .bind(version)
    .bind(&hash)
    .bind(text)
    .bind(&definition)
    .bind(who)
    .execute(&mut *tx)
    .await?;
    let allowed: Option<Vec<String>> = def
        .platforms
        .as_ref()
        .map(|v| v.iter().map(|p| p.as_str().to_string()).collect());
    sqlx::query(
        "INSERT INTO pools (name, meeting_platform, image, max_size, prewarm_count, allowed_platforms,
                            source, uses_accounts, queue_priority, queue_timeout_ms,
                            deploying_timeout_ms, recovery_max_attempts)
         VALUES ($1, $2, $3, $4, $5, $6, 'definition', $7, $8, $9, $10, $11)
         ON CONFLICT (name) DO UPDATE SET meeting_platform = $2, image = $3, max_size = $4,
             prewarm_count = $5, allowed_platforms = $6, source = 'definition', uses_accounts = $7,
             queue_priority = $8, queue_timeout_ms = $9, deploying_timeout_ms = $10,
             recovery_max_attempts = $11, retired = false, updated_at = now()",
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
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    feed.publish(&[Topic::Pools]);
    Ok(ApplyOutcome {
        version,
        hash,
        changed: true,
    })
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
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('berth:definition:' || $1))")
        .bind(name)
        .execute(&mut *tx)
        .await?;
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

/// The pools directory: `$BERTH_POOLS_DIR`, else `$XDG_CONFIG_HOME/berth/pools`,
/// else `$HOME/.config/berth/pools`.
pub fn pools_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("BERTH_POOLS_DIR") {
        return dir;
    }
    if let Some(dir) = set("XDG_CONFIG_HOME").filter(|d| d.is_absolute()) {
        return dir.join("berth").join("pools");
    }
    set("HOME")
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".config")
        .join("berth")
        .join("pools")
}

/// Watches a pools directory for `*.yaml` files created, changed or removed
/// outside Berth. Dropping it stops watching.
pub struct Watching {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long a burst of file events (an editor's save, a `git pull`) is
/// gathered into one notification.
pub const WATCH_COALESCE: Duration = Duration::from_millis(150);

/// Calls `on_change` with the `*.yaml` files of `dir` that changed, once per
/// burst of file-system events (see [`WATCH_COALESCE`]). Runs on the current
/// Tokio runtime.
pub fn watch(dir: &Path, on_change: impl Fn(Vec<PathBuf>) + Send + 'static) -> Result<Watching> {
    use notify::Watcher;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            for path in event.paths {
                if path.extension().is_some_and(|x| x == "yaml") {
                    let _ = tx.send(path);
                }
            }
        }
    })
    .map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("cannot watch {}: {e}", dir.display()),
        )
    })?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| {
            Error::new(
                ErrorCode::NotFound,
                format!("cannot watch the pools directory {}: {e}", dir.display()),
            )
        })?;
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = vec![first];
            let window = tokio::time::sleep(WATCH_COALESCE);
            tokio::pin!(window);
            loop {
                tokio::select! {
                    _ = &mut window => break,
                    more = rx.recv() => match more {
                        Some(p) => changed.push(p),
                        None => break,
                    },
                }
            }
            changed.sort();
            changed.dedup();
            on_change(changed);
        }
    });
    Ok(Watching {
        _watcher: watcher,
        task,
    })
}

/// A commented example definition for `mp`'s default pool.
pub fn example(mp: MeetingPlatform) -> String {
    let image = mp.default_image();
    let image = image.strip_suffix(":latest").unwrap_or(&image);
    format!(
        "# Berth pool definition: one pool per file; keys are snake_case, unknown keys are errors.
# Check it with `berth pools validate`, apply it with `berth pools apply {name}`.
name: {name}                      # slots are named pool-{name}-NNN
meeting_platform: {mp}            # google-meet, microsoft-teams or zoom
image: {image}
tag: latest
max_size: 100                     # 1 to 999 slots across all platforms
prewarm: 0                        # idle slots kept ready (at most max_size)
# platforms: [k8s, aws]           # allowed platforms in order; omit for the global priority
resources:
  cpu: 500m
  memory: 1Gi
  shm_size: 1Gi                   # /dev/shm for the browser
recovery:
  interval: 5m
  deploying_timeout: 5m
  max_attempts: 3                 # then the slot and its resource are deleted
queue:
  priority: 100                   # lower first
  timeout: 5m                     # at most 10m
# accounts:                       # optional account source
#   type: sql
#   query:
#     select: SELECT id, email FROM accounts WHERE status = :status ORDER BY last_used NULLS FIRST LIMIT :limit
#     parameters:
#       - {{ name: status, type: string, value: available }}
#       - {{ name: limit, type: int, value: 100 }}
#   pool_config:
#     retry_failed: true
#     max_failures: 3
#     refresh_interval: 30s
",
        name = mp.as_str(),
        mp = mp.as_str(),
    )
}

/// Seeds `dir` with a commented example per meeting platform when it does
/// not exist yet (first run). Returns the files written; an existing
/// directory, even an empty one, is left alone.
pub fn seed(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists() {
        return Ok(Vec::new());
    }
    let io = |e: std::io::Error| {
        Error::new(
            ErrorCode::InvalidInput,
            format!("cannot create the pools directory {}: {e}", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut written = Vec::new();
    for mp in MeetingPlatform::ALL {
        let path = dir.join(format!("{}.yaml", mp.as_str()));
        std::fs::write(&path, example(*mp)).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_strings_and_casts() {
        assert_eq!(
            placeholders("SELECT id::text FROM a WHERE s = :status AND n > :min AND x = ':nope' AND y = :status"),
            vec!["status".to_string(), "min".to_string()]
        );
    }

    #[test]
    fn pools_dir_prefers_the_variable_then_xdg_then_home() {
        use std::ffi::OsString;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            pools_dir(env(&[("BERTH_POOLS_DIR", "/srv/pools"), ("HOME", "/h")])),
            PathBuf::from("/srv/pools")
        );
        assert_eq!(
            pools_dir(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/berth/pools")
        );
        assert_eq!(
            pools_dir(env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
            PathBuf::from("/h/.config/berth/pools")
        );
    }

    #[test]
    fn quantities() {
        for ok in ["500m", "1", "2.5", "512Mi", "2Gi", "1G"] {
            assert!(valid_quantity(ok), "{ok}");
        }
        for bad in ["", "m", "1.2.3", "-1", "1 Gi", "1gb", "0"] {
            assert!(!valid_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn examples_are_valid_definitions() {
        for mp in MeetingPlatform::ALL {
            let def = parse(&example(*mp), None).expect("the example parses");
            assert_eq!(def.meeting_platform, *mp);
            assert_eq!(def.name, mp.as_str());
        }
    }

    #[test]
    fn locate_follows_the_path_through_blocks() {
        let text = "accounts:\n  query:\n    parameters:\n      - name: status\n  # max_failures: 1\n  pool_config:\n    max_failures: 0\nname: Bad\nqueue:\n  priority: 5\n";
        // The top-level `name`, not the parameter's.
        assert_eq!(locate(text, "name"), (Some(8), Some(1)));
        assert_eq!(locate(text, "queue.priority"), (Some(10), Some(3)));
        assert_eq!(
            locate(text, "accounts.pool_config.max_failures"),
            (Some(7), Some(5))
        );
        // Not there: the deepest key that is.
        assert_eq!(locate(text, "accounts.query.select"), (Some(2), Some(3)));
        assert_eq!(locate(text, "missing"), (None, None));
        // Not even the first key: the last one, anywhere.
        assert_eq!(
            locate("name: a\n  priority: 1\n", "queue.priority"),
            (Some(2), Some(3))
        );
    }

    #[test]
    fn excerpts_cut_quoted_values_and_long_messages() {
        let long = "k".repeat(5000);
        let shown = excerpt(
            &format!("unknown field `{long}`, expected one of a, b"),
            300,
        );
        assert_eq!(
            shown,
            format!(
                "unknown field `{}…`, expected one of a, b",
                "k".repeat(MAX_EXCERPT_CHARS)
            )
        );
        let shown = excerpt(&format!("{:?} is not valid", format!("a\"{long}")), 300);
        assert!(shown.starts_with("\"a\\\"kkk"), "{shown}");
        assert!(shown.ends_with("…\" is not valid"), "{shown}");
        assert_eq!(
            excerpt("bell\u{7} and \u{1b}[31m", 300),
            "bell\\u{7} and \\u{1b}[31m"
        );
        assert_eq!(excerpt(&"x ".repeat(400), 300).chars().count(), 301);
        assert_eq!(excerpt("short `quote` kept", 300), "short `quote` kept");
    }

    #[test]
    fn short_durations_use_their_largest_whole_unit() {
        let d = |ms: u64| short_duration(Duration::from_millis(ms));
        assert_eq!(d(0), "0s");
        assert_eq!(d(86_400_000), "24h");
        assert_eq!(d(90_000), "90s");
        assert_eq!(d(600_000), "10m");
        assert_eq!(d(1_500), "1500ms");
        assert_eq!(short_duration(Duration::from_micros(500)), "500us");
    }
}
