//! The health board: what every instance records about each platform, and
//! why a platform must be skipped now.

use chrono::Duration;
use std::collections::HashMap;

use super::{Pass, Router};
use crate::bot::Decision;
use crate::error::Result;
use crate::meeting::PlatformKind;
use crate::platform::{self as platform, Health, PlatformState};
use crate::pool::Pool;
use crate::settings::{PlatformSettings, Settings};

/// Why a platform cannot take a request now, as its decision-trace entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ineligible {
    /// The trace decision (`Disabled`, `Drained`, `NoLimit`, `Unavailable`, `Unhealthy`).
    pub decision: Decision,
    /// Why, in words.
    pub detail: String,
}

impl Router {
    /// Records a health check's result (with why, when it is not healthy)
    /// in the database, where every instance's router reads it. Returns
    /// whether the recorded health changed.
    pub async fn record_health(
        &self,
        kind: PlatformKind,
        health: Health,
        detail: Option<&str>,
    ) -> Result<bool> {
        platform::record_health_detail(
            &self.db,
            kind,
            health,
            detail,
            self.clock.now(),
            self.feed.origin(),
        )
        .await
    }

    /// Every platform's shared state (health checks older than
    /// [`crate::instance::HEALTH_MAX_AGE_MS`] read as unknown).
    pub async fn platform_states(&self) -> Result<HashMap<PlatformKind, PlatformState>> {
        self.platform_states_on(&self.db).await
    }

    /// [`Router::platform_states`] read through `db` (a pool, a connection,
    /// or inside a transaction).
    pub async fn platform_states_on<'e>(
        &self,
        db: impl sqlx::PgExecutor<'e>,
    ) -> Result<HashMap<PlatformKind, PlatformState>> {
        platform::shared_state(
            db,
            self.clock.now(),
            Duration::milliseconds(crate::instance::HEALTH_MAX_AGE_MS),
        )
        .await
    }

    /// Why `kind` must be skipped now, if it must: its adapter here fails
    /// fast (circuit breaker open; known at once), or the state every
    /// instance shares says it is down (its last health check, by any
    /// instance, failed, or that instance's breaker is open). A one-shot
    /// command therefore routes exactly as a running instance would. A
    /// verdict older than the health maximum age no longer counts: the
    /// instance that made it may be gone, and live ones re-check far more
    /// often than that.
    pub fn skip_reason(
        &self,
        kind: PlatformKind,
        states: &HashMap<PlatformKind, PlatformState>,
    ) -> Option<String> {
        if let Some(why) = self.platforms.get(kind).and_then(|a| a.unavailable()) {
            return Some(format!("circuit breaker open: {why}"));
        }
        let s = states.get(&kind)?;
        if s.health != Health::Down {
            return None;
        }
        let (at, by) = s.checked?;
        let ago = (self.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0;
        let who = if by == self.feed.origin() {
            "this instance".to_string()
        } else {
            let id = by.to_string();
            format!("instance {}", &id[..8])
        };
        Some(format!(
            "failing its health checks: {} (recorded by {who} {ago:.1} s ago)",
            s.detail.as_deref().unwrap_or("not answering")
        ))
    }

    /// The one eligibility check of the router (and of pre-warming): whether
    /// the platform `p` may take a deploy now, and at what limit. It must be
    /// enabled, not drained by an operator, have a bot limit, have an
    /// adapter in this instance, and not be skipped for its health
    /// ([`Router::skip_reason`]) — checked in that
    /// order, the first failing one saying why. Reads nothing: `states` is
    /// the shared state the caller read.
    pub fn eligibility(
        &self,
        p: &PlatformSettings,
        states: &HashMap<PlatformKind, PlatformState>,
    ) -> std::result::Result<i32, Ineligible> {
        let kind = p.platform;
        let no = |decision, detail: String| Err(Ineligible { decision, detail });
        if !p.enabled {
            return no(Decision::Disabled, p.disabled_reason());
        }
        if let Some(d) = states.get(&kind).and_then(|s| s.drained.as_ref()) {
            let why = d
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            return no(Decision::Drained, format!("drained by {}{why}", d.by));
        }
        let Some(limit) = p.bot_limit else {
            return no(
                Decision::NoLimit,
                format!("{}_BOT_LIMIT not set", kind.env_prefix()),
            );
        };
        if self.platforms.get(kind).is_none() {
            return no(
                Decision::Unavailable,
                "no adapter configured in this instance".to_string(),
            );
        }
        match self.skip_reason(kind, states) {
            Some(why) => no(Decision::Unhealthy, why),
            None => Ok(limit),
        }
    }

    /// The platforms a pool may use, in the global priority order (or the
    /// pool's own), eligible or not; only `pinned` when an operator pinned
    /// the request to one (see [`crate::bot::action::reroute`]).
    pub(crate) fn candidates<'a>(
        &self,
        pool: &Pool,
        settings: &'a Settings,
        pinned: Option<PlatformKind>,
    ) -> Vec<&'a PlatformSettings> {
        let all: Vec<&PlatformSettings> = match &pool.allowed_platforms {
            Some(allowed) => allowed
                .iter()
                .filter_map(|k| settings.platform(*k))
                .collect(),
            None => settings.platforms.iter().collect(),
        };
        match pinned {
            Some(k) => all.into_iter().filter(|p| p.platform == k).collect(),
            None => all,
        }
    }

    /// [`Router::skip_reason`] with the shared state read now.
    pub async fn unhealthy(&self, kind: PlatformKind) -> Result<Option<String>> {
        let states = self.platform_states().await?;
        Ok(self.skip_reason(kind, &states))
    }

    /// The shared state for this pass, read on first use.
    pub(super) async fn states<'p>(
        &self,
        pass: &'p mut Pass,
    ) -> Result<&'p HashMap<PlatformKind, PlatformState>> {
        if pass.states.is_none() {
            pass.states = Some(self.platform_states().await?);
        }
        Ok(pass.states.get_or_insert_with(HashMap::new))
    }
}
