//! Signing secrets, Standard Webhooks style: `whsec_` + base64 of 32
//! random bytes.
//!
//! **Why they are stored as issued, not hashed.** Berth only *verifies* an
//! API token, so a hash of it is enough (and a stolen table reveals no
//! token). A webhook secret is the other way round: Berth *signs* with it
//! (HMAC-SHA256 needs the key itself, on every delivery, from any
//! instance) and the receiver verifies with the same key. A hash would make
//! signing impossible, so the secret lives in the shared database, readable
//! by the role Berth runs as, and never leaves it except in the one answer
//! that creates it (and `berth webhooks bot-secret`). It is never logged:
//! [`SigningSecret`]'s `Debug` prints nothing of it.
//!
//! **Bots' own URLs** (`bots.webhook_url`) are signed with one secret per
//! database (`webhook_keys`), created on first use: every instance sharing
//! the database signs alike, and a product verifies every bot's hooks with
//! it (it reads it with `berth webhooks bot-secret`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};

/// The prefix of every secret.
pub const PREFIX: &str = "whsec_";
/// Random bytes in a new secret (Standard Webhooks: 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// A signing secret. `Debug` redacts it; [`SigningSecret::expose`] gives
/// the text (to show once, or to sign with).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(redacted)")
    }
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> SigningSecret {
        let mut bytes = [0_u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        SigningSecret(format!("{PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A secret in its text form (`whsec_<base64>`); `invalid_input` otherwise.
    pub fn parse(text: &str) -> Result<SigningSecret> {
        let s = SigningSecret(text.to_string());
        s.key()?;
        Ok(s)
    }

    /// The text form, `whsec_<base64>`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key bytes the HMAC is keyed with (the base64 after the prefix).
    pub fn key(&self) -> Result<Vec<u8>> {
        let b64 = self.0.strip_prefix(PREFIX).unwrap_or(&self.0);
        STANDARD
            .decode(b64)
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidInput,
                    "a webhook secret is `whsec_` followed by base64",
                )
            })
    }
}

/// The secret events to bots' own webhook URLs are signed with, created on
/// first use (one per database; concurrent first uses agree on one: each
/// statement reads what the others committed).
pub async fn bot_url_secret(db: &PgPool) -> Result<SigningSecret> {
    let read = async || -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT bot_url_secret FROM webhook_keys WHERE id = 1")
                .fetch_optional(db)
                .await?,
        )
    };
    if let Some(stored) = read().await? {
        return Ok(SigningSecret(stored));
    }
    sqlx::query(
        "INSERT INTO webhook_keys (id, bot_url_secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(SigningSecret::generate().expose())
    .execute(db)
    .await?;
    let stored = read().await?.ok_or_else(|| {
        Error::new(
            ErrorCode::Internal,
            "the bot-URL webhook secret was not kept",
        )
    })?;
    Ok(SigningSecret(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_has_the_prefix_and_32_random_bytes() {
        let a = SigningSecret::generate();
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.key().unwrap().len(), SECRET_BYTES);
        assert_ne!(a, SigningSecret::generate());
        assert_eq!(format!("{a:?}"), "SigningSecret(redacted)");
        assert!(SigningSecret::parse("whsec_!!").is_err());
    }
}
