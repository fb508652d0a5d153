//! A bot's timeline: everything the Bots view shows when a bot is opened —
//! its states with their times, its decision trace, the slot and account
//! it holds (or held), the operators' actions on it, and its redeploys.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::browse::{self, BotRow};
use super::TraceEntry;
use crate::audit::{self, AuditEntry, AuditFilter, TargetKind};
use crate::error::Result;
use crate::meeting::{BotStatus, PlatformKind, SlotStatus};

/// One state a bot entered (recorded by the database on every status
/// change). Times serialize as [`crate::timestamp::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotEvent {
    /// When (the database's clock).
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub at: DateTime<Utc>,
    /// The state entered.
    pub status: BotStatus,
    /// `FATAL`: the error; `DEPLOYING`: the deployment platform.
    pub detail: Option<String>,
}

/// The slot a bot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotSlot {
    /// Slot name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// Its deployment platform.
    pub platform: PlatformKind,
    /// Its status.
    pub status: SlotStatus,
}

/// The account a bot leased (its latest lease): named by its key only —
/// an account's data may hold credentials and never leaves the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotAccount {
    /// The account's key in its pool (the source's `id` column).
    pub id: String,
    /// What to call it (its key).
    pub label: String,
    /// The pool whose accounts it is one of.
    pub pool: String,
    /// When it was leased to the bot.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub leased_at: Option<DateTime<Utc>>,
    /// The bot holds it still (its lease has not ended).
    pub held: bool,
}

/// A bot opened in the Bots view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BotTimeline {
    /// The bot as its list row shows it.
    pub bot: BotRow,
    /// The states it entered, oldest first (its creation is the first
    /// `QUEUED`). Bots created before the events were recorded have none.
    pub events: Vec<BotEvent>,
    /// Its decision trace (every bot has one).
    pub trace: Vec<TraceEntry>,
    /// The slot it holds now.
    pub slot: Option<BotSlot>,
    /// The account it leased, if its pool leases accounts.
    pub account: Option<BotAccount>,
    /// The operators' actions on it, newest first (at most
    /// [`audit::MAX_LIST`]).
    pub actions: Vec<AuditEntry>,
    /// The failed bot this one deploys again.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub redeploy_of: Option<i64>,
    /// The bots that deploy this one again, oldest first.
    #[cfg_attr(feature = "specta", specta(type = Vec<specta_typescript::Number>))]
    pub redeployed_as: Vec<i64>,
}

async fn events(db: &PgPool, id: i64) -> Result<Vec<BotEvent>> {
    let raw: Vec<(DateTime<Utc>, String, Option<String>)> = sqlx::query_as(
        "SELECT at, status, detail FROM bot_events WHERE bot_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    raw.into_iter()
        .map(|(at, status, detail)| {
            Ok(BotEvent {
                at,
                status: status.parse()?,
                detail,
            })
        })
        .collect()
}

async fn slot(db: &PgPool, id: i64) -> Result<Option<BotSlot>> {
    let raw: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT slot_name, pool, deployment_platform, status FROM pool_slots WHERE assigned_bot_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    raw.map(|(name, pool, platform, status)| {
        Ok(BotSlot {
            name,
            pool,
            platform: platform.parse()?,
            status: status.parse()?,
        })
    })
    .transpose()
}

/// The latest recorded lease; for a lease older than the record, the
/// account the bot holds now.
async fn account(db: &PgPool, id: i64) -> Result<Option<BotAccount>> {
    let raw: Option<(String, String, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "WITH latest AS (
            SELECT pool, account_key, leased_at FROM bot_account_leases
            WHERE bot_id = $1 ORDER BY id DESC LIMIT 1
         ), held AS (
            SELECT pool, account_key, leased_at FROM pool_accounts WHERE bot_id = $1
         )
         SELECT l.pool, l.account_key, l.leased_at,
                EXISTS (SELECT 1 FROM held h WHERE h.pool = l.pool AND h.account_key = l.account_key)
         FROM latest l
         UNION ALL
         SELECT pool, account_key, leased_at, true FROM held WHERE NOT EXISTS (SELECT 1 FROM latest)",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(raw.map(|(pool, key, leased_at, held)| BotAccount {
        id: key.clone(),
        label: key,
        pool,
        leased_at,
        held,
    }))
}

/// Bot `id`'s timeline as of `now` (the wait of a queued bot);
/// `not_found` when there is no such bot. Read-only.
pub async fn timeline(db: &PgPool, id: i64, now: DateTime<Utc>) -> Result<BotTimeline> {
    let bot = browse::row(db, id, now).await?;
    let view = super::get(db, id).await?;
    let actions = audit::list(
        db,
        &AuditFilter {
            target_kind: Some(TargetKind::Bot),
            target: Some(id.to_string()),
            ..AuditFilter::default()
        },
    )
    .await?;
    let redeployed_as: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM bots WHERE redeploy_of = $1 ORDER BY id")
            .bind(id)
            .fetch_all(db)
            .await?;
    Ok(BotTimeline {
        bot,
        events: events(db, id).await?,
        trace: view.decision_trace,
        slot: slot(db, id).await?,
        account: account(db, id).await?,
        actions,
        redeploy_of: view.redeploy_of,
        redeployed_as,
    })
}
