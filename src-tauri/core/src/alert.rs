//! What an operator is told about: a pool whose bots queue because every
//! platform is at its limit or the pool is at its max size, a platform that
//! is down (its health check or its circuit breaker), slots of a pool that
//! keep failing, and bots that expired in the queue.
//!
//! Alerts are **states, not events**: [`Watch::check`] reads the conditions
//! that hold now (one read-only query) and compares them with the ones that
//! held at its previous check, so a condition is announced once when it
//! begins ([`Notice::raised`]) and once when it ends, however many changes
//! happen in between — an exhausted pool taking fifty requests is one alert,
//! not fifty. Expired bots are the one event-like alert: every check counts
//! those that expired since the previous one, in one notice. A face runs a
//! `Watch` (the desktop shows its notices natively and in a list) and may
//! fold a burst of notices into one message with [`summary`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::BTreeMap;

use crate::error::Result;

/// What an alert is about. Each can be switched off in the faces that show
/// them.
// `Deserialize`: a face receives the kinds left on (`set_alert_kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A pool's bots queue: every platform is at its limit, or the pool is
    /// at its max size. Keyed by pool.
    Exhausted,
    /// A platform is down (failed health check or open circuit breaker).
    /// Keyed by platform.
    PlatformDown,
    /// Slots of a pool went to `error` and failed recovery again. Keyed by
    /// pool.
    SlotsFailing,
    /// Bots expired in the queue since the previous check (no end notice).
    BotsExpired,
}

/// A slot counts as failing repeatedly once its recovery failed this often.
pub const REPEATED_FAILURES: i32 = 2;

/// One alert beginning or ending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// What it is about.
    pub kind: AlertKind,
    /// The pool or platform it concerns (empty for expired bots).
    pub key: String,
    /// `true` when the condition began (or bots expired), `false` when it
    /// ended ("back to normal").
    pub raised: bool,
    /// One line, e.g. `Pool zoom-prod exhausted`.
    pub title: String,
    /// What and why, e.g. `4 bots queuing: every platform is at its limit`.
    pub body: String,
    /// When the check saw it (the database's clock).
    pub at: DateTime<Utc>,
}

/// A condition that holds at one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Its kind.
    pub kind: AlertKind,
    /// The pool or platform.
    pub key: String,
    /// How many (bots queuing, slots failing).
    pub count: i64,
    /// Why (which limit; the platform's failing check).
    pub detail: Option<String>,
}

/// What holds at one check: the conditions, the bots that expired in the
/// queue after the previous check, and the database's time of the check
/// (expiry times are the database's, so the next check counts from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The conditions that hold.
    pub conditions: Vec<Condition>,
    /// Bots that expired in the queue after `since`.
    pub expired: i64,
    /// The database's `now()`.
    pub at: DateTime<Utc>,
}

/// Reads the conditions that hold now, and the number of bots that expired
/// in the queue after `since` (none counted without one). Read-only.
pub async fn read(db: &PgPool, since: Option<DateTime<Utc>>) -> Result<Reading> {
    let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "WITH queued AS (
             SELECT b.pool, count(*) AS n, bool_or(q.stage = -1) AS everywhere
               FROM deployment_queue q JOIN bots b ON b.id = q.bot_id GROUP BY b.pool
         )
         SELECT 'exhausted', q.pool, q.n,
                CASE WHEN e.pool IS NOT NULL THEN 'the pool is at its max size'
                     ELSE 'every platform is at its limit' END
           FROM queued q LEFT JOIN pool_exhaustion e ON e.pool = q.pool
          WHERE q.everywhere OR e.pool IS NOT NULL
         UNION ALL
         SELECT 'platform_down', h.platform, 0, h.detail
           FROM platform_health h WHERE h.health = 'down'
         UNION ALL
         SELECT 'slots_failing', s.pool, count(*), max(s.error_message)
           FROM pool_slots s WHERE s.status = 'error' AND s.recovery_attempts >= $1
          GROUP BY s.pool",
    )
    .bind(REPEATED_FAILURES)
    .fetch_all(db)
    .await?;
    let conditions = rows
        .into_iter()
        .filter_map(|(kind, key, count, detail)| {
            let kind = match kind.as_str() {
                "exhausted" => AlertKind::Exhausted,
                "platform_down" => AlertKind::PlatformDown,
                "slots_failing" => AlertKind::SlotsFailing,
                _ => return None,
            };
            Some(Condition {
                kind,
                key,
                count,
                detail,
            })
        })
        .collect();
    let (expired, at): (i64, DateTime<Utc>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM bots WHERE status = 'FATAL' AND error = 'queue timeout'
                   AND ended_at > coalesce($1, now())), now()",
    )
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok(Reading {
        conditions,
        expired,
        at,
    })
}

/// The conditions seen at the previous check. The first check announces
/// every condition that already holds.
#[derive(Debug, Default)]
pub struct Watch {
    firing: BTreeMap<(AlertKind, String), Condition>,
    since: Option<DateTime<Utc>>,
}

impl Watch {
    /// A watch that has not checked yet (bots that expired before its first
    /// check are not counted).
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Reads the conditions and returns what began and ended since the
    /// previous check, stamped `now`. Read-only in the database.
    pub async fn check(&mut self, db: &PgPool, now: DateTime<Utc>) -> Result<Vec<Notice>> {
        let reading = read(db, self.since).await?;
        self.since = Some(reading.at);
        Ok(self.step(reading.conditions, reading.expired, now))
    }

