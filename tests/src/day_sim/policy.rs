//! How a run asks for its bots and sizes its pools: the two modes the
//! simulation compares.

use berth_core::router::{NewBot, Router};
use chrono::{DateTime, Utc};

use super::workload::{Secs, SimBot};

/// One way of running the day.
#[async_trait::async_trait]
pub trait Policy: Send + Sync {
    /// Its name in the table.
    fn name(&self) -> String;
    /// Its settings, in the table.
    fn settings(&self) -> String;
    /// Environment variables the instance starts with (on top of the
    /// platforms' limits).
    fn env(&self) -> Vec<(String, String)>;
    /// Set-up on the started instance (a pool definition to apply).
    async fn prepare(&self, _router: &Router) -> Result<(), String> {
        Ok(())
    }
    /// When `bot` is asked for.
    fn request_at(&self, bot: &SimBot) -> Secs;
    /// The request for `bot` (`req` names its meeting and pool; it must be
    /// in the meeting at `join_at`).
    fn new_bot(&self, bot: &SimBot, req: NewBot, join_at: DateTime<Utc>) -> NewBot;
    /// How often the leader's periodic jobs run, in simulated seconds.
    fn job_interval_s(&self) -> Secs;
    /// One round of the leader's jobs.
    async fn tick(&self, router: &Router) -> berth_core::Result<()>;
    /// When a job that runs at a moment the engine knows (a scheduled
    /// bot's start) runs next, if any.
    async fn next_due(&self, _router: &Router) -> berth_core::Result<Option<DateTime<Utc>>> {
        Ok(None)
    }
    /// That job's run.
    async fn due(&self, _router: &Router) -> berth_core::Result<()> {
        Ok(())
    }
}

/// Today's Berth: a bot is asked for when it must join (a product with no
/// way to say "at 10:00" asks at 10:00), and the pool keeps `prewarm`
/// idle slots, topped up by the pre-warm job every minute
/// (`BERTH_PREWARM_INTERVAL_MS`'s production default).
pub struct FixedPrewarm {
    /// The pool's pre-warm count.
    pub prewarm: u32,
}

/// The production default of `BERTH_PREWARM_INTERVAL_MS`, in seconds.
pub const PREWARM_INTERVAL_S: Secs = 60;

#[async_trait::async_trait]
impl Policy for FixedPrewarm {
    fn name(&self) -> String {
        "(a) fixed pre-warm".into()
    }

    fn settings(&self) -> String {
        format!("prewarm {}", self.prewarm)
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![("POOL_ZOOM_PREWARM_COUNT".into(), self.prewarm.to_string())]
    }

    fn request_at(&self, bot: &SimBot) -> Secs {
        bot.join_at
    }

    fn new_bot(&self, _bot: &SimBot, req: NewBot, _join_at: DateTime<Utc>) -> NewBot {
        req
    }

    fn job_interval_s(&self) -> Secs {
        PREWARM_INTERVAL_S
    }

    async fn tick(&self, router: &Router) -> berth_core::Result<()> {
        berth_core::jobs::prewarm(router).await.map(|_| ())
    }
}
