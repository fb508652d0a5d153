//! Typed errors with machine-readable codes.
//!
//! Every error that crosses a boundary (CLI, desktop bridge) carries an
//! [`ErrorCode`] the caller can switch on and a human message; callers never
//! parse message text.

use serde::{Deserialize, Serialize};

/// A machine-readable error code. Stable: the UI and scripts switch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A configuration value (environment variable or setting) is invalid.
    ConfigInvalid,
    /// A required configuration value is missing.
    ConfigMissing,
    /// The database could not be reached or answered with an error.
    DatabaseUnavailable,
    /// The embedded database could not be started or stopped.
    EmbeddedDatabase,
    /// A migration failed.
    MigrationFailed,
    /// The database's schema is not this build's (no schema yet, migrations
    /// pending, or newer than this build): run `berth migrate`.
    SchemaOutdated,
    /// No such bot, slot, pool or platform.
    NotFound,
    /// The request itself is invalid (bad argument).
    InvalidInput,
    /// A transition named an epoch or state that is no longer current.
    StaleTransition,
    /// An operation would break an invariant (double assignment, ...).
    Conflict,
    /// Every slot of the pool is taken and the pool is at its max size.
    PoolExhausted,
    /// A platform call failed.
    PlatformFailed,
    /// The platform is not available in this mode (e.g. `local` outside development).
    PlatformRefused,
    /// A queued request passed its deadline.
    QueueTimeout,
    /// A pool definition is invalid (the message locates the problem).
    DefinitionInvalid,
    /// An account query was refused (by the filter or the database) or cancelled.
    QueryRefused,
    /// No valid credential: a missing, malformed or unknown token.
    Unauthorized,
    /// A valid credential that does not reach what it asked for (an API
    /// token's scope, a bot token used for another bot).
    Forbidden,
    /// A bot token whose lease is over (the bot ended, its slot was
    /// released, recovered or leased again): the workload should exit.
    LeaseEnded,
    /// The request's body is over the size limit.
    PayloadTooLarge,
    /// The request could not be read: its body is not JSON, or not valid JSON.
    MalformedRequest,
    /// The request's body is not of a type the route accepts (JSON).
    UnsupportedMediaType,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// An idempotency key was reused with a different request.
    IdempotencyKeyReused,
    /// The slot holds a bot (deploying or busy): the action needs `force`,
    /// which ends that bot `FATAL`.
    SlotBusy,
    /// The action does not apply to the target's current state (a slot
    /// already draining, a bot no longer queued, a platform not drained).
    NotApplicable,
    /// A scheduled request's window is fully booked against the limits of
    /// the platforms its pool may use (the message names the window).
    WindowFull,
    /// Something that should not happen; a bug.
    Internal,
}

impl ErrorCode {
    /// The code as the string the UI and `--json` output use.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ConfigInvalid => "config_invalid",
            ErrorCode::ConfigMissing => "config_missing",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::EmbeddedDatabase => "embedded_database",
            ErrorCode::MigrationFailed => "migration_failed",
            ErrorCode::SchemaOutdated => "schema_outdated",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::StaleTransition => "stale_transition",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PoolExhausted => "pool_exhausted",
            ErrorCode::PlatformFailed => "platform_failed",
            ErrorCode::PlatformRefused => "platform_refused",
            ErrorCode::QueueTimeout => "queue_timeout",
            ErrorCode::DefinitionInvalid => "definition_invalid",
            ErrorCode::QueryRefused => "query_refused",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::LeaseEnded => "lease_ended",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::SlotBusy => "slot_busy",
            ErrorCode::NotApplicable => "not_applicable",
            ErrorCode::WindowFull => "window_full",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A code equals its text form (`ErrorCode::NotFound == "not_found"`).
impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a face reports it: its machine-readable `code` (a
/// string-literal union in TypeScript) and its human `message`. Callers
/// switch on `code`, never on `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
}

impl std::fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        ErrorReport {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// Berth's error type: a code and a human message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration error; `variable` names the environment variable or setting.
    #[error("{variable}: {message}")]
    Config {
        code: ErrorCode,
        variable: String,
        message: String,
    },
    /// A database error, kept with its source.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration error.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Any other error with its code.
    #[error("{message}")]
    Coded { code: ErrorCode, message: String },
}

impl Error {
    /// Build an error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Coded {
            code,
            message: message.into(),
        }
    }

    /// A configuration error naming the variable at fault.
    pub fn config(
        code: ErrorCode,
        variable: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            code,
            variable: variable.into(),
            message: message.into(),
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config { code, .. } | Error::Coded { code, .. } => *code,
            Error::Database(e) => match e {
                sqlx::Error::RowNotFound => ErrorCode::NotFound,
                sqlx::Error::Database(db) if db.is_unique_violation() => ErrorCode::Conflict,
                sqlx::Error::Database(db) if db.is_check_violation() => ErrorCode::Conflict,
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => ErrorCode::Conflict,
                sqlx::Error::Database(_) => ErrorCode::Internal,
                _ => ErrorCode::DatabaseUnavailable,
            },
            Error::Migration(_) => ErrorCode::MigrationFailed,
        }
    }
}

/// Result alias for Berth's core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::ErrorCode::{self, *};

    /// The wire form (serde, what the bridge and `--json` send) is the text form.
    #[test]
    fn serialized_code_is_its_text_form() {
        let all: [ErrorCode; 27] = [
            ConfigInvalid,
            ConfigMissing,
            DatabaseUnavailable,
            EmbeddedDatabase,
            MigrationFailed,
            SchemaOutdated,
            NotFound,
            InvalidInput,
            StaleTransition,
            Conflict,
            PoolExhausted,
            PlatformFailed,
            PlatformRefused,
            QueueTimeout,
            DefinitionInvalid,
            QueryRefused,
            Unauthorized,
            Forbidden,
            LeaseEnded,
            PayloadTooLarge,
            MalformedRequest,
            UnsupportedMediaType,
            MethodNotAllowed,
            IdempotencyKeyReused,
            SlotBusy,
            NotApplicable,
            Internal,
        ];
        for code in all {
            let json = serde_json::to_value(code).expect("serializes");
            assert_eq!(json, serde_json::json!(code.as_str()));
            assert_eq!(
                serde_json::from_value::<ErrorCode>(json).expect("parses"),
                code
            );
            assert_eq!(code, code.as_str());
        }
    }
}
