//! Entering the router: a request is checked, written with its queue entry
//! in one transaction, and walked (`create_bot`).

use chrono::Duration;

use super::{
    DeployOutcome, Launch, NewBot, Pass, Router, Waiting, MAX_DISPLAY_NAME_CHARS,
    MAX_METADATA_BYTES,
};
use crate::audit;
use crate::bot;
use crate::config::MAX_REQUEST_QUEUE_TIMEOUT_MS;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::idempotency::{self, IdempotencyKey};
use crate::meeting::PlatformKind;
use crate::pool::{self, Pool};
use crate::queue::{self, Stage};
use crate::settings::{self};
use crate::tier::{self, TokenTiers};

impl Router {
    /// Creates a bot and routes it: deployed, waiting on a full platform,
    /// or in the global queue. Bad input is refused before anything is written.
    pub async fn create_bot(&self, req: &NewBot) -> Result<DeployOutcome> {
        self.create_bot_within(req, &TokenTiers::default()).await
    }

    /// [`Router::create_bot`] through an API token with the tier bounds
    /// `token` ([`crate::tier::token_tiers`]): a request that names no tier
    /// or priority takes the token's default tier, and one above the
    /// token's highest tier is `tier_not_allowed`, with nothing written.
    pub async fn create_bot_within(
        &self,
        req: &NewBot,
        token: &TokenTiers,
    ) -> Result<DeployOutcome> {
        self.admit(req, None, None, token).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::Internal,
                "a request without a key was not admitted",
            )
        })
    }

    /// [`Router::create_bot`] under an idempotency key: the key is claimed
    /// for the new bot in the transaction that inserts it. `None` when
    /// another request already holds the key: nothing was written (see
    /// [`idempotency::find`] for the bot it names).
    pub async fn create_bot_once(
        &self,
        req: &NewBot,
        key: &IdempotencyKey,
        fingerprint: &[u8],
        token: &TokenTiers,
    ) -> Result<Option<DeployOutcome>> {
        self.admit(req, Some((key, fingerprint)), None, token).await
    }

    /// [`Router::create_bot`] for a failed bot deployed again
    /// ([`crate::bot::action::redeploy`]): the new bot names `old`
    /// (`redeploy_of`), carries its platform pin, and `record` (given the
    /// new bot's id in its detail) is written in the transaction that
    /// inserts it.
    pub(crate) async fn create_redeploy(
        &self,
        req: &NewBot,
        old: i64,
        pinned: Option<PlatformKind>,
        record: &audit::Record,
    ) -> Result<DeployOutcome> {
        let link = Link {
            old,
            pinned,
            record,
        };
        self.admit(req, None, Some(&link), &TokenTiers::default())
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::Internal,
                    "a request without a key was not admitted",
                )
            })
    }

    /// Checks, writes (claiming `key`, if any; linking it to the bot it
    /// deploys again, if any) and routes a request; `None` when the key was
    /// taken.
    async fn admit(
        &self,
        req: &NewBot,
        key: Option<(&IdempotencyKey, &[u8])>,
        link: Option<&Link<'_>>,
        token: &TokenTiers,
    ) -> Result<Option<DeployOutcome>> {
        let settings = settings::load(&self.db).await?;
        let Checked {
            url,
            webhook_url,
            pool,
            tier,
            timeout,
        } = self.check(req, &settings, token).await?;
        if req.join_at.is_some() || req.not_before.is_some() {
            let checked = Checked {
                url,
                webhook_url,
                pool,
                tier,
                timeout,
            };
            return self.admit_scheduled(req, checked, key, link).await;
        }
        let priority = tier.priority;
        let now = self.clock.now();
        let deadline =
            now + Duration::milliseconds(timeout.min(settings.global_queue_timeout_ms).into());
        // The bot and its queue entry commit together: from the moment the
        // request is accepted, something owns it — this router for a lease
        // (the `Routing` entry), then any dispatcher. A router killed or cut
        // off from the database mid-walk can no longer lose it.
        let mut tx = self.db.begin().await?;
        let row = bot::NewRow {
            pool: &pool.name,
            meeting_platform: req.meeting_platform,
            meeting_url: &url,
            priority,
            tier: tier.tier.as_deref(),
            max_wait_ms: tier.max_wait_ms,
            queue_timeout_ms: timeout,
            deadline,
            display_name: req.display_name.as_deref(),
            metadata: req.metadata.as_ref(),
            webhook_url: webhook_url.as_deref(),
            planned: None,
        };
        let bot_id = bot::insert(&mut tx, &row).await?;
        if let Some((key, fingerprint)) = key {
            if !idempotency::claim(&mut tx, key, fingerprint, bot_id, now).await? {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        if let Some(link) = link {
            link.write(&mut tx, bot_id).await?;
        }
        let held_until = self.routing_hold(now);
        queue::enter(
            &mut tx,
            bot_id,
            priority,
            now,
            Stage::Routing {
                held_until,
                deadline,
            },
        )
        .await?;
        tx.commit().await?;
        self.feed.publish(&[Topic::Bots]);
        let waiting = Waiting {
            bot_id,
            pool: pool.name.clone(),
            priority,
            queue_timeout_ms: timeout,
            queued_at: now,
            timeout_at: deadline,
            stage_platform: None,
            deadline,
            routing_until: Some(held_until),
            pinned_platform: link.and_then(|l| l.pinned).map(|p| p.as_str().to_string()),
        };
        self.route(&waiting, &pool, &settings, None, true, &mut Pass::default(), Launch::Await)
            .await
            .map(Some)
            .map_err(|e| {
                Error::new(
                    e.code(),
                    format!("bot #{bot_id} was accepted but routing it failed ({e}); it stays queued for any running instance to route"),
                )
            })
    }

    /// Every check of a request, before anything is written: its meeting
    /// URL, details and webhook URL, its pool, its tier and priority
    /// ([`tier::resolve`], with `token`'s bounds) and queue timeout (the
    /// pool's defaults filled in).
    pub(super) async fn check(
        &self,
        req: &NewBot,
        settings: &settings::Settings,
        token: &TokenTiers,
    ) -> Result<Checked> {
        let url = crate::meeting_url::check(req.meeting_platform, &req.meeting_url)?;
        check_details(req)?;
        let webhook_url = req
            .webhook_url
            .as_deref()
            .map(crate::webhook::target::check_url)
            .transpose()?;
        let pool = self.pool_for(req).await?;
        if let Some(priority) = req.priority.filter(|p| *p < 0) {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("priority must be 0 or more, got {priority}"),
            ));
        }
        let asked = tier::Asked {
            tier: req.tier.as_deref(),
            priority: req.priority,
            pool: &pool.name,
            pool_tier: pool.queue_tier.as_deref(),
            pool_priority: pool.queue_priority,
        };
        let tier = tier::resolve(&settings.tiers, &asked, token)?;
        let timeout = req.queue_timeout_ms.unwrap_or(pool.queue_timeout_ms);
        if !(0..=MAX_REQUEST_QUEUE_TIMEOUT_MS as i32).contains(&timeout) {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("queue timeout must be from 0 to {MAX_REQUEST_QUEUE_TIMEOUT_MS} ms (10 min), got {timeout}"),
            ));
        }
        Ok(Checked {
            url,
            webhook_url,
            pool,
            tier,
            timeout,
        })
    }

    /// The pool a request names (it must be live and serve the request's
    /// meeting platform), else its meeting platform's pool.
    async fn pool_for(&self, req: &NewBot) -> Result<Pool> {
        match &req.pool {
            Some(name) => {
                let pool = pool::get(&self.db, name).await?;
                if pool.retired {
                    return Err(Error::new(
                        ErrorCode::InvalidInput,
                        format!("pool {name} was retired (its definition was deleted)"),
                    ));
                }
                if pool.meeting_platform != req.meeting_platform {
                    return Err(Error::new(
                        ErrorCode::InvalidInput,
                        format!(
                            "pool {name} serves {}, not {}",
                            pool.meeting_platform.as_str(),
                            req.meeting_platform.as_str()
                        ),
                    ));
                }
                Ok(pool)
            }
            None => pool::for_meeting_platform(&self.db, req.meeting_platform).await,
        }
    }
}

