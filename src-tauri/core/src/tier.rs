//! Priority tiers: named priorities (`critical`, `standard`, `batch`), each
//! with an optional ageing bound, configured once in the shared settings.
//!
//! Invariants (checked by [`check`] on every save, defined nowhere else):
//! 1 to [`MAX_TIERS`] tiers; names match [`NAME_PATTERN`] and are unique;
//! priorities lie in [`rules::PRIORITY`] and are unique (so a numeric
//! priority names at most one tier, and the queue's order by priority is
//! the tiers' order); a `maxWaitMs` lies in [`rules::MAX_WAIT_MS`]; the
//! default tier is one of them.
//!
//! A request's tier and priority ([`resolve`]), first that applies:
//! 1. the request's `tier` (a request may give a tier or a numeric
//!    priority, never both: `invalid_input`);
//! 2. the request's numeric `priority` (its tier: the one with that
//!    priority, if any);
//! 3. its API token's default tier;
//! 4. its pool's `queue.tier`;
//! 5. its pool's `queue.priority` (tier as in 2);
//! 6. the default tier.
//!
//! An API token may carry a highest tier: a request through it whose
//! priority (however it was reached) is above that tier's is refused with
//! `tier_not_allowed` before anything is written.
//!
//! Ageing: a bot of a tier with `maxWaitMs` W keeps W from its admission
//! (`bots.max_wait_ms`); its queue entry ages at `queued_at + W` and is
//! then served before every entry that has not aged
//! (`dispatch_key!` in [`crate::queue`]).

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::actor::Actor;
use crate::error::{Error, ErrorCode, Result};
use crate::settings::rules;

/// The most tiers the settings may hold.
pub const MAX_TIERS: usize = 16;

/// A tier name: a lower-case letter, then up to 31 lower-case letters,
/// digits, `-` or `_` (the settings page checks the same pattern).
pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_-]{0,31}$";

/// One tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tier {
    /// Its name ([`NAME_PATTERN`]).
    pub name: String,
    /// Its priority (lower first; [`rules::PRIORITY`]).
    pub priority: i32,
    /// Its ageing bound: an entry that waited this long is served before
    /// every entry that has not aged ([`rules::MAX_WAIT_MS`]); `None`: no
    /// ageing.
    pub max_wait_ms: Option<i32>,
}

/// The tiers in force and the default one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierSettings {
    /// The tiers, by priority.
    pub tiers: Vec<Tier>,
    /// The tier of a request that nothing else gives one.
    pub default_tier: String,
}

impl Default for TierSettings {
    /// `critical` 10, `standard` 100 (the default), `batch` 500; no ageing.
    fn default() -> Self {
        let tier = |name: &str, priority| Tier {
            name: name.into(),
            priority,
            max_wait_ms: None,
        };
        TierSettings {
            tiers: vec![
                tier("critical", 10),
                tier("standard", 100),
                tier("batch", 500),
            ],
            default_tier: "standard".into(),
        }
    }
}

impl TierSettings {
    /// The tier named `name`.
    pub fn get(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The tier whose priority is `priority` (at most one: priorities are unique).
    pub fn with_priority(&self, priority: i32) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.priority == priority)
    }

    /// The tier named `name`, or `invalid_input` saying who named it
    /// (`whose`: "the request", "token billing's default tier", …).
    pub fn named(&self, name: &str, whose: &str) -> Result<&Tier> {
        self.get(name).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "{whose} names tier {name:?}, which is not configured; the tiers are: {}",
                    self.names()
                ),
            )
        })
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.tiers.iter().map(|t| t.name.as_str()).collect();
        names.join(", ")
    }
}

/// Whether `name` is a well-formed tier name ([`NAME_PATTERN`]).
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && name.len() <= 32
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn invalid(field: String, message: String) -> Error {
    Error::config(ErrorCode::ConfigInvalid, field, message)
}

/// Checks `s` against every rule of the module's docs; `config_invalid`
/// naming the field at fault (`tiers[1].priority`, `defaultTier`).
pub fn check(s: &TierSettings) -> Result<()> {
    if s.tiers.is_empty() || s.tiers.len() > MAX_TIERS {
        return Err(invalid(
            "tiers".into(),
            format!("must list 1 to {MAX_TIERS} tiers, got {}", s.tiers.len()),
        ));
    }
    for (i, t) in s.tiers.iter().enumerate() {
        let field = |f: &str| format!("tiers[{i}].{f}");
        if !valid_name(&t.name) {
            return Err(invalid(field("name"), format!("must match {NAME_PATTERN} (a lower-case letter, then up to 31 lower-case letters, digits, '-' or '_'), got {:?}", t.name)));
        }
        if s.tiers[..i].iter().any(|o| o.name == t.name) {
            return Err(invalid(
                field("name"),
                format!("{:?} is listed twice", t.name),
            ));
        }
        if !rules::PRIORITY.contains(t.priority.into()) {
            return Err(invalid(
                field("priority"),
                rules::PRIORITY.refusal(t.priority),
            ));
        }
        if let Some(o) = s.tiers[..i].iter().find(|o| o.priority == t.priority) {
            return Err(invalid(
                field("priority"),
                format!(
                    "{} is already tier {:?}'s; each tier needs its own priority",
                    t.priority, o.name
                ),
            ));
        }
        if let Some(w) = t
            .max_wait_ms
            .filter(|w| !rules::MAX_WAIT_MS.contains((*w).into()))
        {
            return Err(invalid(field("maxWaitMs"), rules::MAX_WAIT_MS.refusal(w)));
        }
    }
    if s.get(&s.default_tier).is_none() {
        return Err(invalid(
            "defaultTier".into(),
            format!(
                "{:?} is not one of the tiers ({})",
                s.default_tier,
                s.names()
            ),
        ));
    }
    Ok(())
}

