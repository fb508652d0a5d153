//! The running core, as Tauri managed state.
//!
//! The core starts in the background when the app starts; commands wait for
//! it. If it fails to start, the window still opens and every command
//! returns the start-up error (typed), so the UI can show it, until a retry
//! succeeds.

use berth_core::demo::Traffic;
use berth_core::Berth;
use std::sync::Arc;
use tokio::sync::watch;

use crate::dto::{CommandError, CommandResult};
use crate::events::FeedHealth;

/// Where the core is in its life.
#[derive(Clone)]
pub enum Phase {
    /// The core is starting.
    Starting,
    /// Running.
    Ready(Arc<Berth>),
    /// Start-up failed with this error.
    Failed(CommandError),
    /// Shut down (the app is exiting).
    Stopped,
}

/// Managed state: the core's phase, the feed's health and, with `--demo`,
/// the demo traffic generator.
pub struct Core {
    phase: watch::Sender<Phase>,
    /// Last change-feed event and whether the feed is connected.
    pub feed: Arc<FeedHealth>,
    demo: std::sync::Mutex<Option<Traffic>>,
    watching: std::sync::Mutex<Option<berth_core::definition::Watching>>,
}

impl Default for Core {
    fn default() -> Self {
        Core {
            phase: watch::Sender::new(Phase::Starting),
            feed: Arc::default(),
            demo: std::sync::Mutex::new(None),
            watching: std::sync::Mutex::new(None),
        }
    }
}

impl Core {
    /// The running core, waiting while it starts.
    pub async fn get(&self) -> CommandResult<Arc<Berth>> {
        let mut rx = self.phase.subscribe();
        let phase = rx
            .wait_for(|p| !matches!(p, Phase::Starting))
            .await
            .map_err(|_| stopped())?
            .clone();
        match phase {
            Phase::Ready(b) => Ok(b),
            Phase::Failed(e) => Err(e),
            Phase::Starting | Phase::Stopped => Err(stopped()),
        }
    }

    /// The running core, if it runs now (no waiting).
    pub fn ready(&self) -> Option<Arc<Berth>> {
        match &*self.phase.borrow() {
            Phase::Ready(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// Starts the core (configuration and database from the process
    /// environment, background services on; see [`Berth::from_env`]) and
    /// records the outcome.
    pub async fn start(&self, dev: bool) -> CommandResult<Arc<Berth>> {
        let started = match Berth::from_env(dev) {
            Ok(builder) => builder.background(true).start().await,
            Err(e) => Err(e),
        };
        match started {
            Ok(b) => {
                if self.is_stopped() {
                    // The app began exiting while the core started.
                    let _ = b.shutdown().await;
                    return Err(stopped());
                }
                let b = Arc::new(b);
                self.phase.send_replace(Phase::Ready(b.clone()));
                Ok(b)
            }
            Err(e) => {
                let e = CommandError::from(e);
                if !self.is_stopped() {
                    self.phase.send_replace(Phase::Failed(e.clone()));
                }
                Err(e)
            }
        }
    }

    /// Whether the app is exiting.
    pub fn is_stopped(&self) -> bool {
        matches!(*self.phase.borrow(), Phase::Stopped)
    }

    /// Starts demo traffic through the running core (development mode only;
    /// the caller checks). Replaces any earlier generator.
    pub fn start_demo(&self, berth: &Berth) {
        let traffic = Traffic::start(berth.router().clone());
        let mut demo = self.demo.lock().unwrap_or_else(|p| p.into_inner());
        *demo = Some(traffic);
    }

    /// Watches the pools directory: a definition file created, edited or
    /// removed outside the app (an editor, `git pull`) announces the `pools`
    /// topic to this window, so the Pools view shows it as pending at once.
    /// A directory that cannot be watched is logged, not fatal.
    pub fn watch_pools(&self, berth: &Berth, dir: &std::path::Path) {
        use berth_core::feed::{ChangeEvent, Topic};
        if let Err(e) = berth_core::definition::seed(dir) {
            tracing::warn!(error = %e, "pools directory not created");
        }
        let feed = berth.router().feed().clone();
        let origin = berth.id;
        match berth_core::definition::watch(dir, move |paths| {
            tracing::debug!(?paths, "pool definition files changed");
            feed.emit_local(ChangeEvent::Changed {
                origin,
                topics: vec![Topic::Pools],
                slot_ids: None,
            });
        }) {
            Ok(w) => {
                *self.watching.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
            }
            Err(e) => tracing::warn!(error = %e, "pools directory not watched"),
        }
    }

    /// Takes the demo traffic generator out, to stop it before shutdown.
    pub fn take_demo(&self) -> Option<Traffic> {
        self.demo.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Takes the core out for shutdown; later commands get an error.
    pub fn take(&self) -> Option<Arc<Berth>> {
        match self.phase.send_replace(Phase::Stopped) {
            Phase::Ready(b) => Some(b),
            _ => None,
        }
    }
}

fn stopped() -> CommandError {
    CommandError::new(berth_core::ErrorCode::Internal, "Berth is shutting down")
}
