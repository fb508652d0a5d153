//! The change feed: what each instance changed, announced after its commits.
//!
//! `publish` only records topics in memory (no database work, never inside a
//! transaction). A flusher sends the first change after a quiet spell at
//! once, then at most one `NOTIFY` per coalescing window carrying every
//! topic recorded in it: PostgreSQL serialises commits that
//! carry a notification, so the hot acquire/release statements never do.
//! A listener turns the notices of every instance (this one included) into
//! typed [`ChangeEvent`]s on a broadcast channel.

mod notice;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::metrics::{FeedLag, Origin};
use notice::{Payload, Pending};
pub use notice::{MAX_SLOT_IDS, PAYLOAD_LIMIT};

/// The notification channel.
pub const CHANNEL: &str = "berth_changes";
/// How long changes are gathered before one `NOTIFY` goes out.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(40);

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum Topic {
    /// Slots were created, acquired, released, failed or deleted.
    Slots,
    /// The queue changed.
    Queue,
    /// Bots changed status.
    Bots,
    /// Platform settings changed.
    Settings,
    /// Pool definitions changed.
    Pools,
    /// Leadership or peers changed.
    Peers,
    /// A platform's health changed, or it was drained or undrained.
    Platforms,
    /// An operator action was recorded in the audit log.
    Audit,
    /// A scaled pool's scaling decision was recorded ([`crate::scaling`]).
    Scaling,
    /// A rolling image update started, moved on or finished.
    Rollouts,
}

/// An event of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ChangeEvent {
    /// An instance committed changes on these topics.
    #[serde(rename_all = "camelCase")]
    Changed {
        /// The instance that made them.
        origin: Uuid,
        /// The topics.
        topics: Vec<Topic>,
        /// With [`Topic::Slots`]: `Some` when only these slots changed (at
        /// most [`MAX_SLOT_IDS`]; a slot no longer there was deleted),
        /// `None` when the slot list may have changed as a whole (slots
        /// created, too many changes, a publisher that did not say which,
        /// an older instance): read the list again.
        slot_ids: Option<Vec<i64>>,
    },
    /// The listener reconnected: notices may have been missed, reload everything.
    Resync,
    /// The listener lost the database; events stop until it comes back.
    #[serde(rename_all = "camelCase")]
    Disconnected {
        /// Why.
        message: String,
    },
}

impl ChangeEvent {
    /// Whether this event may concern `topic` (a resync concerns everything).
    pub fn touches(&self, topic: Topic) -> bool {
        match self {
            ChangeEvent::Changed { topics, .. } => topics.contains(&topic),
            ChangeEvent::Resync => true,
            ChangeEvent::Disconnected { .. } => false,
        }
    }
}

/// Now on the wall clock, in Unix milliseconds: the feed's lag spans
/// processes, which share no injected clock.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Inner {
    origin: Uuid,
    enabled: bool,
    pending: Mutex<Pending>,
    /// Held by a flush from taking the pending topics until its `NOTIFY` is
    /// done: the last flush at shutdown waits for one the flusher has under
    /// way (it sends at once since the first-change rule), so topics taken
    /// but not yet sent are never lost when the flusher is then stopped.
    flushing: tokio::sync::Mutex<()>,
    wake: Notify,
    tx: broadcast::Sender<ChangeEvent>,
    /// This instance's publishes, at once (no database round trip).
    here: broadcast::Sender<Topics>,
    lag: FeedLag,
}

/// A set of topics (one bit each), as [`Feed::subscribe_here`] delivers them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Topics(u16);

impl Topics {
    /// The set of `topics`.
    pub fn of(topics: &[Topic]) -> Topics {
        Topics(topics.iter().fold(0, |bits, t| bits | 1 << (*t as u16)))
    }

    /// Whether `topic` is in the set.
    pub fn contains(self, topic: Topic) -> bool {
        self.0 & 1 << (topic as u16) != 0
    }
}

/// One instance's side of the feed. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

