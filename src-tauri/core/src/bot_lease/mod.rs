//! How a running bot talks back to Berth: through its lease's token.
//!
//! Every workload Berth starts gets a token of its own ([`token`], in its
//! environment as `BERTH_BOT_TOKEN` beside `BERTH_BOT_ID`), bound to one
//! lease: its bot, its slot and the slot's epoch. With it the bot fetches
//! its configuration ([`config`]), reports its status ([`report`]) and
//! sends heartbeats ([`heartbeat`]); a bot that stops sending them is
//! recovered ([`stuck`]).
//!
//! Invariants:
//! - a token is valid only while its lease lasts: its slot still held
//!   (`deploying`/`busy`) by its bot at its epoch, and the bot not ended.
//!   A token of an ended lease is `lease_ended` (the workload should exit);
//!   anything else is `unauthorized`. [`verify`] is one indexed query;
//! - only a token's SHA-256 is stored; its plaintext goes to the workload
//!   and nowhere else (never a log, a description or a face's answer);
//! - the use cases here take a [`BotLease`], which only [`verify`] makes
//!   and which names its bot: a token for bot A cannot act on bot B,
//!   because no function here takes a bot id. A face that also has an id
//!   (a route `/v1/bots/{id}/…`) checks it with [`BotLease::check_bot`].

mod config;
pub mod stuck;
pub mod token;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

pub use config::{config, AccountConfig, BotConfig, MeetingConfig, SlotConfig};
pub use token::BotToken;

use crate::actor::Actor;
use crate::bot;
use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{BotStatus, SlotStatus};
use crate::router::Router;

/// A verified bot token: the lease it stands for. Made only by [`verify`]
/// (its fields are private), so holding one proves the token was valid
/// when it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotLease {
    bot_id: i64,
    slot_id: i64,
    epoch: i64,
    slot_name: String,
    pool: String,
}

impl BotLease {
    /// The bot the token belongs to.
    pub fn bot_id(&self) -> i64 {
        self.bot_id
    }

    /// The slot it runs in.
    pub fn slot_id(&self) -> i64 {
        self.slot_id
    }

    /// The lease epoch of that slot.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The slot's name.
    pub fn slot_name(&self) -> &str {
        &self.slot_name
    }

    /// The slot's pool.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// Who acts with this token (`bot:<id>`).
    pub fn actor(&self) -> Actor {
        Actor::bot(self.bot_id)
    }

    /// Refuses (`forbidden`) a request about any bot but the token's own:
    /// for a face whose route names a bot id.
    pub fn check_bot(&self, bot_id: i64) -> Result<()> {
        if bot_id == self.bot_id {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::Forbidden,
                format!(
                    "this bot token belongs to bot #{}; it cannot act on bot #{bot_id}",
                    self.bot_id
                ),
            ))
        }
    }
}

type TokenRow = (
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);

/// Verifies a presented bot token (the bearer token's text, without the
/// `Bearer ` scheme). `unauthorized`: malformed or unknown (or pruned long
/// after its lease ended); `lease_ended`: its bot ended, or its slot was
/// released, recovered, deleted or leased again. Reads only: one query by
/// the token's hash (a unique index), joined to its slot and bot by key.
pub async fn verify(db: &PgPool, presented: &str) -> Result<BotLease> {
    let unauthorized = || Error::new(ErrorCode::Unauthorized, "not a valid bot token");
    if !token::well_formed(presented) {
        return Err(unauthorized());
    }
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.bot_id, t.slot_id, t.epoch, s.slot_name, s.pool, s.status, s.epoch, s.assigned_bot_id,
                b.status
         FROM bot_tokens t
         JOIN bots b ON b.id = t.bot_id
         LEFT JOIN pool_slots s ON s.id = t.slot_id
         WHERE t.token_hash = $1",
    )
    .bind(&token::hash(presented)[..])
    .fetch_optional(db)
    .await?;
    let Some((bot_id, slot_id, epoch, slot_name, pool, slot_status, slot_epoch, holder, status)) =
        row
    else {
        return Err(unauthorized());
    };
    let ended = |why: String| {
        Error::new(
            ErrorCode::LeaseEnded,
            format!("the lease of bot #{bot_id} (slot #{slot_id}, epoch {epoch}) is over: {why}; the workload should exit"),
        )
    };
    let status: BotStatus = status.parse()?;
    if status.is_final() {
        return Err(ended(format!("the bot ended {status}")));
    }
    let held = [SlotStatus::Deploying.as_str(), SlotStatus::Busy.as_str()];
    match (slot_name, pool, slot_status, slot_epoch, holder) {
        (Some(slot_name), Some(pool), Some(s), Some(e), Some(h))
            if e == epoch && h == bot_id && held.contains(&s.as_str()) =>
        {
            Ok(BotLease {
                bot_id,
                slot_id,
                epoch,
                slot_name,
                pool,
            })
        }
        (None, ..) => Err(ended("its slot was deleted".into())),
        (_, _, _, Some(e), _) if e != epoch => {
            Err(ended(format!("its slot was leased again (epoch {e})")))
        }
        (_, _, s, ..) => Err(ended(format!(
            "its slot was released or recovered (now {})",
            s.unwrap_or_default()
        ))),
    }
}