    /// The pure part of [`Watch::check`]: compares `current` with the
    /// previous conditions (`expired` bots since then) and moves on.
    pub fn step(
        &mut self,
        current: Vec<Condition>,
        expired: i64,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut next = BTreeMap::new();
        for c in current {
            let id = (c.kind, c.key.clone());
            if !self.firing.contains_key(&id) {
                notices.push(raised(&c, now));
            }
            next.insert(id, c);
        }
        for (id, c) in &self.firing {
            if !next.contains_key(id) {
                notices.push(resolved(c, now));
            }
        }
        if expired > 0 {
            notices.push(Notice {
                kind: AlertKind::BotsExpired,
                key: String::new(),
                raised: true,
                title: format!("{expired} {} expired in the queue", plural(expired, "bot")),
                body: "No capacity freed up before their queue timeout.".into(),
                at: now,
            });
        }
        self.firing = next;
        notices
    }
}

fn raised(c: &Condition, now: DateTime<Utc>) -> Notice {
    let why = c.detail.as_deref().unwrap_or("no detail");
    let (title, body) = match c.kind {
        AlertKind::Exhausted => (
            format!("Pool {} exhausted", c.key),
            format!("{} {} queuing: {why}.", c.count, plural(c.count, "bot")),
        ),
        AlertKind::PlatformDown => (
            format!("Platform {} is down", c.key),
            format!("New bots go to the other platforms: {why}."),
        ),
        AlertKind::SlotsFailing => (
            format!("Slots of pool {} keep failing", c.key),
            format!(
                "{} {} in error after repeated recovery: {why}",
                c.count,
                plural(c.count, "slot")
            ),
        ),
        AlertKind::BotsExpired => (String::new(), String::new()),
    };
    Notice {
        kind: c.kind,
        key: c.key.clone(),
        raised: true,
        title,
        body,
        at: now,
    }
}

fn resolved(c: &Condition, now: DateTime<Utc>) -> Notice {
    let (title, body) = match c.kind {
        AlertKind::Exhausted => (
            format!("Pool {} back to normal", c.key),
            "No bot is waiting for capacity any more.".to_string(),
        ),
        AlertKind::PlatformDown => (
            format!("Platform {} is back", c.key),
            "It takes new bots again.".to_string(),
        ),
        AlertKind::SlotsFailing => (
            format!("Slots of pool {} recovered", c.key),
            "No slot is failing repeatedly any more.".to_string(),
        ),
        AlertKind::BotsExpired => (String::new(), String::new()),
    };
    Notice {
        kind: c.kind,
        key: c.key.clone(),
        raised: false,
        title,
        body,
        at: now,
    }
}

fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// One message for a burst of notices (what a desktop notification shows):
/// a single notice as it is; several as a count and their titles, at most
/// five. `None` when there is nothing to say.
pub fn summary(notices: &[Notice]) -> Option<(String, String)> {
    match notices {
        [] => None,
        [one] => Some((one.title.clone(), one.body.clone())),
        many => {
            let mut lines: Vec<String> = many.iter().take(5).map(|n| n.title.clone()).collect();
            if many.len() > 5 {
                lines.push(format!("and {} more", many.len() - 5));
            }
            Some((format!("{} Berth alerts", many.len()), lines.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn exhausted(pool: &str, n: i64) -> Condition {
        Condition {
            kind: AlertKind::Exhausted,
            key: pool.into(),
            count: n,
            detail: Some("every platform is at its limit".into()),
        }
    }

    #[test]
    fn a_condition_is_announced_when_it_begins_and_when_it_ends_only() {
        let mut w = Watch::new();
        let first = w.step(vec![exhausted("zoom", 2)], 0, at(1));
        assert_eq!(first.len(), 1);
        assert!(first[0].raised);
        assert_eq!(first[0].title, "Pool zoom exhausted");
        assert_eq!(
            first[0].body,
            "2 bots queuing: every platform is at its limit."
        );
        // Fifty more bots queue: still the same alert, nothing new.
        assert!(w.step(vec![exhausted("zoom", 52)], 0, at(2)).is_empty());
        let last = w.step(vec![], 0, at(3));
        assert_eq!(last.len(), 1);
        assert!(!last[0].raised);
        assert_eq!(last[0].title, "Pool zoom back to normal");
        assert!(w.step(vec![], 0, at(4)).is_empty());
    }

    #[test]
    fn expired_bots_are_counted_in_one_notice_and_bursts_fold_into_one_message() {
        let mut w = Watch::new();
        let down = Condition {
            kind: AlertKind::PlatformDown,
            key: "k8s".into(),
            count: 0,
            detail: Some("breaker open".into()),
        };
        let notices = w.step(vec![exhausted("a", 1), exhausted("b", 3), down], 7, at(1));
        assert_eq!(notices.len(), 4);
        assert_eq!(notices[3].title, "7 bots expired in the queue");
        let (title, body) = summary(&notices).unwrap();
        assert_eq!(title, "4 Berth alerts");
        assert_eq!(body.lines().count(), 4);
        assert!(body.contains("Platform k8s is down"), "{body}");
        let many: Vec<Notice> = (0..9).map(|_| notices[0].clone()).collect();
        assert!(summary(&many).unwrap().1.ends_with("and 4 more"));
        assert_eq!(summary(&notices[..1]).unwrap().0, "Pool a exhausted");
        assert_eq!(summary(&[]), None);
    }
}
