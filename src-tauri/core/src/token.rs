//! API tokens: who may call the HTTP API, and with what scope.
//!
//! A token is `berth_` followed by 64 hex digits (32 random bytes from the
//! operating system). Berth keeps only its SHA-256 and shows the token once,
//! when it is created; a presented token is hashed and looked up, so the
//! comparison never touches the token itself and a database dump holds no
//! usable credential. A token has a name (unique among live tokens: it is
//! how tokens are listed and revoked, and the `api:<name>` actor of every
//! change made with it) and one [`Scope`]. Revoking keeps the row (who made
//! it, who revoked it); the token stops working at once.
//!
//! A token may carry priority tiers ([`crate::tier`]): a default tier for
//! its requests that name none, and the highest tier it may ask for. Both
//! must be configured tiers when the token is created, the default not
//! above the highest; a request checks them again when it is made.
//!
//! Nothing here logs a token: the plaintext exists only in [`Created`]'s
//! return value (redacted in `Debug`) and in the caller's request.

use chrono::{DateTime, Utc};
use rand::TryRngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::fmt;
use std::str::FromStr;

use crate::actor::Actor;
use crate::error::{Error, ErrorCode, Result};

/// What a token may do. Ordered: `admin` ⊇ `bots:write` ⊇ `bots:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Read bots, pools and the queue.
    #[serde(rename = "bots:read")]
    BotsRead,
    /// Also create, deploy and cancel bots.
    #[serde(rename = "bots:write")]
    BotsWrite,
    /// Everything.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, weakest first.
    pub const ALL: [Scope; 3] = [Scope::BotsRead, Scope::BotsWrite, Scope::Admin];

    /// The text form (`bots:read`, `bots:write`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::BotsRead => "bots:read",
            Scope::BotsWrite => "bots:write",
            Scope::Admin => "admin",
        }
    }

    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Scope> {
        Scope::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidInput,
                    format!("unknown scope {s:?}; expected one of: bots:read, bots:write, admin"),
                )
            })
    }
}

/// The prefix of every token (lets secret scanners and people spot one).
pub const PREFIX: &str = "berth_";

/// Who a verified token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's row id (idempotency keys are scoped to it).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its scope.
    pub scope: Scope,
}

impl Identity {
    /// The actor of changes made with this token (`api:<name>`).
    pub fn actor(&self) -> Actor {
        Actor::api(&self.name)
    }
}

/// A token just created: the only time its plaintext exists in Berth.
pub struct Created {
    /// The token's name.
    pub name: String,
    /// Its scope.
    pub scope: Scope,
    /// The token itself, to hand to its user once.
    pub token: String,
}

impl fmt::Debug for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Created")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// A token as listed (never its plaintext or hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Its scope (text form).
    pub scope: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it (an actor record).
    pub created_by: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// The tier of its requests that name none.
    pub default_tier: Option<String>,
    /// The highest tier its requests may ask for (`None`: any).
    pub max_tier: Option<String>,
}

/// The priority tiers a new token carries; both `None`: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tiers {
    /// The tier of its requests that name none.
    pub default_tier: Option<String>,
    /// The highest tier its requests may ask for.
    pub max_tier: Option<String>,
}

/// `tiers` checked against the configured tiers: each names one, and the
/// default is not above the highest (`invalid_input`).
async fn check_tiers(db: &PgPool, tiers: &Tiers) -> Result<()> {
    let configured = crate::tier::load_on(&mut *db.acquire().await?).await?;
    let default = tiers
        .default_tier
        .as_deref()
        .map(|t| configured.named(t, "the token's default tier"))
        .transpose()?;
    let max = tiers
        .max_tier
        .as_deref()
        .map(|t| configured.named(t, "the token's highest tier"))
        .transpose()?;
    if let (Some(d), Some(m)) = (default, max) {
        if d.priority < m.priority {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "the default tier {} (priority {}) is above the highest tier {} (priority {})",
                    d.name, d.priority, m.name, m.priority
                ),
            ));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidInput,
            format!("a token name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; got {name:?}"),
        ))
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token named `name` with `scope`, recorded as made by `actor`;
/// returns it with its plaintext (shown once; only its hash is stored). A
/// live token with the same name is `conflict`; a bad name `invalid_input`.
pub async fn create(db: &PgPool, name: &str, scope: Scope, actor: &Actor) -> Result<Created> {
    create_with_tiers(db, name, scope, &Tiers::default(), actor).await
}

