//! A router whose changes are announced, for tests that check what a use
//! case announces: the harness's own feed is off, so its router announces
//! nothing. This one shares the database, clock and adapters, on a live
//! feed (`LISTEN`/`NOTIFY` on the test's database).

use berth_core::clock::Clock;
use berth_core::feed::{ChangeEvent, Feed, Topic};
use berth_core::platform::Platforms;
use berth_core::router::Router;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;

/// How long a test waits for an announcement before it fails.
const WAIT: Duration = Duration::from_secs(10);

/// The announcing router, and the announcements it has made so far.
pub struct Announcing {
    /// Runs the use cases under test.
    pub router: Router,
    /// Every announcement, from the moment the feed listened.
    pub rx: Receiver<ChangeEvent>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Announcing {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A router on a live feed over `db` with `clock` and `platforms`, once its
/// feed listens (its first resync arrived).
pub async fn announcing(db: &PgPool, clock: Arc<dyn Clock>, platforms: &Platforms) -> Announcing {
    let feed = Feed::new(uuid::Uuid::new_v4(), true);
    let tasks = feed.spawn(db.clone());
    let mut rx = feed.subscribe();
    while !matches!(rx.recv().await.expect("the feed runs"), ChangeEvent::Resync) {}
    let router = Router::new(db.clone(), clock, feed, platforms.clone());
    Announcing { router, rx, tasks }
}

impl Announcing {
    /// Waits until the `slots` announcements have named every slot of
    /// `ids` (each announcement names the slots it changed); panics, naming
    /// `what`, when they have not within ten seconds. Returns every slot
    /// named meanwhile.
    pub async fn slots_named(&mut self, ids: &[i64], what: &str) -> BTreeSet<i64> {
        let want: BTreeSet<i64> = ids.iter().copied().collect();
        let rx = &mut self.rx;
        tokio::time::timeout(WAIT, async {
            let mut named = BTreeSet::new();
            loop {
                if let ChangeEvent::Changed {
                    topics,
                    slot_ids: Some(ids),
                    ..
                } = rx.recv().await.expect("the feed runs")
                {
                    if topics.contains(&Topic::Slots) {
                        named.extend(ids);
                        if named.is_superset(&want) {
                            return named;
                        }
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what}: slots {want:?} were not all announced"))
    }
}
