//! A bot's life as the faces drive it: deploy one, deploy a batch, report
//! its status, cancel it. Every face (desktop, CLI, the coming HTTP
//! service) calls these with the [`Actor`] it acts for, and formats what
//! they return; the routing itself is the [`Router`]'s.
//!
//! Change topics are published by the router's steps (`bots`, `queue`,
//! `slots`, `pools` as each changes), so a caller publishes nothing.
//! The bots table keeps no requester column: the actor is logged with
//! every use case, and a cancel records it in the bot's error.

use serde::Serialize;

use crate::actor::Actor;
use crate::audit;
use crate::bot::{self, BotView};
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::{self, IdempotencyKey};
use crate::meeting::BotStatus;
use crate::pool;
use crate::router::{DeployOutcome, NewBot, Router};
use crate::slot;
use crate::tier;

pub use crate::schedule::reschedule;

impl DeployOutcome {
    /// The bot the request created, whatever became of it.
    pub fn bot_id(&self) -> i64 {
        match self {
            DeployOutcome::Deployed { bot_id, .. }
            | DeployOutcome::Queued { bot_id, .. }
            | DeployOutcome::Scheduled { bot_id, .. }
            | DeployOutcome::Skipped { bot_id } => *bot_id,
        }
    }

    /// Running (or starting) on a platform.
    pub fn is_deployed(&self) -> bool {
        matches!(self, DeployOutcome::Deployed { .. })
    }

    /// Waiting on a full platform or in the global queue.
    pub fn is_queued(&self) -> bool {
        matches!(self, DeployOutcome::Queued { .. })
    }

    /// Scheduled for a later start.
    pub fn is_scheduled(&self) -> bool {
        matches!(self, DeployOutcome::Scheduled { .. })
    }
}

/// What became of one deploy, with the bot's status right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Deployed, queued or skipped.
    pub outcome: DeployOutcome,
    /// The bot's status as read after routing (another instance may
    /// already have moved it on).
    pub status: BotStatus,
}

/// Creates a bot and routes it (see [`Router::create_bot`]): deployed,
/// waiting on a full platform, or in the global queue. Bad input is
/// refused before anything is written, as is a tier above what `actor`'s
/// API token may ask for (`tier_not_allowed`); a request through a token
/// that names no tier takes the token's default ([`crate::tier`]).
pub async fn deploy(router: &Router, actor: &Actor, req: &NewBot) -> Result<Deployment> {
    let token = tier::token_tiers(router.db(), actor).await?;
    let outcome = router.create_bot_within(req, &token).await?;
    tracing::info!(actor = %actor, bot = outcome.bot_id(), "bot requested");
    let status = bot::get(router.db(), outcome.bot_id()).await?.status;
    Ok(Deployment { outcome, status })
}

/// What became of a request made under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// This request created the bot.
    New(Deployment),
    /// An earlier request with the same key (and the same content) created
    /// this bot; nothing was written now.
    Replayed {
        /// The bot the key names.
        bot_id: i64,
    },
}

impl Created {
    /// The bot, new or earlier.
    pub fn bot_id(&self) -> i64 {
        match self {
            Created::New(d) => d.outcome.bot_id(),
            Created::Replayed { bot_id } => *bot_id,
        }
    }
}

/// [`deploy`] under an idempotency key: the first request with `key`
/// creates and routes a bot; a retry with the same key and the same
/// request gets that bot back and creates nothing, even when both race
/// (see [`crate::idempotency`]). The same key with a different request is
/// `idempotency_key_reused`, with nothing written.
pub async fn deploy_once(
    router: &Router,
    actor: &Actor,
    req: &NewBot,
    key: &IdempotencyKey,
) -> Result<Created> {
    let fingerprint = idempotency::fingerprint(req);
    if let Some(bot_id) =
        idempotency::find(router.db(), key, &fingerprint, router.clock().now()).await?
    {
        return Ok(Created::Replayed { bot_id });
    }
    let token = tier::token_tiers(router.db(), actor).await?;
    match router
        .create_bot_once(req, key, &fingerprint, &token)
        .await?
    {
        Some(outcome) => {
            tracing::info!(actor = %actor, bot = outcome.bot_id(), "bot requested");
            let status = bot::get(router.db(), outcome.bot_id()).await?.status;
            Ok(Created::New(Deployment { outcome, status }))
        }
        // A concurrent request took the key first; its bot is committed.
        None => {
            match idempotency::find(router.db(), key, &fingerprint, router.clock().now()).await? {
                Some(bot_id) => Ok(Created::Replayed { bot_id }),
                None => Err(Error::new(
                    ErrorCode::Internal,
                    "an idempotency key was taken but names no bot",
                )),
            }
        }
    }
}

