//! Idempotency keys of bot creation: a caller that retries a request under
//! the same key gets the bot its first request created, and nothing new.
//!
//! A key belongs to an owner (the HTTP API uses its token's id) and names
//! exactly one bot, with a fingerprint of the request that created it. The
//! key is claimed in the transaction that inserts the bot (see
//! `Router::create_bot_once`): the table's primary key makes a second,
//! concurrent request with the same key wait for the first to commit and
//! then find the key taken, so it rolls its own bot back. A key therefore
//! never names a bot that was not created, and one key never makes two.
//! The same key with a different request is `idempotency_key_reused`.
//!
//! A key lasts [`KEEP_HOURS`] (as Stripe's and Recall.ai's do): after that
//! the same key is a new request, and the leader's pruning job deletes it.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::error::{Error, ErrorCode, Result};
use crate::router::NewBot;

/// How long a key names its bot, in hours.
pub const KEEP_HOURS: i64 = 24;

/// The oldest claim still in force at `now`.
fn oldest_kept(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(KEEP_HOURS)
}

/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// A checked idempotency key with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    owner: String,
    key: String,
}

impl IdempotencyKey {
    /// `key` (1 to [`MAX_KEY_BYTES`] visible ASCII characters, as the
    /// `Idempotency-Key` header carries it) of `owner`; otherwise
    /// `invalid_input`.
    pub fn new(owner: impl Into<String>, key: &str) -> Result<Self> {
        let ok = !key.is_empty()
            && key.len() <= MAX_KEY_BYTES
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("an idempotency key is 1 to {MAX_KEY_BYTES} visible ASCII characters"),
            ));
        }
        Ok(IdempotencyKey {
            owner: owner.into(),
            key: key.to_string(),
        })
    }

    /// The key as given.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// SHA-256 of the request in a canonical JSON form (object keys sorted at
/// every depth), so the same request always has the same fingerprint.
pub fn fingerprint(req: &NewBot) -> Vec<u8> {
    let value = serde_json::to_value(req).unwrap_or_default();
    let mut text = String::new();
    canonical(&value, &mut text);
    Sha256::digest(text.as_bytes()).to_vec()
}

fn canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Claims `key` for `bot_id` at `now` inside the caller's transaction (the
/// one that inserts the bot); a claim older than [`KEEP_HOURS`] is taken
/// over. `false`: another request holds the key (the caller rolls back). A
/// concurrent claim of the same key waits for this transaction to end.
pub(crate) async fn claim(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
    fingerprint: &[u8],
    bot_id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (owner, key, fingerprint, bot_id, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (owner, key) DO UPDATE
            SET fingerprint = EXCLUDED.fingerprint, bot_id = EXCLUDED.bot_id,
                created_at = EXCLUDED.created_at
          WHERE idempotency_keys.created_at < $6",
    )
    .bind(&key.owner)
    .bind(&key.key)
    .bind(fingerprint)
    .bind(bot_id)
    .bind(now)
    .bind(oldest_kept(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The bot `key` names at `now`, if a request claimed it less than
/// [`KEEP_HOURS`] before, checked against this request's `fingerprint`: a
/// different request under the same key is `idempotency_key_reused`. Reads
/// only.
pub async fn find(
    db: &PgPool,
    key: &IdempotencyKey,
    fingerprint: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT fingerprint, bot_id FROM idempotency_keys
         WHERE owner = $1 AND key = $2 AND created_at >= $3",
    )
    .bind(&key.owner)
    .bind(&key.key)
    .bind(oldest_kept(now))
    .fetch_optional(db)
    .await?;
    match row {
        None => Ok(None),
        Some((stored, bot_id)) if stored == fingerprint => Ok(Some(bot_id)),
        Some((_, bot_id)) => Err(Error::new(
            ErrorCode::IdempotencyKeyReused,
            format!(
                "idempotency key {:?} was used for another request (it created bot #{bot_id}); use a new key for a new request",
                key.key
            ),
        )),
    }
}

/// Deletes the claims that ended before `now`; returns how many. Run by
/// the leader's pruning job.
pub async fn prune(db: &PgPool, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(oldest_kept(now))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::MeetingPlatform;

    fn req(metadata: serde_json::Value) -> NewBot {
        NewBot {
            meeting_platform: MeetingPlatform::Zoom,
            meeting_url: "https://zoom.us/j/1".into(),
            priority: None,
            queue_timeout_ms: None,
            pool: None,
            display_name: None,
            metadata: Some(metadata),
            webhook_url: None,
            join_at: None,
            expected_duration_ms: None,
            if_full: crate::schedule::IfFull::Refuse,
            not_before: None,
        }
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::new("o", "abc-123_X.y").is_ok());
        for bad in [
            "",
            "has space",
            "tab\t",
            "é",
            &"k".repeat(MAX_KEY_BYTES + 1),
        ] {
            let e = IdempotencyKey::new("o", bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_ignores_key_order_and_sees_every_value() {
        let a = req(serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": null}}));
        let b = req(serde_json::json!({"b": {"y": null, "x": [1, 2]}, "a": 1}));
        let c = req(serde_json::json!({"a": 2, "b": {"x": [1, 2], "y": null}}));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        assert_eq!(fingerprint(&a).len(), 32);
    }
}
