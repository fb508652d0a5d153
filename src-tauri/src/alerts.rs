//! Alerts on the desktop: a task runs the core's [`Watch`] on change-feed
//! events (at most one check every [`CHECK_GAP`]) and every [`TICK`], sends
//! each batch of notices to the window as the typed [`AlertsRaised`] event
//! (the in-app list) and shows one native notification per batch (folded by
//! [`alert::summary`]) through a [`Notifier`]. Only the kinds the operator
//! left on ([`AlertKinds`], set by the `set_alert_kinds` command) reach
//! either.
//!
//! [`Watcher`] is the logic without a window (the notifier and the clock
//! are the caller's), so tests drive it check by check.

use berth_core::alert::{self, AlertKind, Notice, Watch};
use berth_core::clock::Clock;
use berth_core::feed;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use specta::Type;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, State};
use tauri_specta::Event;
use tokio::sync::broadcast;

use crate::dto::CommandResult;

/// Checks asked for by change events are at least this far apart.
pub const CHECK_GAP: Duration = Duration::seconds(2);

/// A check runs at least this often (conditions the feed does not announce,
/// such as a platform's health, and bots expiring in the queue).
pub const TICK: std::time::Duration = std::time::Duration::from_secs(15);

/// Notices that began or ended at one check, of the kinds left on (the
/// event name is `alerts-raised`). Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct AlertsRaised {
    /// In the order the check found them.
    pub notices: Vec<Notice>,
}

/// Shows a native notification. Implementations must not block (the
/// watcher calls it from its task).
pub trait Notifier: Send + Sync {
    /// Shows one notification.
    fn show(&self, title: &str, body: &str);
}

/// The real notifier: Tauri's notification plugin, called from Rust, so
/// the web view needs no notification permission.
pub struct PluginNotifier(pub AppHandle);

impl Notifier for PluginNotifier {
    fn show(&self, title: &str, body: &str) {
        use tauri_plugin_notification::NotificationExt;
        let shown = self
            .0
            .notification()
            .builder()
            .title(title)
            .body(body)
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "notification not shown");
        }
    }
}

/// A notifier that records what it was asked to show (for tests).
#[derive(Debug, Default)]
pub struct Recording {
    shown: Mutex<Vec<(String, String)>>,
}

impl Recording {
    /// What was shown so far, as (title, body), oldest first.
    pub fn shown(&self) -> Vec<(String, String)> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Notifier for Recording {
    fn show(&self, title: &str, body: &str) {
        self.shown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((title.to_string(), body.to_string()));
    }
}

/// The alert kinds the operator left on (managed state; every kind until
/// the window says otherwise).
#[derive(Debug)]
pub struct AlertKinds(Mutex<BTreeSet<AlertKind>>);

impl Default for AlertKinds {
    fn default() -> Self {
        AlertKinds(Mutex::new(
            [
                AlertKind::Exhausted,
                AlertKind::PlatformDown,
                AlertKind::SlotsFailing,
                AlertKind::BotsExpired,
            ]
            .into(),
        ))
    }
}

impl AlertKinds {
    /// Leaves exactly `enabled` on.
    pub fn set(&self, enabled: impl IntoIterator<Item = AlertKind>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = enabled.into_iter().collect();
    }

    /// Whether `kind` is on.
    pub fn is_on(&self, kind: AlertKind) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&kind)
    }
}

/// How many notices the shell keeps for a window that opens (or reloads)
/// after they were sent.
pub const KEPT: usize = 100;

/// The latest notices sent to the window, oldest first, at most [`KEPT`]
/// (managed state): a window that starts listening after a batch was sent
/// (the first check runs as soon as the core starts) reads them with
/// `recent_alerts`.
#[derive(Debug, Default)]
pub struct AlertLog(Mutex<std::collections::VecDeque<Notice>>);

impl AlertLog {
    /// Keeps `notices`, dropping the oldest beyond [`KEPT`].
    pub fn push(&self, notices: &[Notice]) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.extend(notices.iter().cloned());
        while log.len() > KEPT {
            log.pop_front();
        }
    }

    /// The notices kept, oldest first.
    pub fn recent(&self) -> Vec<Notice> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// The watcher's logic: one [`Watch`], the kinds left on and a notifier.
pub struct Watcher {
    watch: Watch,
    kinds: Arc<AlertKinds>,
    notifier: Arc<dyn Notifier>,
}

impl Watcher {
    /// A watcher that has not checked yet.
    pub fn new(kinds: Arc<AlertKinds>, notifier: Arc<dyn Notifier>) -> Watcher {
        Watcher {
            watch: Watch::new(),
            kinds,
            notifier,
        }
    }