/// Deploys an existing bot by id: one that has not ended is already the
/// router's (deployed, deploying, or queued with its one queue entry), so
/// this adds nothing — a queued bot keeps its place, never a second entry
/// — and the caller reads where it stands. A bot that ended is
/// `stale_transition` (create a new bot); an unknown bot `not_found`.
pub async fn deploy_existing(router: &Router, actor: &Actor, bot_id: i64) -> Result<BotStatus> {
    let status = bot::get(router.db(), bot_id).await?.status;
    if status.is_final() {
        return Err(Error::new(
            ErrorCode::StaleTransition,
            format!("bot #{bot_id} already ended ({status}); create a new bot"),
        ));
    }
    tracing::info!(actor = %actor, bot = bot_id, %status, "bot deploy requested again");
    Ok(status)
}

/// The most bots one batch may ask for.
pub const MAX_BATCH: u32 = 100;

/// A batch of bots for one pool and one meeting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "DeployRequest", rename_all = "camelCase")]
pub struct BatchRequest {
    /// The pool (its meeting platform is the bots').
    pub pool: String,
    /// The meeting every bot joins.
    pub meeting_url: String,
    /// How many bots (1 to [`MAX_BATCH`]).
    pub count: u32,
    /// Priority tier (exclusive with `priority`); `None`: the default
    /// ([`NewBot::tier`]).
    #[serde(default)]
    pub tier: Option<String>,
    /// Priority (lower first); `None`: the pool's default.
    pub priority: Option<i32>,
    /// Queue timeout; `None`: the pool's default.
    pub queue_timeout_ms: Option<i32>,
    /// When every bot must be in the meeting (scheduled, see
    /// [`crate::schedule`]); `None`: at once.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub join_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the batch's bots get when their window is fully booked
    /// (`None`: refuse).
    pub if_full: Option<crate::schedule::IfFull>,
    /// Spaces the bots' starts by this many ms (bot `i` not before
    /// `i × stagger` after the first's start); `None` or 0: all at once.
    /// At most [`crate::schedule::stagger::MAX_STAGGER_MS`].
    pub stagger_ms: Option<u32>,
}

/// What became of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DeployBatch))]
#[serde(rename = "DeployBatch", rename_all = "camelCase")]
pub struct Batch {
    /// The bots created, in order.
    #[cfg_attr(feature = "specta", specta(type = Vec<specta_typescript::Number>))]
    pub bot_ids: Vec<i64>,
    /// Deployed at once.
    pub deployed: u32,
    /// Waiting in a queue.
    pub queued: u32,
    /// Scheduled for a later start (a join time, or a stagger).
    pub scheduled: u32,
}

impl Batch {
    /// Counts one more request's outcome.
    pub fn add(&mut self, outcome: &DeployOutcome) {
        self.bot_ids.push(outcome.bot_id());
        if outcome.is_deployed() {
            self.deployed += 1;
        } else if outcome.is_queued() {
            self.queued += 1;
        } else if outcome.is_scheduled() {
            self.scheduled += 1;
        }
    }
}

impl<'a> FromIterator<&'a DeployOutcome> for Batch {
    fn from_iter<I: IntoIterator<Item = &'a DeployOutcome>>(outcomes: I) -> Self {
        let mut batch = Batch::default();
        for o in outcomes {
            batch.add(o);
        }
        batch
    }
}

