//! Moving a scheduled bot to another join time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actor::Actor;
use crate::audit;
use crate::error::{Error, ErrorCode, Result};
use crate::feed::Topic;
use crate::pool;
use crate::router::Router;
use crate::schedule::IfFull;
use crate::settings;
use crate::timestamp;

/// A scheduled bot, moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    /// The bot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bot_id: i64,
    /// Its join time before.
    #[serde(serialize_with = "timestamp::serialize_opt")]
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub from: Option<DateTime<Utc>>,
    /// Its join time now.
    #[serde(serialize_with = "timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub join_at: DateTime<Utc>,
    /// When Berth starts it now.
    #[serde(serialize_with = "timestamp::serialize")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start_at: DateTime<Utc>,
    /// Whether it holds a booking for its new window.
    pub booked: bool,
}

/// Moves a `SCHEDULED` bot to join at `join_at`: its start and booking are
/// planned again and the booking re-checked under the booking lock (its
/// own old booking left out). A bot that kept its booking must find room
/// in the new window (`window_full` otherwise, nothing written); one
/// accepted without a booking (`ifFull: queue`) stays so, unless the new
/// window has room, when it books it. The `bot.reschedule` audit row is
/// written in the same transaction. A bot no longer `SCHEDULED` is
/// `stale_transition`; an unknown bot `not_found`; a bad time
/// `invalid_input`. Publishes `bots` and `audit`; a start that has come
/// already is the starter's next pass.
pub async fn reschedule(
    router: &Router,
    actor: &Actor,
    bot_id: i64,
    join_at: DateTime<Utc>,
) -> Result<Moved> {
    let db = router.db();
    let (status, from, duration_ms, booked_until) = read(db, bot_id).await?;
    refuse_unless_scheduled(bot_id, &status)?;
    let view = crate::bot::get(db, bot_id).await?;
    let pool = pool::get(db, &view.pool).await?;
    let settings = settings::load(db).await?;
    let mut planned = router
        .plan(&pool, &settings, Some(join_at), duration_ms, None)
        .await?;
    let scope = router.booking_scope(&pool, &settings).await?;
    let mut tx = db.begin().await?;
    // Still scheduled, now under the bot's lock (the starter or a cancel
    // may have moved it on since it was read).
    let status: String = sqlx::query_scalar("SELECT status FROM bots WHERE id = $1 FOR UPDATE")
        .bind(bot_id)
        .fetch_one(&mut *tx)
        .await?;
    refuse_unless_scheduled(bot_id, &status)?;
    // A bot that kept its booking needs room; one accepted without one
    // books the new window only if it has room.
    let if_full = if booked_until.is_some() {
        IfFull::Refuse
    } else {
        IfFull::Queue
    };
    if !router
        .book(&mut tx, &scope, &planned, if_full, Some(bot_id))
        .await?
    {
        planned.booked_until = None;
    }
    sqlx::query(
        "UPDATE bots SET join_at = $2, start_at = $3, booked_until = $4, updated_at = now()
         WHERE id = $1",
    )
    .bind(bot_id)
    .bind(planned.join_at)
    .bind(planned.start_at)
    .bind(planned.booked_until)
    .execute(&mut *tx)
    .await?;
    let record = audit::Record::new(
        actor,
        "bot.reschedule",
        audit::TargetKind::Bot,
        bot_id.to_string(),
        None,
    )
    .detail(serde_json::json!({
        "from": from.map(timestamp::text),
        "to": timestamp::text(join_at),
    }));
    audit::record(&mut tx, &record).await?;
    tx.commit().await?;
    router.feed().publish(&[Topic::Bots, Topic::Audit]);
    tracing::info!(actor = %actor, bot = bot_id, "scheduled bot moved");
    Ok(Moved {
        bot_id,
        from,
        join_at,
        start_at: planned.start_at,
        booked: planned.booked_until.is_some(),
    })
}

type Row = (
    String,
    Option<DateTime<Utc>>,
    Option<i32>,
    Option<DateTime<Utc>>,
);

/// A bot's status, join time, expected duration and booking end.
async fn read(db: &sqlx::PgPool, bot_id: i64) -> Result<Row> {
    sqlx::query_as(
        "SELECT status, join_at, expected_duration_ms, booked_until FROM bots WHERE id = $1",
    )
    .bind(bot_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no bot #{bot_id}")))
}

fn refuse_unless_scheduled(bot_id: i64, status: &str) -> Result<()> {
    if status == "SCHEDULED" {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::StaleTransition,
        format!(
            "bot #{bot_id} is no longer scheduled ({status}); only a scheduled bot can be moved"
        ),
    ))
}
