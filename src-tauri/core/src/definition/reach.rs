//! Whether the deployment platforms a definition may use answer now (part
//! of testing a definition before applying it).

use serde::Serialize;
use sqlx::PgPool;

use super::model::PoolDefinition;
use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::platform::{Health, Platforms};
use crate::settings;

/// One platform's answer to its health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach {
    /// The platform.
    pub platform: PlatformKind,
    /// Its health now; `None` when this instance has no adapter for it.
    pub health: Option<Health>,
}

impl Reach {
    /// `healthy`, `degraded`, `down`, `unknown`, or `unavailable` (no adapter).
    pub fn health_str(&self) -> &'static str {
        self.health.map_or("unavailable", Health::as_str)
    }

    /// Why it is not healthy, in plain words.
    pub fn detail(&self) -> Option<&'static str> {
        match self.health {
            None => Some("no adapter is configured for it in this instance"),
            Some(Health::Healthy) => None,
            Some(Health::Degraded) => Some("answering, with problems"),
            Some(Health::Down) => Some("not answering its health check"),
            Some(Health::Unknown) => Some("the health check could not run"),
        }
    }
}

/// Probes each platform `def` may use (its own list, else the routable
/// platforms in the global priority order) with its adapter's health
/// check, now, in that order.
pub async fn reachability(
    db: &PgPool,
    platforms: &Platforms,
    def: &PoolDefinition,
) -> Result<Vec<Reach>> {
    let order: Vec<PlatformKind> = match &def.platforms {
        Some(list) => list.clone(),
        // The platforms the router would try: enabled, with a limit.
        None => settings::load(db)
            .await?
            .routable()
            .map(|p| p.platform)
            .collect(),
    };
    let mut out = Vec::with_capacity(order.len());
    for platform in order {
        let health = match platforms.get(platform) {
            None => None,
            Some(adapter) => Some(adapter.health().await),
        };
        out.push(Reach { platform, health });
    }
    Ok(out)
}
