//! The audit log: every operator action (on a slot, a bot, a platform),
//! who took it, when, on what and why.
//!
//! Invariants: a row is written by [`record`] inside the transaction of
//! the change it records, so it commits with the change or not at all (a
//! refused action writes none); its time is the database's `now()`; its
//! actor is [`Actor::record`]. Each action publishes [`Topic::Audit`] with
//! its own topics after its commit.
//!
//! [`Topic::Audit`]: crate::feed::Topic::Audit

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::actor::Actor;
use crate::error::{Error, ErrorCode, Result};

/// The longest reason an action may carry, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// The most rows one [`list`] returns (and its default).
pub const MAX_LIST: u32 = 1000;

/// What an action acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    /// A slot, by name.
    Slot,
    /// A bot, by id.
    Bot,
    /// A deployment platform, by name.
    Platform,
    /// The settings.
    Settings,
}

impl TargetKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Slot => "slot",
            TargetKind::Bot => "bot",
            TargetKind::Platform => "platform",
            TargetKind::Settings => "settings",
        }
    }
}

impl std::str::FromStr for TargetKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "slot" => Ok(TargetKind::Slot),
            "bot" => Ok(TargetKind::Bot),
            "platform" => Ok(TargetKind::Platform),
            "settings" => Ok(TargetKind::Settings),
            other => Err(Error::new(
                ErrorCode::InvalidInput,
                format!("unknown target kind {other:?} (slot, bot, platform or settings)"),
            )),
        }
    }
}

impl TryFrom<String> for TargetKind {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// An operator's reason, checked: trimmed, blank is none, at most
/// [`MAX_REASON_CHARS`] characters without control characters
/// (`invalid_input` otherwise, before anything is written).
pub fn reason(text: Option<&str>) -> Result<Option<String>> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let chars = t.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("a reason is at most {MAX_REASON_CHARS} characters (got {chars})"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            "a reason may not contain control characters",
        ));
    }
    Ok(Some(t.to_string()))
}

/// One action to record: the caller builds it before its transaction and
/// hands it to [`record`] inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Who.
    pub actor: String,
    /// `<kind>.<verb>` (`slot.drain`).
    pub action: &'static str,
    /// On what kind of thing.
    pub target_kind: TargetKind,
    /// Which one (a slot name, a bot id, a platform name).
    pub target: String,
    /// Why, as the operator said (checked by [`reason`]).
    pub reason: Option<String>,
    /// What it found and did.
    pub detail: serde_json::Value,
}

impl Record {
    /// An action by `actor` on `target`, with no detail yet.
    pub fn new(
        actor: &Actor,
        action: &'static str,
        target_kind: TargetKind,
        target: impl Into<String>,
        reason: Option<String>,
    ) -> Record {
        Record {
            actor: actor.record(),
            action,
            target_kind,
            target: target.into(),
            reason,
            detail: serde_json::json!({}),
        }
    }

    /// The same record with `detail`.
    pub fn detail(mut self, detail: serde_json::Value) -> Record {
        self.detail = detail;
        self
    }
}

/// Writes `r` in the caller's transaction; returns its id.
pub async fn record(conn: &mut PgConnection, r: &Record) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO audit_log (actor, action, target_kind, target, reason, detail)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&r.actor)
    .bind(r.action)
    .bind(r.target_kind.as_str())
    .bind(&r.target)
    .bind(&r.reason)
    .bind(&r.detail)
    .fetch_one(conn)
    .await?)
}

/// One recorded action. Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Row id (newer rows have larger ids).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: i64,
    /// When (the database's clock).
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: DateTime<Utc>,
    /// Who (`desktop:alice`, `cli:bob`, `api:billing`).
    pub actor: String,
    /// `<kind>.<verb>`.
    pub action: String,
    /// On what kind of thing.
    #[sqlx(try_from = "String")]
    pub target_kind: TargetKind,
    /// Which one.
    pub target: String,
    /// Why, if said.
    pub reason: Option<String>,
    /// What it found and did.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub detail: serde_json::Value,
}

/// Filter of [`list`]; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", default)]
pub struct AuditFilter {
    /// Only actions on this kind of thing.
    pub target_kind: Option<TargetKind>,
    /// Only actions on this target (a slot name, a bot id, a platform).
    pub target: Option<String>,
    /// Only actions by this actor (`desktop:alice`).
    pub actor: Option<String>,
    /// Only actions at or after this time.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub since: Option<DateTime<Utc>>,
    /// At most this many (default and ceiling [`MAX_LIST`]).
    pub limit: Option<u32>,
}

/// Recorded actions matching `filter`, newest first. A limit of 0 or over
/// [`MAX_LIST`] is `invalid_input`.
pub async fn list(db: &PgPool, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let limit = filter.limit.unwrap_or(MAX_LIST);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("limit must be from 1 to {MAX_LIST}, got {limit}"),
        ));
    }
    Ok(sqlx::query_as(
        "SELECT id, at, actor, action, target_kind, target, reason, detail FROM audit_log
         WHERE ($1::text IS NULL OR target_kind = $1)
           AND ($2::text IS NULL OR target = $2)
           AND ($3::text IS NULL OR actor = $3)
           AND ($4::timestamptz IS NULL OR at >= $4)
         ORDER BY id DESC LIMIT $5",
    )
    .bind(filter.target_kind.map(TargetKind::as_str))
    .bind(&filter.target)
    .bind(&filter.actor)
    .bind(filter.since)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?)
}
