//! A definition's account source: an SQL query (text or builder form) or
//! a directory of account files, with its leasing policy.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{five_minutes, three, Interval};

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
pub(super) const MISPLACED_KEYS: [(&str, &[&str]); 2] = [
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
