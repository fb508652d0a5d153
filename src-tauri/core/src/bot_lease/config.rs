//! What a bot reads at start: its meeting, account and slot.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::BotLease;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::MeetingPlatform;

/// The meeting a bot joins.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeetingConfig {
    /// Meeting platform.
    pub platform: MeetingPlatform,
    /// Meeting URL.
    pub url: String,
}

/// The account leased to a bot (its pool has an account source).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountConfig {
    /// The account's key in its pool.
    pub key: String,
    /// The account's row from the source. May hold credentials: a face
    /// gives it to the bot only, and never logs it.
    pub data: serde_json::Value,
}

/// The slot and lease a bot runs under.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotConfig {
    /// Slot name.
    pub name: String,
    /// Pool.
    pub pool: String,
    /// Lease epoch.
    pub epoch: i64,
}

/// A bot's configuration at start-up (what reference 001's bots fetched
/// from the server): its id, its meeting, its account if one is leased,
/// and its slot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotConfig {
    /// Bot id.
    pub bot_id: i64,
    /// The meeting to join.
    pub meeting: MeetingConfig,
    /// The leased account, when the pool has an account source.
    pub account: Option<AccountConfig>,
    /// The slot and lease.
    pub slot: SlotConfig,
}

/// The configuration of the lease's bot. Reads only.
pub async fn config(db: &PgPool, lease: &BotLease) -> Result<BotConfig> {
    let row: Option<(String, String, Option<String>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT b.meeting_platform, b.meeting_url, a.account_key, a.data
             FROM bots b LEFT JOIN pool_accounts a ON a.bot_id = b.id
             WHERE b.id = $1",
    )
    .bind(lease.bot_id)
    .fetch_optional(db)
    .await?;
    let (platform, url, key, data) =
        row.ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{}", lease.bot_id)))?;
    Ok(BotConfig {
        bot_id: lease.bot_id,
        meeting: MeetingConfig {
            platform: platform.parse()?,
            url,
        },
        account: key.map(|key| AccountConfig {
            key,
            data: data.unwrap_or(serde_json::Value::Null),
        }),
        slot: SlotConfig {
            name: lease.slot_name.clone(),
            pool: lease.pool.clone(),
            epoch: lease.epoch,
        },
    })
}