/// A request's display name and metadata, checked before anything is written.
fn check_details(req: &NewBot) -> Result<()> {
    let bad = |m: String| Err(Error::new(ErrorCode::InvalidInput, m));
    if let Some(name) = &req.display_name {
        let chars = name.chars().count();
        if name.trim().is_empty() || chars > MAX_DISPLAY_NAME_CHARS {
            return bad(format!(
                "a display name is 1 to {MAX_DISPLAY_NAME_CHARS} characters, not blank (got {chars})"
            ));
        }
        if name.chars().any(char::is_control) {
            return bad("a display name may not contain control characters".into());
        }
    }
    if let Some(metadata) = &req.metadata {
        if !metadata.is_object() {
            return bad("metadata must be a JSON object".into());
        }
        let text = metadata.to_string();
        let size = text.len();
        if text.contains("\\u0000") {
            // PostgreSQL's jsonb cannot hold a NUL character.
            return bad("metadata may not contain the NUL character (\\u0000)".into());
        }
        if size > MAX_METADATA_BYTES {
            return bad(format!(
                "metadata is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are kept"
            ));
        }
    }
    Ok(())
}

/// A new bot deploying a failed one again: the old bot, its pin, and the
/// audit record of the action.
pub(crate) struct Link<'a> {
    old: i64,
    pub(super) pinned: Option<PlatformKind>,
    record: &'a audit::Record,
}

impl Link<'_> {
    /// Inside the admission's transaction: the new bot names the old one
    /// and carries its pin; the audit row names the new bot.
    pub(super) async fn write(&self, tx: &mut sqlx::PgConnection, bot_id: i64) -> Result<()> {
        sqlx::query("UPDATE bots SET redeploy_of = $2, pinned_platform = $3 WHERE id = $1")
            .bind(bot_id)
            .bind(self.old)
            .bind(self.pinned.map(PlatformKind::as_str))
            .execute(&mut *tx)
            .await?;
        let mut record = self.record.clone();
        record.detail = serde_json::json!({ "newBotId": bot_id });
        audit::record(tx, &record).await?;
        Ok(())
    }
}

/// A request that passed every check, normalised.
pub(super) struct Checked {
    /// The meeting URL in its parsed form.
    pub(super) url: String,
    /// The bot's own webhook URL, normalised.
    pub(super) webhook_url: Option<String>,
    /// Its pool.
    pub(super) pool: Pool,
    /// Its tier and priority (the defaults filled in).
    pub(super) tier: tier::Resolved,
    /// Its queue timeout in ms (the pool's default filled in).
    pub(super) timeout: i32,
}
