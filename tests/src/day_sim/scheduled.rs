//! The new mode: requests carry `joinAt`, Berth starts each bot at
//! `joinAt` minus the lead time it learned ([`berth_core::schedule`]), and
//! the pool's idle slots follow demand ([`Scaling`]).

use berth_core::router::{NewBot, Router};
use berth_core::schedule::IfFull;
use chrono::{DateTime, Utc};

use super::policy::Policy;
use super::workload::{Kind, Secs, SimBot};

/// How often the starter looks for bots to start in the simulation, in
/// seconds. The leader runs it every second
/// ([`berth_core::schedule::start::TICK_MS`]); five keeps the day's steps
/// few, and a bot started up to 5 s after its start is covered by the
/// lead's margin.
pub const STARTER_TICK_S: Secs = 5;
/// How often the pool sizing job runs (the pre-warm job's production interval).
pub const SIZING_INTERVAL_S: Secs = 60;

/// How the pool's idle slots are kept in the new mode: the seam where
/// auto-scaling plugs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// Auto-scaling is not in this build: a fixed pre-warm of this many
    /// slots stands in for `scaling.min_idle` (no scale-down).
    NotYetMerged {
        /// The pre-warm count standing in.
        prewarm: u32,
    },
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
            Scaling::NotYetMerged { prewarm } => {
                format!("joinAt, lead learned; prewarm {prewarm} (no scaling yet)")
            }
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        match self.scaling {
            Scaling::NotYetMerged { prewarm } => {
                vec![("POOL_ZOOM_PREWARM_COUNT".into(), prewarm.to_string())]
            }
        }
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
        STARTER_TICK_S
    }

    async fn tick(&self, router: &Router, elapsed: Secs) -> berth_core::Result<()> {
        berth_core::schedule::start::run(router).await?;
        if elapsed % SIZING_INTERVAL_S == 0 {
            match self.scaling {
                Scaling::NotYetMerged { .. } => {
                    berth_core::jobs::prewarm(router).await?;
                }
            }
        }
        Ok(())
    }
}