/// [`create`] with priority tiers: `tiers` must name configured tiers, the
/// default not above the highest (`invalid_input`, nothing written).
pub async fn create_with_tiers(
    db: &PgPool,
    name: &str,
    scope: Scope,
    tiers: &Tiers,
    actor: &Actor,
) -> Result<Created> {
    check_name(name)?;
    check_tiers(db, tiers).await?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("the operating system's random source failed: {e}"),
        )
    })?;
    let token = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let inserted = sqlx::query(
        "INSERT INTO api_tokens (name, scope, token_hash, created_by, default_tier, max_tier)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING",
    )
    .bind(name)
    .bind(scope.as_str())
    .bind(hash(&token))
    .bind(actor.record())
    .bind(&tiers.default_tier)
    .bind(&tiers.max_tier)
    .execute(db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("a token named {name:?} exists; revoke it first or pick another name"),
        ));
    }
    tracing::info!(actor = %actor, token = name, %scope, "API token created");
    Ok(Created {
        name: name.to_string(),
        scope,
        token,
    })
}

/// Every token, live first, then by name (revoked ones newest first).
pub async fn list(db: &PgPool) -> Result<Vec<TokenInfo>> {
    Ok(sqlx::query_as(
        "SELECT name, scope, created_at, created_by, revoked_at, revoked_by, default_tier, max_tier FROM api_tokens
         ORDER BY revoked_at IS NOT NULL, name, revoked_at DESC",
    )
    .fetch_all(db)
    .await?)
}

/// Revokes the live token named `name` (it stops working at once); no
/// live token of that name is `not_found`.
pub async fn revoke(db: &PgPool, name: &str, actor: &Actor) -> Result<TokenInfo> {
    let row: Option<TokenInfo> = sqlx::query_as(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = $2
         WHERE name = $1 AND revoked_at IS NULL
         RETURNING name, scope, created_at, created_by, revoked_at, revoked_by, default_tier, max_tier",
    )
    .bind(name)
    .bind(actor.record())
    .fetch_optional(db)
    .await?;
    let info = row
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no live token named {name:?}")))?;
    tracing::info!(actor = %actor, token = name, "API token revoked");
    Ok(info)
}

/// Who `token` is: a live token with this hash, else `unauthorized` (the
/// message never repeats the token). Reads only.
pub async fn verify(db: &PgPool, token: &str) -> Result<Identity> {
    let unauthorized = || Error::new(ErrorCode::Unauthorized, "unknown or revoked API token");
    if !token.starts_with(PREFIX) {
        return Err(unauthorized());
    }
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash(token))
    .fetch_optional(db)
    .await?;
    let (id, name, scope) = row.ok_or_else(unauthorized)?;
    Ok(Identity {
        id,
        name,
        scope: scope.parse()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_parse() {
        use Scope::*;
        assert!(Admin.allows(BotsWrite) && Admin.allows(BotsRead) && Admin.allows(Admin));
        assert!(BotsWrite.allows(BotsRead) && !BotsWrite.allows(Admin));
        assert!(!BotsRead.allows(BotsWrite));
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            "root".parse::<Scope>().unwrap_err().code(),
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn names_are_plain() {
        assert!(check_name("billing-prod.v2_a").is_ok());
        for bad in ["", "-x", "has space", "a/b", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_created_token_is_redacted_in_debug() {
        let c = Created {
            name: "n".into(),
            scope: Scope::Admin,
            token: "berth_secret".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
