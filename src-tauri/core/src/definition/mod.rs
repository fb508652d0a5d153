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
//! [`catalog`] holds the use cases every face offers over a pools directory
//! (list, read, validate, test, save and rename, apply, refresh, delete),
//! each taking the [`crate::actor::Actor`] who asked and announcing its own
//! change; [`save`], [`repair`] and [`read_raw`] are its file-only steps.
//!
//! Files are read only from inside the pools directory ([`read_file`],
//! through [`crate::confined`]): a symbolic link leading out of it is
//! refused, a file is at most [`MAX_FILE_BYTES`], and a problem quotes at
//! most a short excerpt of what it found, so a file that is not a definition
//! is never echoed back.

mod account_source;
pub mod catalog;
mod check;
mod check_source;
mod directory;
mod example;
mod files;
mod model;
mod parse;
mod reach;
mod store;
#[cfg(test)]
mod tests;
pub mod view;
mod watch;

pub use account_source::{
    AccountPoolConfig, AccountSource, Comparator, Direction, Filter, Parameter, ParameterType,
    QueryBuilder, Sort, SqlQuery, MAX_BUILDER_LIMIT,
};
pub use check::check;
pub use check_source::placeholders;
pub use directory::{discover, file_name, find, pools_dir, read_file, scan};
pub use example::{example, seed};
pub use files::{file_of, plain_file, read_raw, repair, save, Saved};
pub use model::{
    content_hash, schema, Discovery, Found, Interval, PoolDefinition, Problem, QueueDefaults,
    Recovery, Resources, Scaling, MAX_FILE_BYTES, MAX_JOB_DURATION, MAX_POOL_SIZE,
    MAX_QUEUE_TIMEOUT, MAX_SCALE_DOWN_AFTER, MIN_SCALE_DOWN_AFTER,
};
pub use parse::parse;
pub use reach::{reachability, Reach};
pub use store::{
    applied, apply, impact, resources_of, retire, Applied, ApplyOutcome, Impact, Retired, State,
};
pub use watch::{watch, Watching, WATCH_COALESCE};
