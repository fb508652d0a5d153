//! Closing the main window (issue 11, item 23).
//!
//! Closing the window used to stop the dispatcher and the embedded database
//! without a word, even with bots queued that no other instance would
//! dispatch. Now a close request (the window manager's close button, or
//! `Window::close`) is held with `prevent_close` and handed to the web view
//! as the typed [`CloseRequested`] event, with what closing would stop
//! ([`berth_core::departure`]). The web view answers with [`answer_close`]:
//!
//! - `quit`: the app exits as before (the core stops gracefully);
//! - `background`: the window hides and the process keeps dispatching until
//!   no bot is queued or another instance serves them, then exits;
//! - `cancel`: nothing happens;
//! - `asking`: the question is on screen; the user decides.
//!
//! A web view that does not answer within [`ANSWER_WITHIN`] (not loaded
//! yet, or broken) does not keep the window open: the app quits, as the
//! user asked. Ctrl-C and SIGTERM always quit without asking.
//!
//! Why "background" ends when the queue is drained: without a tray icon
//! (it needs system libraries this app does without) a hidden window cannot
//! be clicked back, and a process that served headless forever would be the
//! very orphan this item is about. Queued work is bounded (every request
//! has a queue deadline), so the background run is too. Starting Berth
//! again reopens it in effect: the new instance serves, and the hidden one,
//! seeing another live instance, exits cleanly.

use berth_core::departure::{self, Departure, EmbeddedFate};
use serde::{Deserialize, Serialize};
use specta::Type;
use specta_typescript::Number;
use std::sync::Mutex;
use std::time::Duration;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use crate::dto::CommandResult;
use crate::state::Core;

/// How long the web view has to answer a close request.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How long looking up what closing would stop may take before the question
/// is asked without it.
const LOOK_WITHIN: Duration = Duration::from_secs(3);
/// How often the background run checks whether work is left.
const DRAIN_CHECK: Duration = Duration::from_secs(1);

/// What the embedded database does when the app exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum EmbeddedDatabase {
    /// `DATABASE_URL` is used: not the app's to stop.
    NotEmbedded,
    /// It stops with the app.
    Stops,
    /// Other clients use it: it keeps running.
    KeepsRunning,
}

/// What closing the app now would stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CloseImpact {
    /// Bots waiting for capacity.
    #[specta(type = Number)]
    pub queued: i64,
    /// Bots waiting for their start time.
    #[specta(type = Number)]
    pub scheduled: i64,
    /// Bots deploying or running (they keep running on their platforms).
    #[specta(type = Number)]
    pub active: i64,
    /// Other live Berth instances, which dispatch when this one is gone.
    #[specta(type = Number)]
    pub other_instances: i64,
    /// The embedded database's fate.
    pub embedded_database: EmbeddedDatabase,
    /// Closing stops dispatching queued bots (nobody else would): the app
    /// then asks, and offers to keep dispatching in the background.
    pub stops_dispatching: bool,
    /// Closing leaves scheduled bots with nobody to start them (nobody else
    /// would): the app then asks (background mode does not wait for them).
    pub stops_starting: bool,
}

impl From<Departure> for CloseImpact {
    fn from(d: Departure) -> Self {
        CloseImpact {
            stops_dispatching: d.stops_dispatching(),
            stops_starting: d.stops_starting(),
            queued: d.queued,
            scheduled: d.scheduled,
            active: d.active,
            other_instances: d.other_instances,
            embedded_database: match d.embedded {
                EmbeddedFate::NotEmbedded => EmbeddedDatabase::NotEmbedded,
                EmbeddedFate::Stops => EmbeddedDatabase::Stops,
                EmbeddedFate::KeepsRunning => EmbeddedDatabase::KeepsRunning,
            },
        }
    }
}

/// The window was asked to close (the event name is `close-requested`):
/// answer with `answer_close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct CloseRequested {
    /// What closing would stop; `null` when the core does not run or the
    /// database did not say in time.
    pub impact: Option<CloseImpact>,
}

/// The web view's answer to a close request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum CloseAnswer {
    /// The question is on screen: wait for the user.
    Asking,
    /// Exit now.
    Quit,
    /// Hide the window and keep dispatching until no bot is queued.
    Background,
    /// Keep the window open.
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Open,
    /// A close request was handed to the web view (`shown`: it said it asks).
    Asking {
        shown: bool,
    },
    Background,
    Quitting,
}

/// Managed state: where closing is.
#[derive(Default)]
pub struct Closing {
    state: Mutex<(Phase, u64)>,
}

impl Closing {
    fn with<T>(&self, f: impl FnOnce(&mut Phase, &mut u64) -> T) -> T {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (phase, asked) = &mut *g;
        f(phase, asked)
    }
}

