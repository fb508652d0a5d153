//! Image pulls: only the first deploy of an image per platform waits.
//!
//! The earlier system serialised *every* deploy of an image behind a lock.
//! Here each `(platform, image)` has a once-cell: the first caller pulls,
//! callers arriving during that pull wait for it, and every later caller
//! passes straight through. A pull already recorded in the shared database
//! (by any instance) is not repeated. A failed pull is forgotten so the next
//! deploy tries again.

use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

use super::{Platform, PlatformError};
use crate::meeting::PlatformKind;

type Cell = Arc<OnceCell<()>>;

/// Remembers which images each platform already holds.
#[derive(Default)]
pub struct ImageGate {
    cells: Mutex<HashMap<(PlatformKind, String), Cell>>,
}

impl ImageGate {
    /// A gate that knows of no pulled image yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn cell(&self, kind: PlatformKind, image: &str) -> Cell {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells
            .entry((kind, image.to_string()))
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone()
    }

    /// Returns once `image` is on `platform`, pulling it if nobody has yet.
    /// Returns `true` when this call waited for a pull (its own or another's).
    pub async fn ensure(
        &self,
        db: &PgPool,
        platform: &dyn Platform,
        image: &str,
    ) -> Result<bool, PlatformError> {
        let kind = platform.kind();
        let cell = self.cell(kind, image);
        if cell.initialized() {
            return Ok(false);
        }
        let db_err = |e: sqlx::Error| PlatformError {
            platform: kind,
            operation: "pull_image",
            kind: super::FailureKind::Other,
            message: format!("cannot record the pull: {e}"),
        };
        let result = cell
            .get_or_try_init(|| async {
                let known: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM platform_images WHERE platform = $1 AND image = $2)",
                )
                .bind(kind.as_str())
                .bind(image)
                .fetch_one(db)
                .await
                .map_err(db_err)?;
                if !known {
                    platform.pull_image(image).await?;
                    sqlx::query(
                        "INSERT INTO platform_images (platform, image) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(kind.as_str())
                    .bind(image)
                    .execute(db)
                    .await
                    .map_err(db_err)?;
                }
                Ok::<(), PlatformError>(())
            })
            .await;
        result.map(|_| true)
    }

    /// Forgets what this instance knows (used when an image is removed).
    pub fn forget(&self, kind: PlatformKind, image: &str) {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.remove(&(kind, image.to_string()));
    }
}
