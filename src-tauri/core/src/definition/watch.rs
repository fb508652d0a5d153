//! Watching the pools directory for files changed outside Berth.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorCode, Result};

/// Watches a pools directory for `*.yaml` files created, changed or removed
/// outside Berth. Dropping it stops watching.
pub struct Watching {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long a burst of file events (an editor's save, a `git pull`) is
/// gathered into one notification.
pub const WATCH_COALESCE: Duration = Duration::from_millis(150);

/// Calls `on_change` with the `*.yaml` files of `dir` that changed, once per
/// burst of file-system events (see [`WATCH_COALESCE`]). Runs on the current
/// Tokio runtime.
pub fn watch(dir: &Path, on_change: impl Fn(Vec<PathBuf>) + Send + 'static) -> Result<Watching> {
    use notify::Watcher;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            for path in event.paths {
                if path.extension().is_some_and(|x| x == "yaml") {
                    let _ = tx.send(path);
                }
            }
        }
    })
    .map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("cannot watch {}: {e}", dir.display()),
        )
    })?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| {
            Error::new(
                ErrorCode::NotFound,
                format!("cannot watch the pools directory {}: {e}", dir.display()),
            )
        })?;
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = vec![first];
            let window = tokio::time::sleep(WATCH_COALESCE);
            tokio::pin!(window);
            loop {
                tokio::select! {
                    _ = &mut window => break,
                    more = rx.recv() => match more {
                        Some(p) => changed.push(p),
                        None => break,
                    },
                }
            }
            changed.sort();
            changed.dedup();
            on_change(changed);
        }
    });
    Ok(Watching {
        _watcher: watcher,
        task,
    })
}