/// Handles the main window's close request (from `on_window_event`): held
/// and handed to the web view, unless the app is already quitting.
pub fn on_close_requested(app: &AppHandle, api: &tauri::CloseRequestApi) {
    let closing = app.state::<Closing>();
    let ask = closing.with(|phase, asked| {
        if *phase == Phase::Quitting {
            return None;
        }
        *phase = Phase::Asking { shown: false };
        *asked += 1;
        Some(*asked)
    });
    if let Some(ask) = ask {
        api.prevent_close();
        tauri::async_runtime::spawn(ask_web_view(app.clone(), ask));
    }
}

async fn ask_web_view(app: AppHandle, ask: u64) {
    let impact = match app.state::<Core>().ready() {
        Some(berth) => match tokio::time::timeout(LOOK_WITHIN, departure::of(&berth)).await {
            Ok(Ok(d)) => Some(CloseImpact::from(d)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "closing: cannot tell what closing would stop");
                None
            }
            Err(_) => None,
        },
        None => None,
    };
    tracing::info!(?impact, "close requested");
    if let Err(e) = (CloseRequested { impact }).emit(&app) {
        tracing::warn!(error = %e, "closing: the window cannot be asked; quitting");
        quit(&app);
        return;
    }
    tokio::time::sleep(ANSWER_WITHIN).await;
    let unanswered = app
        .state::<Closing>()
        .with(|phase, asked| *asked == ask && *phase == Phase::Asking { shown: false });
    if unanswered {
        tracing::warn!(
            "closing: the window did not answer within {ANSWER_WITHIN:?}; quitting as asked"
        );
        quit(&app);
    }
}

/// Exits the app (the core stops gracefully on the way out).
fn quit(app: &AppHandle) {
    app.state::<Closing>()
        .with(|phase, _| *phase = Phase::Quitting);
    app.exit(0);
}

/// The web view's answer to the last close request.
#[tauri::command]
#[specta::specta]
pub async fn answer_close(app: AppHandle, answer: CloseAnswer) -> CommandResult<()> {
    let closing = app.state::<Closing>();
    match answer {
        CloseAnswer::Asking => closing.with(|phase, _| {
            if matches!(phase, Phase::Asking { .. }) {
                *phase = Phase::Asking { shown: true };
            }
        }),
        CloseAnswer::Cancel => closing.with(|phase, _| {
            if matches!(phase, Phase::Asking { .. }) {
                *phase = Phase::Open;
            }
        }),
        CloseAnswer::Quit => quit(&app),
        CloseAnswer::Background => serve_in_background(app).await,
    }
    Ok(())
}

/// Hides the window and keeps dispatching until no bot is queued (or
/// another instance serves them) and no deploy is under way here, then exits.
async fn serve_in_background(app: AppHandle) {
    app.state::<Closing>()
        .with(|phase, _| *phase = Phase::Background);
    if let Some(window) = app.get_webview_window("main") {
        if let Err(e) = window.hide() {
            tracing::warn!(error = %e, "closing: the window did not hide");
        }
    }
    // Demo traffic would keep the queue from ever draining.
    if let Some(traffic) = app.state::<Core>().take_demo() {
        traffic.stop().await;
    }
    tracing::warn!(
        pid = std::process::id(),
        "window closed: Berth keeps dispatching in the background until no bot is queued, then \
         exits. Starting Berth again takes over; Ctrl-C or SIGTERM stops it now."
    );
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(DRAIN_CHECK).await;
            let Some(berth) = app.state::<Core>().ready() else {
                quit(&app);
                return;
            };
            let looked = departure::of(&berth).await;
            // Deploys under way here finish first (the shutdown would wait for them).
            let deploying = berth.router().inflight().count();
            // The exit's graceful shutdown needs the only reference.
            drop(berth);
            match looked {
                Ok(d) if !d.stops_dispatching() && deploying == 0 => {
                    tracing::info!(
                        queued = d.queued,
                        other_instances = d.other_instances,
                        "background: nothing left to dispatch here; exiting"
                    );
                    quit(&app);
                    return;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "background: cannot check the queue"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_mirrors_the_departure() {
        let d = Departure {
            queued: 290,
            scheduled: 3,
            active: 4,
            other_instances: 0,
            embedded: EmbeddedFate::Stops,
        };
        let i = CloseImpact::from(d);
        assert!(i.stops_dispatching);
        assert!(i.stops_starting);
        assert_eq!(
            (i.queued, i.scheduled, i.active, i.other_instances),
            (290, 3, 4, 0)
        );
        assert_eq!(i.embedded_database, EmbeddedDatabase::Stops);
    }
}