    /// Checks the conditions (read-only) and returns the notices of the
    /// kinds left on, after showing them as one notification (none when
    /// there are none). A notice of a kind switched off is dropped, and
    /// its condition still tracked (so it is not announced when switched
    /// back on while it holds).
    pub async fn check(
        &mut self,
        db: &PgPool,
        now: DateTime<Utc>,
    ) -> berth_core::Result<Vec<Notice>> {
        let notices: Vec<Notice> = self
            .watch
            .check(db, now)
            .await?
            .into_iter()
            .filter(|n| self.kinds.is_on(n.kind))
            .collect();
        if let Some((title, body)) = alert::summary(&notices) {
            self.notifier.show(&title, &body);
        }
        Ok(notices)
    }
}

/// When checks asked for by change events may run: at once, or [`CHECK_GAP`]
/// after the previous check.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<DateTime<Utc>>,
}

impl Throttle {
    /// When a check asked for at `now` may run (`now` or later).
    pub fn when(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.last {
            Some(last) if now - last < CHECK_GAP => last + CHECK_GAP,
            _ => now,
        }
    }

    /// Records a check that ran at `at`.
    pub fn ran(&mut self, at: DateTime<Utc>) {
        self.last = Some(at);
    }
}

/// Runs `watcher` until the feed closes (the core stopping): a check on
/// change events (throttled) and every [`TICK`]; every non-empty batch goes
/// to the window as [`AlertsRaised`] and into `log`. Holds the database pool, not the
/// core, so the core's shutdown does not wait for it.
pub async fn run(
    app: AppHandle,
    mut watcher: Watcher,
    log: Arc<AlertLog>,
    db: PgPool,
    clock: Arc<dyn Clock>,
    mut rx: broadcast::Receiver<feed::ChangeEvent>,
) {
    let mut throttle = Throttle::default();
    let mut due: Option<DateTime<Utc>> = None;
    let mut tick = tokio::time::interval(TICK);
    loop {
        let wait = due.map(|d| (d - clock.now()).to_std().unwrap_or_default());
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            event = rx.recv() => {
                match event {
                    Ok(feed::ChangeEvent::Disconnected { .. }) => {}
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        let at = throttle.when(clock.now());
                        due = Some(due.map_or(at, |d| d.min(at)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                continue;
            }
        }
        let now = clock.now();
        throttle.ran(now);
        due = None;
        match watcher.check(&db, now).await {
            Ok(notices) if notices.is_empty() => {}
            Ok(notices) => {
                log.push(&notices);
                let event = AlertsRaised { notices };
                if let Err(e) = event.emit(&app) {
                    tracing::warn!(error = %e, "alerts not delivered to the window");
                }
            }
            Err(e) => tracing::debug!(error = %e, "alert check failed; retried on the next tick"),
        }
    }
}

/// Leaves exactly these alert kinds on (the window keeps the choice and
/// sends it at start and on every change). Shown and listed alerts only;
/// conditions are tracked regardless.
#[tauri::command]
#[specta::specta]
pub fn set_alert_kinds(
    kinds: State<'_, Arc<AlertKinds>>,
    enabled: Vec<AlertKind>,
) -> CommandResult<()> {
    kinds.set(enabled);
    Ok(())
}

/// The latest alerts sent to the window (at most [`KEPT`], oldest first),
/// of the kinds that were on when they were sent.
#[tauri::command]
#[specta::specta]
pub fn recent_alerts(log: State<'_, Arc<AlertLog>>) -> CommandResult<Vec<Notice>> {
    Ok(log.recent())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn change_events_check_at_most_once_every_gap() {
        let mut t = Throttle::default();
        assert_eq!(t.when(at(0)), at(0), "first check at once");
        t.ran(at(0));
        assert_eq!(t.when(at(500)), at(2000), "too soon: after the gap");
        assert_eq!(t.when(at(2000)), at(2000));
        assert_eq!(t.when(at(9000)), at(9000));
    }

    #[test]
    fn the_log_keeps_the_latest_notices() {
        let log = AlertLog::default();
        let notice = |n: usize| Notice {
            kind: AlertKind::BotsExpired,
            key: String::new(),
            raised: true,
            title: format!("{n}"),
            body: String::new(),
            at: at(0),
        };
        let all: Vec<Notice> = (0..KEPT + 3).map(notice).collect();
        log.push(&all[..2]);
        log.push(&all[2..]);
        let kept = log.recent();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0].title, "3");
        assert_eq!(kept[KEPT - 1].title, format!("{}", KEPT + 2));
    }

    #[test]
    fn every_kind_is_on_until_set() {
        let kinds = AlertKinds::default();
        assert!(kinds.is_on(AlertKind::BotsExpired));
        kinds.set([AlertKind::PlatformDown]);
        assert!(kinds.is_on(AlertKind::PlatformDown));
        assert!(!kinds.is_on(AlertKind::Exhausted));
    }
}