impl Feed {
    /// A feed for instance `origin`; a disabled feed publishes nothing
    /// (used to measure what the feed costs).
    pub fn new(origin: Uuid, enabled: bool) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let (here, _) = broadcast::channel(64);
        Feed {
            inner: Arc::new(Inner {
                origin,
                enabled,
                pending: Mutex::new(Pending::new()),
                flushing: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                tx,
                here,
                lag: FeedLag::default(),
            }),
        }
    }

    /// This instance's id.
    pub fn origin(&self) -> Uuid {
        self.inner.origin
    }

    /// Records that `topics` changed; call after the commit. Never blocks on
    /// I/O. With [`Topic::Slots`], the slot list counts as changed as a
    /// whole (readers reload it): use [`Feed::publish_slots`] when the
    /// slots that changed are known.
    pub fn publish(&self, topics: &[Topic]) {
        self.record(topics, None);
    }

    /// Records that `topics` changed and, among the slots, only those of
    /// `slot_ids` (their rows changed or they were deleted; never use it
    /// for created slots); [`Topic::Slots`] is implied. Readers then read
    /// just those rows, unless the window's changes exceed
    /// [`MAX_SLOT_IDS`] or another publish in it did not name its slots.
    /// An empty `slot_ids` says no row changed (capacity given back, say).
    pub fn publish_slots(&self, topics: &[Topic], slot_ids: &[i64]) {
        let mut all = topics.to_vec();
        if !all.contains(&Topic::Slots) {
            all.push(Topic::Slots);
        }
        self.record(&all, Some(slot_ids));
    }

    fn record(&self, topics: &[Topic], slot_ids: Option<&[i64]>) {
        if !self.inner.enabled || topics.is_empty() {
            return;
        }
        let mut pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        let was_empty = pending.is_empty();
        pending.add(topics, slot_ids);
        drop(pending);
        if was_empty {
            self.inner.wake.notify_one();
        }
        let _ = self.inner.here.send(Topics::of(topics));
    }

    /// Receives this instance's own publishes from now on, as they are
    /// made: what wakes this instance's dispatcher at once after a release
    /// here (its `NOTIFY`, which every instance hears, follows). Only an
    /// enabled feed delivers anything.
    pub fn subscribe_here(&self) -> broadcast::Receiver<Topics> {
        self.inner.here.subscribe()
    }

    /// The feed's lag metric: from a notice's `NOTIFY` to its delivery
    /// here (see [`crate::metrics`]).
    pub fn lag(&self) -> &FeedLag {
        &self.inner.lag
    }

    /// Receives every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.inner.tx.subscribe()
    }

    /// Delivers an event to local subscribers only (e.g. a resync request).
    pub fn emit_local(&self, event: ChangeEvent) {
        let _ = self.inner.tx.send(event);
    }

    fn take_pending(&self) -> notice::Notice {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Sends whatever is pending now, in one `NOTIFY`, after any flush
    /// already under way has finished.
    pub async fn flush(&self, db: &PgPool) -> crate::Result<()> {
        let _flushing = self.inner.flushing.lock().await;
        let notice = self.take_pending();
        if notice.topics.is_empty() {
            return Ok(());
        }
        let payload = Payload {
            origin: self.inner.origin,
            topics: notice.topics.clone(),
            sent_at_ms: Some(unix_ms()),
            slots: notice.slot_ids.clone(),
        }
        .encode()
        .map_err(|e| crate::Error::new(crate::ErrorCode::Internal, e.to_string()))?;
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(db)
            .await
        {
            // Keep the topics for the next try; the database may be back soon.
            self.inner
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .restore(notice);
            return Err(e.into());
        }
        Ok(())
    }

    /// Starts the flusher and the listener; abort the handles to stop them.
    pub fn spawn(&self, db: PgPool) -> Vec<JoinHandle<()>> {
        if !self.inner.enabled {
            return Vec::new();
        }
        let flusher = self.spawn_flusher(db.clone());
        let listener = {
            let feed = self.clone();
            tokio::spawn(async move { feed.listen(db).await })
        };
        flusher.into_iter().chain([listener]).collect()
    }

    /// Starts the flusher only: this instance's changes are announced, but
    /// it hears nobody's (no `LISTEN` connection), for a process that has
    /// no subscriber (a one-shot CLI command). Abort the handle to stop it.
    pub fn spawn_flusher(&self, db: PgPool) -> Option<JoinHandle<()>> {
        if !self.inner.enabled {
            return None;
        }
        let feed = self.clone();
        Some(tokio::spawn(async move {
            // The first change after a quiet window goes out at once (the
            // other instances' dispatchers wait for it); what follows within
            // the window is gathered into the next notice. Still at most one
            // notice per window.
            loop {
                feed.inner.wake.notified().await;
                if let Err(e) = feed.flush(&db).await {
                    tracing::warn!(error = %e, "change feed: notify failed; will retry");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    feed.inner.wake.notify_one();
                    continue;
                }
                tokio::time::sleep(COALESCE_WINDOW).await;
            }
        }))
    }

    /// Records a received notice's lag (before its event is delivered, so
    /// a subscriber that saw the event sees it counted).
    fn observe_lag(&self, p: &Payload) {
        if let Some(sent) = p.sent_at_ms {
            let origin = if p.origin == self.inner.origin {
                Origin::Local
            } else {
                Origin::Peer
            };
            self.inner.lag.observe(origin, sent, unix_ms());
        }
    }

    async fn listen(&self, db: PgPool) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut listener = match PgListener::connect_with(&db).await {
                Ok(l) => l,
                Err(e) => {
                    self.emit_local(ChangeEvent::Disconnected {
                        message: e.to_string(),
                    });
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                self.emit_local(ChangeEvent::Disconnected {
                    message: e.to_string(),
                });
                tokio::time::sleep(backoff).await;
                continue;
            }
            backoff = Duration::from_millis(200);
            self.emit_local(ChangeEvent::Resync);
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match serde_json::from_str::<Payload>(n.payload()) {
                        Ok(p) => {
                            self.observe_lag(&p);
                            self.emit_local(ChangeEvent::Changed {
                                origin: p.origin,
                                slot_ids: p.slots.filter(|_| p.topics.contains(&Topic::Slots)),
                                topics: p.topics,
                            })
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change feed: unreadable notice ignored")
                        }
                    },
                    Ok(None) => {
                        // Connection lost and re-established: notices may be missing.
                        self.emit_local(ChangeEvent::Resync);
                    }
                    Err(e) => {
                        self.emit_local(ChangeEvent::Disconnected {
                            message: e.to_string(),
                        });
                        break;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
        }
    }
}
