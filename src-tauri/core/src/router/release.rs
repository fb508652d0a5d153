//! Bots report and finish: what they held (slot, account, queue entry) is
//! released.

use super::{DeployError, Router};
use crate::account;
use crate::bot;
use crate::description;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::meeting::{BotStatus, PlatformKind};
use crate::queue;
use crate::slot;

impl Router {
    /// A bot reports its status. `DONE`/`FATAL` end it: its queue entry goes,
    /// its workload is stopped and its slot released (or put in `error` if
    /// the stop fails, for recovery to handle).
    pub async fn report(&self, bot_id: i64, status: BotStatus, reason: Option<&str>) -> Result<()> {
        let (current, _) = bot::status_of(&self.db, bot_id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{bot_id}")))?;
        if !bot::may_report(current, status) {
            return Err(Error::new(
                ErrorCode::StaleTransition,
                format!("bot #{bot_id} is {current}; it cannot report {status}"),
            ));
        }
        if !status.is_final() {
            if !bot::move_status(&self.db, bot_id, current, status).await? {
                return Err(Error::new(
                    ErrorCode::StaleTransition,
                    format!("bot #{bot_id} changed status while reporting {status}; read it and try again"),
                ));
            }
            self.announce_moved(status);
            return Ok(());
        }
        let error = (status == BotStatus::Fatal)
            .then(|| reason.unwrap_or("reported FATAL by the bot").to_string());
        self.finish(bot_id, status, error.as_deref()).await
    }

    /// Announces a bot's move to a non-final `status`. `CALL_ENDED` gave
    /// its platform capacity back (the slot stays held until the bot ends):
    /// announced with the slots, which wakes every dispatcher to hand that
    /// capacity to a waiting request.
    pub(crate) fn announce_moved(&self, status: BotStatus) {
        if status == BotStatus::CallEnded {
            // No slot row changed (the slot stays held): nothing to re-read.
            self.feed.publish_slots(&[Topic::Bots, Topic::Slots], &[]);
        } else {
            self.feed.publish(&[Topic::Bots]);
        }
    }

    /// Ends a bot (`DONE` or `FATAL`) and frees what it held. Finishing a
    /// bot that already ended frees whatever it still holds (a finish cut
    /// off halfway is completed by the next one), and changes nothing else.
    pub async fn finish(&self, bot_id: i64, status: BotStatus, error: Option<&str>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let ended = bot::end(&mut tx, bot_id, status, error).await?;
        queue::leave(&mut tx, bot_id).await?;
        tx.commit().await?;
        let (status, error) = if ended {
            (status, error.map(str::to_string))
        } else {
            // Already ended — by another caller, or by a finish cut off
            // before it freed what the bot held: free what is left, as the
            // status it ended with says.
            match bot::status_of(&self.db, bot_id).await? {
                Some(stored) => stored,
                None => return Ok(()),
            }
        };
        let held = slot::of_bot(&self.db, bot_id).await?;
        if let Some(s) = &held {
            self.release_slot(s, &format!("bot #{bot_id} {status}"))
                .await?;
        }
        self.end_account(bot_id, status, error.as_deref()).await?;
        let slots: Vec<i64> = held.iter().map(|s| s.id).collect();
        self.feed
            .publish_slots(&[Topic::Bots, Topic::Queue, Topic::Slots], &slots);
        Ok(())
    }

    /// Ends the account lease of a bot that ended: `DONE` completes the
    /// account, `FATAL` counts a failure (the pool's `retry_failed` and
    /// `max_failures` decide whether it returns).
    pub(super) async fn end_account(
        &self,
        bot_id: i64,
        status: BotStatus,
        error: Option<&str>,
    ) -> Result<()> {
        let Some(held) = account::lease::held_by(&self.db, bot_id).await? else {
            return Ok(());
        };
        let config = account::lease::config_of(&self.db, &held.pool)
            .await?
            .unwrap_or_default();
        let outcome = match status {
            BotStatus::Done => account::lease::Outcome::Completed,
            _ => account::lease::Outcome::Failed(error.unwrap_or("the bot failed").to_string()),
        };
        account::lease::finish(&self.db, bot_id, &outcome, &config).await?;
        self.feed.publish(&[Topic::Pools]);
        Ok(())
    }

    /// Stops a held slot's workload and returns the slot to `idle` (or
    /// `error` when the stop fails); a draining slot back to `idle` is
    /// deleted ([`slot::drain`]). A stale epoch changes nothing.
    pub async fn release_slot(&self, s: &slot::SlotView, reason: &str) -> Result<bool> {
        let kind: PlatformKind = s.deployment_platform;
        let r = crate::platform::SlotRef {
            slot_id: s.id,
            slot_name: s.slot_name.clone(),
            pool: s.pool.clone(),
            epoch: s.epoch,
            platform_ref: s.platform_ref.clone(),
        };
        let stopped = match self.platforms.get(kind) {
            Some(adapter) if s.platform_ref.is_some() => {
                adapter.stop(&r).await.map_err(DeployError::from)
            }
            Some(_) => Ok(()),
            None => Err(DeployError::NoAdapter(kind)),
        };
        let mut conn = self.db.acquire().await?;
        // The platform-side description follows the state the database
        // records, in the same words.
        let changed = match stopped {
            Ok(()) => {
                let released = slot::release(&mut conn, s.id, s.epoch, reason).await?;
                drop(conn);
                match &released {
                    // An operator drained it: deleted now it is idle.
                    Some(done) if done.draining => {
                        slot::drain::remove_drained(self, s.id).await?;
                    }
                    Some(_) => {
                        self.describe(kind, &r, &description::idle(s.last_used_at))
                            .await
                    }
                    None => {}
                }
                released.is_some()
            }
            Err(message) => {
                let message = format!("stop failed: {message}");
                let now = self.clock.now();
                let errored = slot::mark_error(&mut conn, s.id, Some(s.epoch), &message, now)
                    .await?
                    .is_some();
                drop(conn);
                if errored {
                    self.describe(kind, &r, &description::error(&message, now))
                        .await;
                }
                errored
            }
        };
        self.feed.publish_slots(&[Topic::Slots], &[s.id]);
        Ok(changed)
    }
}
