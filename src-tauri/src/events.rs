//! The core's change feed, forwarded to the web view as a typed event.

use berth_core::feed;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::sync::Mutex;
use tauri::AppHandle;
use tauri_specta::Event;
use tokio::sync::broadcast;

/// What kind of change event this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// Some instance committed changes on `topics`: refresh what shows them.
    Changed,
    /// Notices may have been missed (reconnect, or this window fell behind): reload everything.
    Resync,
    /// The live feed lost the database (`message` says why); events stop until it is back.
    Disconnected,
}

/// A change of Berth's shared state, as the UI receives it (the event name
/// is `change-event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// What kind of event.
    pub kind: ChangeKind,
    /// What changed (empty for `resync` and `disconnected`).
    pub topics: Vec<feed::Topic>,
    /// Why the feed is disconnected.
    pub message: Option<String>,
    /// With the `slots` topic: the only slots that changed (read just those
    /// rows with `slots_by_ids`; one missing there was deleted). `null`:
    /// the slot list may have changed as a whole, read it again.
    #[specta(type = Option<Vec<specta_typescript::Number>>)]
    pub slot_ids: Option<Vec<i64>>,
}

impl From<feed::ChangeEvent> for ChangeEvent {
    fn from(e: feed::ChangeEvent) -> Self {
        match e {
            feed::ChangeEvent::Changed {
                topics, slot_ids, ..
            } => ChangeEvent {
                kind: ChangeKind::Changed,
                topics,
                message: None,
                slot_ids,
            },
            feed::ChangeEvent::Resync => ChangeEvent {
                kind: ChangeKind::Resync,
                topics: Vec::new(),
                message: None,
                slot_ids: None,
            },
            feed::ChangeEvent::Disconnected { message } => ChangeEvent {
                kind: ChangeKind::Disconnected,
                topics: Vec::new(),
                message: Some(message),
                slot_ids: None,
            },
        }
    }
}

/// How the feed has been doing, for `connection_status`.
#[derive(Debug, Default)]
pub struct FeedHealth {
    inner: Mutex<(Option<DateTime<Utc>>, bool)>,
}

impl FeedHealth {
    /// Records an event seen at `at`.
    pub fn saw(&self, event: &ChangeEvent, at: DateTime<Utc>) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = Some(at);
        g.1 = event.kind != ChangeKind::Disconnected;
    }

    /// The last event's time and whether the feed is connected.
    pub fn get(&self) -> (Option<DateTime<Utc>>, bool) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Forwards every feed event to the web view until the feed closes. A
/// window that fell behind gets a `resync` instead of the missed events.
pub async fn forward(
    app: AppHandle,
    mut rx: broadcast::Receiver<feed::ChangeEvent>,
    clock: std::sync::Arc<dyn berth_core::clock::Clock>,
    health: std::sync::Arc<FeedHealth>,
) {
    loop {
        let event: ChangeEvent = match rx.recv().await {
            Ok(e) => e.into(),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(missed = n, "change feed: window fell behind; resync");
                feed::ChangeEvent::Resync.into()
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        health.saw(&event, clock.now());
        tracing::debug!(kind = ?event.kind, topics = ?event.topics, slots = ?event.slot_ids.as_ref().map(Vec::len), "change event to the window");
        if let Err(e) = event.emit(&app) {
            tracing::warn!(error = %e, "change event not delivered to the window");
        }
    }
}
