//! What stops when an instance leaves.
//!
//! Queued requests are dispatched only while some instance runs its
//! dispatcher (`berth serve`, `berth demo` or the desktop app). Before the
//! desktop app closes its window it asks this module what closing would
//! stop, so it can say so (and offer to keep serving in the background)
//! instead of silently leaving bots queued: see [`Departure`].

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;
use crate::instance::Berth;

/// What the embedded database does when this instance exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EmbeddedFate {
    /// Not embedded (`DATABASE_URL`): the database is not this instance's to stop.
    NotEmbedded,
    /// This instance owns the embedded server and nothing else uses it: it stops.
    Stops,
    /// Other clients use the embedded server (or another process owns it):
    /// it keeps running for them.
    KeepsRunning,
}

/// What an instance leaving now would stop, as of one look at the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Departure {
    /// Bots waiting for capacity (`QUEUED`).
    pub queued: i64,
    /// Bots waiting for their start time (`SCHEDULED`): only a running
    /// instance's leader starts them, so none starts while no instance runs
    /// (one whose start passed meanwhile starts late, when one runs again).
    pub scheduled: i64,
    /// Bots deploying or running (`DEPLOYING` to `CALL_ENDED`): they keep
    /// running on their platforms, but nothing records their end or
    /// reconciles them until an instance runs.
    pub active: i64,
    /// Other live instances (a heartbeat within the leader lease): they
    /// dispatch and run the jobs when this one leaves.
    pub other_instances: i64,
    /// The embedded database's fate.
    pub embedded: EmbeddedFate,
}

impl Departure {
    /// Leaving stops dispatching work that is waiting: bots are queued and
    /// no other instance would dispatch them. This is what the desktop app
    /// asks about before closing, and what its background mode waits out.
    pub fn stops_dispatching(&self) -> bool {
        self.queued > 0 && self.other_instances == 0
    }

    /// Leaving leaves scheduled bots with nobody to start them: some are
    /// scheduled and no other instance runs. The desktop app says so before
    /// closing; its background mode does not wait for them (their starts
    /// may be days away).
    pub fn stops_starting(&self) -> bool {
        self.scheduled > 0 && self.other_instances == 0
    }
}

/// Bot counts (queued, scheduled, active) and other live instances
/// besides `me` (a heartbeat within `lease_ms`). Reads only.
pub async fn look(db: &PgPool, me: Uuid, lease_ms: u32) -> Result<(i64, i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT
            (SELECT count(*) FROM bots WHERE status = 'QUEUED'),
            (SELECT count(*) FROM bots WHERE status = 'SCHEDULED'),
            (SELECT count(*) FROM bots
              WHERE status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING', 'CALL_ENDED')),
            (SELECT count(*) FROM peers
              WHERE id <> $1 AND heartbeat_at > now() - make_interval(secs => $2::float8 / 1000))",
    )
    .bind(me)
    .bind(f64::from(lease_ms))
    .fetch_one(db)
    .await?)
}

/// What `berth` leaving now would stop.
pub async fn of(berth: &Berth) -> Result<Departure> {
    let (queued, scheduled, active, other_instances) =
        look(berth.db(), berth.id, berth.config.jobs.leader_lease_ms).await?;
    let embedded = match berth.embedded_stops_on_exit().await {
        None => EmbeddedFate::NotEmbedded,
        Some(true) => EmbeddedFate::Stops,
        Some(false) => EmbeddedFate::KeepsRunning,
    };
    Ok(Departure {
        queued,
        scheduled,
        active,
        other_instances,
        embedded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departure(queued: i64, other_instances: i64) -> Departure {
        Departure {
            queued,
            scheduled: 0,
            active: 3,
            other_instances,
            embedded: EmbeddedFate::Stops,
        }
    }

    #[test]
    fn only_queued_bots_nobody_else_dispatches_are_at_stake() {
        assert!(departure(290, 0).stops_dispatching());
        assert!(
            !departure(290, 1).stops_dispatching(),
            "another instance dispatches them"
        );
        assert!(
            !departure(0, 0).stops_dispatching(),
            "running bots keep running"
        );
    }

    #[test]
    fn scheduled_bots_nobody_else_starts_are_said_but_not_waited_for() {
        let d = Departure {
            scheduled: 2,
            ..departure(0, 0)
        };
        assert!(d.stops_starting());
        assert!(
            !d.stops_dispatching(),
            "background mode waits for queued bots only"
        );
        assert!(
            !Departure {
                scheduled: 2,
                ..departure(0, 1)
            }
            .stops_starting(),
            "another instance's leader starts them"
        );
        assert!(!departure(5, 0).stops_starting(), "none scheduled");
    }
}
