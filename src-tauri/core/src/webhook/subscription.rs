//! Subscriptions: who receives which events. The use cases every face maps
//! (`berth webhooks add|list|remove`, the API's `/v1/webhooks`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::event::EventType;
use super::secret::SigningSecret;
use super::target;
use crate::actor::Actor;
use crate::error::{Error, ErrorCode, Result};

/// The longest subscription name.
pub const MAX_NAME_LEN: usize = 63;

/// A subscription to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// Its name: lower-case letters, digits, `.`, `_`, `-`; starts with a
    /// letter or digit; at most [`MAX_NAME_LEN`] characters; unique.
    pub name: String,
    /// Where events go (see [`target::check_url`]).
    pub url: String,
    /// The types it receives (at least one; duplicates are merged).
    pub events: Vec<EventType>,
}

/// A subscription as listed (never with its secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: String,
    /// The types it receives.
    pub events: Vec<EventType>,
    /// When it was added.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Who added it ([`Actor::record`]).
    pub created_by: String,
}

/// A subscription just added, with its signing secret: the only time the
/// secret is shown (`Debug` redacts it; serializing shows it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    /// The subscription.
    #[serde(flatten)]
    pub subscription: Subscription,
    /// Its secret (`whsec_...`), to verify signatures with.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub secret: SigningSecret,
}

fn expose<S: serde::Serializer>(s: &SigningSecret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

/// Checks a subscription name; `invalid_input` naming the rule otherwise.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        return Ok(());
    }
    let shown: String = name.chars().take(40).collect();
    Err(Error::new(
        ErrorCode::InvalidInput,
        format!("webhook name {shown:?} is invalid: 1 to {MAX_NAME_LEN} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"),
    ))
}

type Row = (i64, String, String, Vec<String>, DateTime<Utc>, String);

fn from_row((id, name, url, events, created_at, created_by): Row) -> Result<Subscription> {
    Ok(Subscription {
        id,
        name,
        url,
        events: events
            .iter()
            .map(|e| e.parse())
            .collect::<Result<Vec<EventType>>>()?,
        created_at,
        created_by,
    })
}

/// Adds a subscription with a new secret, recording `actor` as who added
/// it. Refused before anything is written: a bad name or URL, no event
/// type (`invalid_input`), a name already taken (`conflict`).
pub async fn add(db: &PgPool, actor: &Actor, new: &NewSubscription) -> Result<Created> {
    check_name(&new.name)?;
    let url = target::check_url(&new.url)?;
    let mut events = new.events.clone();
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            "a webhook needs at least one event type",
        ));
    }
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let secret = SigningSecret::generate();
    let row: Option<Row> = sqlx::query_as(
        // A taken name produces no row, so not even the id sequence moves
        // (a refusal writes nothing); a concurrent add of the same name is
        // still caught by the conflict clause.
        "INSERT INTO webhook_subscriptions (name, url, event_types, secret, created_by)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE name = $1)
         ON CONFLICT (name) DO NOTHING
         RETURNING id, name, url, event_types, created_at, created_by",
    )
    .bind(&new.name)
    .bind(&url)
    .bind(&names)
    .bind(secret.expose())
    .bind(actor.record())
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("a webhook named {:?} exists already", new.name),
        ));
    };
    tracing::info!(webhook = %new.name, by = %actor, "webhook subscription added");
    Ok(Created {
        subscription: from_row(row)?,
        secret,
    })
}

/// Every subscription, by name.
pub async fn list(db: &PgPool) -> Result<Vec<Subscription>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, url, event_types, created_at, created_by FROM webhook_subscriptions ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One subscription by name; `not_found` otherwise.
pub async fn get(db: &PgPool, name: &str) -> Result<Subscription> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, url, event_types, created_at, created_by FROM webhook_subscriptions WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    row.map(from_row)
        .transpose()?
        .ok_or_else(|| not_found(name))
}

/// Removes a subscription by name, with its pending deliveries and its
/// delivery log (it receives nothing more); `not_found` otherwise. Returns
/// what was removed.
pub async fn remove(db: &PgPool, actor: &Actor, name: &str) -> Result<Subscription> {
    let row: Option<Row> = sqlx::query_as(
        "DELETE FROM webhook_subscriptions WHERE name = $1
         RETURNING id, name, url, event_types, created_at, created_by",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    let removed = row
        .map(from_row)
        .transpose()?
        .ok_or_else(|| not_found(name))?;
    tracing::info!(webhook = %name, by = %actor, "webhook subscription removed");
    Ok(removed)
}

fn not_found(name: &str) -> Error {
    let shown: String = name.chars().take(63).collect();
    Error::new(ErrorCode::NotFound, format!("no webhook named {shown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_one_rule() {
        for ok in ["billing", "a", "ops-alerts.v2", "x_1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Billing", "-a", "a b", "a/b", &"a".repeat(64)] {
            assert_eq!(
                check_name(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }
}
