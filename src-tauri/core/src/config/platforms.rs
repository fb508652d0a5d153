//! Which platforms are enabled, in which order, with which limits
//! (`PLATFORM_PRIORITY`, `<PLATFORM>_BOT_LIMIT`, `<PLATFORM>_QUEUE_TIMEOUT_MS`).

use super::var::{number, Lookup};
use super::{invalid, PlatformConfig, Setting};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::PlatformKind;
use crate::settings::rules::{BOT_LIMIT, QUEUE_TIMEOUT_MS};

pub(super) const DEV_PRIORITY: &[PlatformKind] =
    &[PlatformKind::K8s, PlatformKind::Aws, PlatformKind::Coolify];

fn dev_limit(kind: PlatformKind) -> u32 {
    match kind {
        PlatformKind::K8s => 4,
        PlatformKind::Aws => 6,
        PlatformKind::Coolify => 8,
        PlatformKind::Local => 10,
    }
}

fn dev_queue_timeout_ms(kind: PlatformKind) -> u32 {
    match kind {
        PlatformKind::K8s => 4_000,
        PlatformKind::Aws => 2_000,
        PlatformKind::Coolify => 6_000,
        PlatformKind::Local => 2_000,
    }
}

pub(super) fn parse_priority(raw: &str, dev: bool) -> Result<Vec<PlatformKind>> {
    const VAR: &str = "PLATFORM_PRIORITY";
    if raw.trim().is_empty() {
        return Err(Error::config(
            ErrorCode::ConfigMissing,
            VAR,
            "must not be empty; list platforms by priority, e.g. PLATFORM_PRIORITY=k8s,aws,coolify",
        ));
    }
    let mut out = Vec::new();
    for (i, part) in raw.split(',').enumerate() {
        let name = part.trim();
        if name.is_empty() {
            return Err(invalid(VAR, format!("entry {} is empty in {raw:?}", i + 1)));
        }
        let kind: PlatformKind = name.to_ascii_lowercase().parse().map_err(|_| {
            let expected = if dev {
                "k8s, aws, coolify or local"
            } else {
                "k8s, aws or coolify"
            };
            invalid(
                VAR,
                format!("unknown platform {name:?}; expected {expected}"),
            )
        })?;
        if kind == PlatformKind::Local && !dev {
            return Err(Error::config(
                ErrorCode::PlatformRefused,
                VAR,
                "`local` is not allowed outside development mode (production safety); run with --dev to use the simulator",
            ));
        }
        if out.contains(&kind) {
            return Err(invalid(VAR, format!("lists {name:?} twice")));
        }
        out.push(kind);
    }
    Ok(out)
}

/// The enabled platforms: those of `priority` with a bot limit (any limit
/// in development mode), in priority order. A platform listed without a
/// limit, or with settings but not listed, adds a warning; none enabled is
/// an error naming `PLATFORM_PRIORITY`.
pub(super) fn parse(
    get: &Lookup<'_>,
    priority: &[PlatformKind],
    dev: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<PlatformConfig>> {
    let mut platforms = Vec::new();
    for kind in PlatformKind::ALL {
        let limit_var = format!("{}_BOT_LIMIT", kind.env_prefix());
        let timeout_var = format!("{}_QUEUE_TIMEOUT_MS", kind.env_prefix());
        let limit = number(get, &limit_var, BOT_LIMIT)?;
        let timeout = number(get, &timeout_var, QUEUE_TIMEOUT_MS)?;
        let Some(position) = priority.iter().position(|k| k == kind) else {
            if limit.is_some() || timeout.is_some() {
                warnings.push(format!(
                    "{} is not in PLATFORM_PRIORITY; {limit_var}/{timeout_var} are ignored",
                    kind.as_str()
                ));
            }
            continue;
        };
        let bot_limit = match limit {
            Some(n) => Setting::pinned(n, &limit_var),
            None if dev => Setting::default(dev_limit(*kind)),
            None => {
                warnings.push(format!(
                    "{} is skipped: {limit_var} is not set",
                    kind.as_str()
                ));
                continue;
            }
        };
        let queue_timeout_ms = match timeout {
            Some(n) => Setting::pinned(n, &timeout_var),
            None if dev => Setting::default(dev_queue_timeout_ms(*kind)),
            None => Setting::default(kind.default_queue_timeout_ms()),
        };
        platforms.push((
            position,
            PlatformConfig {
                kind: *kind,
                bot_limit,
                queue_timeout_ms,
            },
        ));
    }
    platforms.sort_by_key(|(position, _)| *position);
    let platforms: Vec<PlatformConfig> = platforms.into_iter().map(|(_, p)| p).collect();
    if platforms.is_empty() {
        let vars: Vec<String> = priority
            .iter()
            .map(|k| format!("{}_BOT_LIMIT", k.env_prefix()))
            .collect();
        return Err(Error::config(
            ErrorCode::ConfigMissing,
            "PLATFORM_PRIORITY",
            format!(
                "no listed platform has a bot limit; set at least one of {}",
                vars.join(", ")
            ),
        ));
    }
    Ok(platforms)
}