/// The longest reason a bot may give with a status report.
pub const MAX_REASON_CHARS: usize = 2_000;

/// What a bot's status report changed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reported {
    /// The bot's status before the report.
    pub before: BotStatus,
    /// Its status now.
    pub status: BotStatus,
}

/// The lease's bot reports `status` (the rules of [`bot::may_report`], as
/// for every report): `CALL_ENDED` gives its platform capacity back (a
/// waiting request may be dispatched) while it keeps its slot; `DONE` and
/// `FATAL` end it (`reason` is a `FATAL` bot's error), release its slot
/// ([`Router::finish`]) and end its token. A report counts as a heartbeat.
/// Refused, writing nothing: a reason over [`MAX_REASON_CHARS`]
/// (`invalid_input`), a lease that ended meanwhile (`lease_ended`), a move
/// the bot may not make (`stale_transition`).
pub async fn report(
    router: &Router,
    lease: &BotLease,
    status: BotStatus,
    reason: Option<&str>,
) -> Result<Reported> {
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("a reason may have at most {MAX_REASON_CHARS} characters"),
        ));
    }
    let db = router.db();
    let bot_id = lease.bot_id;
    let before = current_status(db, lease).await?;
    if !bot::may_report(before, status) {
        return Err(Error::new(
            ErrorCode::StaleTransition,
            format!("bot #{bot_id} is {before}; it cannot report {status}"),
        ));
    }
    if status.is_final() {
        let error = (status == BotStatus::Fatal)
            .then(|| reason.unwrap_or("reported FATAL by the bot").to_string());
        router.finish(bot_id, status, error.as_deref()).await?;
    } else {
        if !move_status(db, lease, before, status, router.clock().now()).await? {
            return Err(Error::new(
                ErrorCode::StaleTransition,
                format!(
                    "bot #{bot_id} changed status while reporting {status}; read it and try again"
                ),
            ));
        }
        router.announce_moved(status);
    }
    tracing::info!(actor = %lease.actor(), %before, %status, "bot status reported");
    Ok(Reported { before, status })
}

/// The lease's bot's status, while the lease lasts (else `lease_ended`).
async fn current_status(db: &PgPool, lease: &BotLease) -> Result<BotStatus> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT b.status FROM bots b JOIN pool_slots s ON s.assigned_bot_id = b.id
         WHERE b.id = $1 AND s.id = $2 AND s.epoch = $3 AND s.status IN ('deploying', 'busy')",
    )
    .bind(lease.bot_id)
    .bind(lease.slot_id)
    .bind(lease.epoch)
    .fetch_optional(db)
    .await?;
    match status {
        Some(s) => s.parse(),
        None => Err(lease_over(lease)),
    }
}

fn lease_over(lease: &BotLease) -> Error {
    Error::new(
        ErrorCode::LeaseEnded,
        format!(
            "the lease of bot #{} (slot {}, epoch {}) is over; the workload should exit",
            lease.bot_id, lease.slot_name, lease.epoch
        ),
    )
}

/// `from` → `to` (not final) for the lease's bot while its lease lasts,
/// recording the report as a heartbeat; `false` if the bot was no longer
/// `from` or the lease ended.
async fn move_status(
    db: &PgPool,
    lease: &BotLease,
    from: BotStatus,
    to: BotStatus,
    at: DateTime<Utc>,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE bots b SET status = $5, updated_at = now(), last_heartbeat_at = $6
         FROM pool_slots s
         WHERE b.id = $1 AND b.status = $4
           AND s.id = $2 AND s.epoch = $3 AND s.assigned_bot_id = b.id AND s.status IN ('deploying', 'busy')",
    )
    .bind(lease.bot_id)
    .bind(lease.slot_id)
    .bind(lease.epoch)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(at)
    .execute(db)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Records a heartbeat of the lease's bot at the clock's now; returns the
/// bot's status (a bot told to leave sees `LEAVING`). `lease_ended` when
/// the lease is over. Publishes nothing: a heartbeat changes no view.
pub async fn heartbeat(db: &PgPool, clock: &dyn Clock, lease: &BotLease) -> Result<BotStatus> {
    let status: Option<String> = sqlx::query_scalar(
        "UPDATE bots b SET last_heartbeat_at = $4
         FROM pool_slots s
         WHERE b.id = $1 AND b.status NOT IN ('DONE', 'FATAL')
           AND s.id = $2 AND s.epoch = $3 AND s.assigned_bot_id = b.id AND s.status IN ('deploying', 'busy')
         RETURNING b.status",
    )
    .bind(lease.bot_id)
    .bind(lease.slot_id)
    .bind(lease.epoch)
    .bind(clock.now())
    .fetch_optional(db)
    .await?;
    match status {
        Some(s) => s.parse(),
        None => Err(lease_over(lease)),
    }
}

/// When the lease's bot last sent a sign of life (heartbeat or report);
/// `None` before its first.
pub async fn last_heartbeat(db: &PgPool, lease: &BotLease) -> Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT last_heartbeat_at FROM bots WHERE id = $1")
            .bind(lease.bot_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}
