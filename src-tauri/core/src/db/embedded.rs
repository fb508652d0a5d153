// PLACEHOLDER (lead engineer) — helper replaces this file with the real implementation.
use crate::error::{Error, ErrorCode, Result};
/// Embedded cluster (placeholder).
pub struct EmbeddedPostgres;
impl EmbeddedPostgres {
    /// Placeholder.
    pub async fn start(_data_dir: &std::path::Path) -> Result<EmbeddedPostgres> {
        Err(Error::new(ErrorCode::EmbeddedDatabase, "not yet"))
    }
    /// Placeholder.
    pub fn url(&self) -> String {
        String::new()
    }
    /// Placeholder.
    pub async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}
/// Placeholder.
pub fn default_data_dir() -> std::path::PathBuf {
    std::path::PathBuf::from("/tmp/berth")
}
