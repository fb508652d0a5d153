//! The new mode: requests carry `joinAt`, Berth starts each bot at
//! `joinAt` minus the lead time it learned ([`berth_core::schedule`]), and
//! the pool's idle slots follow demand ([`Scaling`]).

use berth_core::actor::Actor;
use berth_core::router::{NewBot, Router};
use berth_core::schedule::IfFull;
use chrono::{DateTime, Utc};

use super::policy::Policy;
use super::workload::{Kind, Secs, SimBot};

/// How often the pre-warm and scaling jobs run (`BERTH_PREWARM_INTERVAL_MS`'s
/// production default, which both follow). The starter runs with them,
/// and at each scheduled start the engine planned ([`Policy::next_due`]):
/// the leader runs it every second
/// ([`berth_core::schedule::start::TICK_MS`]), so a bot starts within a
/// second of its planned start, here at it.
pub const SIZING_INTERVAL_S: Secs = 60;

/// How the pool's idle slots are kept in the new mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// The pool definition's `scaling:` policy, run by the leader's
    /// scaling job ([`berth_core::jobs::scale`]).
    Auto {
        /// `min_idle`.
        min_idle: u32,
        /// `max_idle`.
        max_idle: u32,
        /// `scale_down_after`, in minutes.
        scale_down_after_min: u32,
    },
    /// A fixed pre-warm of this many slots (today's pre-warm job), for a
    /// build without auto-scaling.
    Fixed {
        /// The pre-warm count.
        prewarm: u32,
    },
}

/// The zoom pool's definition under `scaling` (max size: the platforms'
/// limits together); `None` for a fixed pre-warm (the environment's pool).
pub fn definition(scaling: Scaling, max_size: u32) -> Option<String> {
    match scaling {
        Scaling::Auto {
            min_idle,
            max_idle,
            scale_down_after_min,
        } => Some(format!(
            "name: zoom\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: {max_size}\n\
             scaling:\n  min_idle: {min_idle}\n  max_idle: {max_idle}\n  \
             scale_down_after: {scale_down_after_min}m\n"
        )),
        Scaling::Fixed { .. } => None,
    }
}

/// Scheduled bots and auto-scaling.
pub struct Scheduled {
    /// How the pool sizes itself.
    pub scaling: Scaling,
}

#[async_trait::async_trait]
impl Policy for Scheduled {
    fn name(&self) -> String {
        "(b) joinAt + scaling".into()
    }

    fn settings(&self) -> String {
        match self.scaling {
            Scaling::Auto {
                min_idle,
                max_idle,
                scale_down_after_min,
            } => format!("scaling {min_idle}..{max_idle}, down after {scale_down_after_min}m"),
            Scaling::Fixed { prewarm } => format!("joinAt; prewarm {prewarm}"),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        match self.scaling {
            Scaling::Auto { .. } => Vec::new(),
            Scaling::Fixed { prewarm } => {
                vec![("POOL_ZOOM_PREWARM_COUNT".into(), prewarm.to_string())]
            }
        }
    }

    async fn prepare(&self, router: &Router) -> Result<(), String> {
        let Some(text) = definition(self.scaling, super::run::max_size()) else {
            return Ok(());
        };
        berth_core::definition::apply(router.db(), router.feed(), &text, &Actor::system("day-sim"))
            .await
            .map(|_| ())
            .map_err(|e| format!("the scaled pool's definition: {e}"))
    }

    fn request_at(&self, bot: &SimBot) -> Secs {
        bot.requested_at()
    }

    /// A booked bot says when it must join and how long it stays (its
    /// booking's window); a full window queues it rather than refusing.
    fn new_bot(&self, bot: &SimBot, req: NewBot, join_at: DateTime<Utc>) -> NewBot {
        match bot.kind {
            Kind::Scheduled { .. } => req
                .join_at(join_at)
                .expected_duration_ms(i32::try_from(bot.duration * 1000).ok())
                .if_full(IfFull::Queue),
            Kind::AdHoc => req,
        }
    }

    fn job_interval_s(&self) -> Secs {
        SIZING_INTERVAL_S
    }

    async fn tick(&self, router: &Router) -> berth_core::Result<()> {
        berth_core::schedule::start::run(router).await?;
        // The leader runs both (a scaled pool is the scaling job's, the
        // pre-warm job passes it over).
        berth_core::jobs::prewarm(router).await?;
        berth_core::jobs::scale(router).await?;
        Ok(())
    }

    /// The earliest start the engine planned for a bot still `SCHEDULED`
    /// (what the starter's own query looks for).
    async fn next_due(&self, router: &Router) -> berth_core::Result<Option<DateTime<Utc>>> {
        Ok(
            sqlx::query_scalar("SELECT min(start_at) FROM bots WHERE status = 'SCHEDULED'")
                .fetch_one(router.db())
                .await?,
        )
    }

    async fn due(&self, router: &Router) -> berth_core::Result<()> {
        berth_core::schedule::start::run(router).await.map(|_| ())
    }
}
