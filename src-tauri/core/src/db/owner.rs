//! Which process stops the embedded server.
//!
//! The process that starts the server takes an exclusive lock on
//! `<data_dir>/server.lock` and holds it while it runs. The kernel releases
//! the lock when that process ends in any way, SIGKILL included, so a
//! running server whose lock is free has no live owner: it was orphaned by
//! a killed process, or left to other clients by an owner that exited. The
//! next Berth process to find it free takes it over (adopts the server),
//! and stops the server on its own clean exit unless other clients are
//! still connected. At most one live process holds the lock, so two
//! processes never both believe they own the server.

use crate::error::{Error, ErrorCode, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file in a data directory.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("server.lock")
}

/// Ownership of the embedded server: the held lock. Dropping it (or the
/// process ending) releases it.
#[derive(Debug)]
pub struct Ownership {
    _lock: File,
}

/// Takes ownership if no live process holds it: `Ok(None)` when another
/// process does. The lock file is created on first use.
pub fn try_take(path: &Path) -> Result<Option<Ownership>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_error(path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Ownership { _lock: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(io_error(path, &e)),
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::EmbeddedDatabase,
        format!(
            "embedded PostgreSQL: cannot lock {}: {e}; check the data directory's permissions or set BERTH_DATA_DIR",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("berth-owner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = lock_path(&dir);
        let first = try_take(&path).unwrap().expect("free at first");
        // Another open file description (as another process would have) is refused.
        assert!(try_take(&path).unwrap().is_none(), "held by the first");
        drop(first);
        assert!(
            try_take(&path).unwrap().is_some(),
            "free again once dropped"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