/// Creates `req.count` bots for `req.pool`'s meeting platform in that pool
/// and routes each in turn (deployed, or queued, or scheduled). Refused
/// before anything is written when the count or the stagger is out of
/// range, any bot's join time would be (the last one's is a stagger later
/// each), or the pool does not exist (`invalid_input`, `not_found`). A
/// scheduled batch (`join_at`) is admitted all or nothing, booked in one
/// transaction (`Router::admit_scheduled_batch`): a window its own bots
/// fill is `window_full` with nothing written. An unscheduled batch routes
/// each bot in turn, checked like any request.
pub async fn deploy_batch(router: &Router, actor: &Actor, req: &BatchRequest) -> Result<Batch> {
    if !(1..=MAX_BATCH).contains(&req.count) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("count must be from 1 to {MAX_BATCH}, got {}", req.count),
        ));
    }
    let stagger = crate::schedule::stagger::check(req.stagger_ms)?;
    let pool = pool::get(router.db(), &req.pool).await?;
    let new = NewBot::new(pool.meeting_platform, req.meeting_url.clone())
        .tier(req.tier.clone())
        .priority(req.priority)
        .queue_timeout_ms(req.queue_timeout_ms)
        .pool(pool.name.clone())
        .join_at(req.join_at)
        .if_full(req.if_full);
    let mut batch = Batch {
        bot_ids: Vec::with_capacity(req.count as usize),
        ..Batch::default()
    };
    let token = tier::token_tiers(router.db(), actor).await?;
    let now = router.clock().now();
    if let Some(first) = req.join_at {
        // Every bot's join time is checked before the first is written:
        // the last one's is the latest (a stagger later each).
        let last = first + stagger * (req.count as i32 - 1);
        crate::schedule::booking::check_join_at(first, now)?;
        crate::schedule::booking::check_join_at(last, now)?;
    }
    let bots: Vec<NewBot> = (0..req.count)
        .map(|i| {
            let mut bot = new.clone();
            if i > 0 && !stagger.is_zero() {
                // The starter spaces them, nobody waits here: bot i is
                // started i staggers after the first (scheduled: it joins
                // i staggers after the join time, each started its lead
                // before).
                let offset = stagger * i as i32;
                match bot.join_at {
                    Some(join_at) => bot.join_at = Some(join_at + offset),
                    None => bot.not_before = Some(now + offset),
                }
            }
            bot
        })
        .collect();
    if req.join_at.is_some() {
        // Booked together: a window the batch's own bots fill refuses the
        // whole batch, with nothing written.
        for outcome in router.admit_scheduled_batch(&bots, &token).await? {
            batch.add(&outcome);
        }
    } else {
        for bot in &bots {
            batch.add(&router.create_bot_within(bot, &token).await?);
        }
    }
    tracing::info!(actor = %actor, pool = %pool.name, count = req.count, "bot batch requested");
    Ok(batch)
}

/// The slot a bot held when it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    /// The slot's name.
    pub slot_name: String,
    /// Its status now (`idle`, or `error` when its workload did not stop);
    /// `None` when the slot is gone (its pool shrank or was retired).
    pub now: Option<String>,
}

/// What a status report changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The bot's status before the report.
    pub before: BotStatus,
    /// The bot as it is after it.
    pub bot: BotView,
    /// The slot it held, when the report ended it.
    pub released: Option<Released>,
}

/// A bot reports its status (see [`Router::report`]): `DONE`/`FATAL` end it
/// (`reason` is a `FATAL` bot's error), its queue entry goes and its slot
/// is released. A move the bot may not make is `stale_transition`; an
/// unknown bot `not_found`.
pub async fn report(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    status: BotStatus,
    reason: Option<&str>,
) -> Result<Report> {
    let db = router.db();
    let before = bot::get(db, bot_id).await?.status;
    let held = slot::of_bot(db, bot_id).await?;
    router.report(bot_id, status, reason).await?;
    tracing::info!(actor = %actor, bot = bot_id, %status, "bot status reported");
    reported(router, bot_id, before, held).await
}

/// The report of a bot's change: it as it is now, and the slot `held`
/// before, when it ended.
async fn reported(
    router: &Router,
    bot_id: i64,
    before: BotStatus,
    held: Option<slot::SlotView>,
) -> Result<Report> {
    let db = router.db();
    let bot = bot::get(db, bot_id).await?;
    let released = match held {
        Some(s) if bot.status.is_final() => Some(Released {
            now: slot::get(db, s.id).await.ok().map(|v| v.status.to_string()),
            slot_name: s.slot_name,
        }),
        _ => None,
    };
    Ok(Report {
        before,
        bot,
        released,
    })
}

/// Cancels a bot that has not ended: it ends `FATAL` with the error
/// `cancelled by <actor>` (then `: <reason>` when given), so a held account
/// counts a failure as for any `FATAL`; its queue entry goes and the
/// `bot.cancel` audit row is written in that same transaction; then its
/// workload is stopped and its slot released. Cancelling a bot that
/// already ended is `stale_transition`, an unknown bot `not_found`, a bad
/// reason `invalid_input` — each with nothing written. Publishes `bots`,
/// `queue`, `slots` and `audit`.
pub async fn cancel(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    reason: Option<&str>,
) -> Result<Report> {
    let reason = audit::reason(reason)?;
    let db = router.db();
    let before = bot::get(db, bot_id).await?.status;
    if before.is_final() {
        return Err(Error::new(
            ErrorCode::StaleTransition,
            format!("bot #{bot_id} already ended ({before})"),
        ));
    }
    let held = slot::of_bot(db, bot_id).await?;
    let error = bot::action::ended_by("cancelled", actor, reason.as_deref());
    let record = audit::Record::new(
        actor,
        "bot.cancel",
        audit::TargetKind::Bot,
        bot_id.to_string(),
        reason,
    )
    .detail(serde_json::json!({ "from": before, "slot": held.as_ref().map(|s| &s.slot_name) }));
    bot::action::end(router, bot_id, &error, &record).await?;
    tracing::info!(actor = %actor, bot = bot_id, "bot cancelled");
    reported(router, bot_id, before, held).await
}