/// The tiers in force (the defaults when none were saved). Reads only.
pub async fn load_on(conn: &mut PgConnection) -> Result<TierSettings> {
    let value: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT value FROM global_settings WHERE key = 'tiers'")
            .fetch_optional(conn)
            .await?;
    from_value(value)
}

/// The stored value of the `tiers` setting, read: absent is the defaults.
pub(crate) fn from_value(value: Option<serde_json::Value>) -> Result<TierSettings> {
    match value {
        None => Ok(TierSettings::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("the stored tiers are unreadable: {e}"),
            )
        }),
    }
}

/// The tier bounds of the API token a request comes through: its default
/// tier and the highest it may ask for (both `None` for any other actor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenTiers {
    /// The token's name (`None`: not through a token).
    pub token: Option<String>,
    /// Its default tier.
    pub default_tier: Option<String>,
    /// The highest tier it may ask for.
    pub max_tier: Option<String>,
}

/// The bounds of `actor`'s token (a live API token of that name); none for
/// an actor that is not an API token. Reads only.
pub async fn token_tiers(db: &sqlx::PgPool, actor: &Actor) -> Result<TokenTiers> {
    let Some(name) = actor.api_token() else {
        return Ok(TokenTiers::default());
    };
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT default_tier, max_tier FROM api_tokens WHERE name = $1 AND revoked_at IS NULL",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    let (default_tier, max_tier) = row.unwrap_or_default();
    Ok(TokenTiers {
        token: Some(name.to_string()),
        default_tier,
        max_tier,
    })
}

/// What a request resolved to ([`resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Its tier (`None`: a numeric priority no tier has).
    pub tier: Option<String>,
    /// Its priority.
    pub priority: i32,
    /// Its tier's ageing bound.
    pub max_wait_ms: Option<i32>,
}

impl Resolved {
    fn of(t: &Tier) -> Resolved {
        Resolved {
            tier: Some(t.name.clone()),
            priority: t.priority,
            max_wait_ms: t.max_wait_ms,
        }
    }

    fn numeric(s: &TierSettings, priority: i32) -> Resolved {
        match s.with_priority(priority) {
            Some(t) => Resolved::of(t),
            None => Resolved {
                tier: None,
                priority,
                max_wait_ms: None,
            },
        }
    }
}

/// What a request gives towards its tier: its own tier or priority, and
/// its pool's (`pool` names the pool in messages).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The request's tier.
    pub tier: Option<&'a str>,
    /// The request's numeric priority.
    pub priority: Option<i32>,
    /// The pool's name.
    pub pool: &'a str,
    /// The pool's `queue.tier`.
    pub pool_tier: Option<&'a str>,
    /// The pool's `queue.priority`.
    pub pool_priority: Option<i32>,
}

/// A request's tier and priority by the rules of the module's docs, checked
/// against its token's highest tier. Pure: `invalid_input` (a tier and a
/// priority both given; a tier that is not configured, naming who named
/// it) or `tier_not_allowed`.
pub fn resolve(s: &TierSettings, asked: &Asked<'_>, token: &TokenTiers) -> Result<Resolved> {
    let token_name = token.token.as_deref().unwrap_or("");
    let resolved = match (asked.tier, asked.priority) {
        (Some(_), Some(_)) => {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                "give a tier or a priority, not both",
            ))
        }
        (Some(t), None) => Resolved::of(s.named(t, "the request")?),
        (None, Some(p)) => Resolved::numeric(s, p),
        (None, None) => match (&token.default_tier, asked.pool_tier, asked.pool_priority) {
            (Some(t), _, _) => {
                Resolved::of(s.named(t, &format!("token {token_name}'s default tier"))?)
            }
            (None, Some(t), _) => {
                Resolved::of(s.named(t, &format!("pool {}'s queue.tier", asked.pool))?)
            }
            (None, None, Some(p)) => Resolved::numeric(s, p),
            (None, None, None) => Resolved::of(s.named(&s.default_tier, "the default tier")?),
        },
    };
    if let Some(max) = &token.max_tier {
        let ceiling = s.named(max, &format!("token {token_name}'s highest tier"))?;
        if resolved.priority < ceiling.priority {
            let what = match &resolved.tier {
                Some(t) => format!("tier {t} (priority {})", resolved.priority),
                None => format!("priority {}", resolved.priority),
            };
            return Err(Error::new(
                ErrorCode::TierNotAllowed,
                format!(
                    "{what} is above tier {max} (priority {}), the highest token {token_name} may ask for",
                    ceiling.priority
                ),
            ));
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests;
