//! Bot tokens: one random token per lease, kept only as its SHA-256.
//!
//! A token is 32 random bytes from the thread's CSPRNG (ChaCha, seeded by
//! the OS), written as `berth_bot_` and 64 hex digits. Its plaintext exists
//! in Berth's memory only between [`BotToken::generate`] and the platform
//! call that starts the workload with it ([`crate::platform::bot_env`]'s
//! `BERTH_BOT_TOKEN`); the database keeps its hash. High entropy makes an
//! unsalted SHA-256 enough (nothing to guess), and lets verification look
//! the hash up in a unique index.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::Result;

/// What every bot token starts with (so a leaked one is recognisable, and
/// an API token is never mistaken for one).
pub const PREFIX: &str = "berth_bot_";

/// A bot token's plaintext. Its `Debug` prints `[REDACTED]`; only
/// [`BotToken::expose`] gives the text, for the workload's environment.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken([REDACTED])")
    }
}

impl BotToken {
    /// A new random token.
    pub fn generate() -> BotToken {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        BotToken(format!("{PREFIX}{}", hex(&bytes)))
    }

    /// The plaintext, for the workload's environment only: never log it,
    /// store it or return it to a face.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, as stored.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.0)
    }
}

/// The SHA-256 of a presented token's text (whatever it is).
pub fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether `text` has a bot token's shape (prefix and 64 lower-case hex
/// digits): anything else is refused before the database is asked.
pub fn well_formed(text: &str) -> bool {
    text.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Issues `token` for the lease (`slot_id`, `epoch`) of `bot_id`, only
/// while that lease is current and not yet running (the slot `deploying`
/// for the bot at that epoch); returns whether it did. One token per
/// lease: issuing again (a start retried) replaces the former one.
pub async fn issue(
    db: &PgPool,
    slot_id: i64,
    epoch: i64,
    bot_id: i64,
    token: &BotToken,
) -> Result<bool> {
    let issued: Option<i64> = sqlx::query_scalar(
        "INSERT INTO bot_tokens (slot_id, epoch, bot_id, token_hash)
         SELECT id, epoch, assigned_bot_id, $4 FROM pool_slots
         WHERE id = $1 AND epoch = $2 AND status = 'deploying' AND assigned_bot_id = $3
         ON CONFLICT (slot_id, epoch) DO UPDATE
             SET token_hash = EXCLUDED.token_hash, bot_id = EXCLUDED.bot_id, issued_at = now()
         RETURNING slot_id",
    )
    .bind(slot_id)
    .bind(epoch)
    .bind(bot_id)
    .bind(&token.hash()[..])
    .fetch_optional(db)
    .await?;
    Ok(issued.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_redacted() {
        let a = BotToken::generate();
        let b = BotToken::generate();
        assert_ne!(a, b);
        assert!(well_formed(a.expose()), "{}", a.expose());
        assert_eq!(a.expose().len(), PREFIX.len() + 64);
        assert_eq!(format!("{a:?}"), "BotToken([REDACTED])");
        assert!(!format!("{a:?}").contains(&a.expose()[PREFIX.len()..]));
        assert_eq!(a.hash(), hash(a.expose()));
        for bad in [
            "",
            "berth_bot_",
            &a.expose()[..a.expose().len() - 1],
            &a.expose().to_uppercase(),
            &format!("{}0", a.expose()),
            &a.expose().replace(PREFIX, "berth_api_"),
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
