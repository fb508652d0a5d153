//! Scheduled bots in the app: the timeline's read model and moving a bot.

use berth_core::actor::Actor;
use berth_core::lifecycle;
use berth_core::schedule::{self, Moved, Upcoming};
use tauri::State;

use crate::dto::{CommandResult, Id};
use crate::state::Core;

/// The scheduled bots of the next `hours` (1 to 168) and the capacity
/// booked per 15-minute window against the routable platforms' limits.
/// Read-only.
#[tauri::command]
#[specta::specta]
pub async fn upcoming_schedule(core: State<'_, Core>, hours: u32) -> CommandResult<Upcoming> {
    let b = core.get().await?;
    let from = b.router().clock().now();
    let to = from + chrono::Duration::hours(hours.into());
    Ok(schedule::upcoming(b.db(), from, to).await?)
}

/// Moves a scheduled bot to join at `join_at` (RFC 3339); its booking is
/// checked again (`window_full`), `stale_transition` once it started.
#[tauri::command]
#[specta::specta]
pub async fn reschedule_bot(
    core: State<'_, Core>,
    id: Id,
    join_at: String,
) -> CommandResult<Moved> {
    let b = core.get().await?;
    let at = chrono::DateTime::parse_from_rfc3339(&join_at)
        .map_err(|_| {
            berth_core::Error::new(
                berth_core::ErrorCode::InvalidInput,
                format!("{join_at:?} is not an RFC 3339 time"),
            )
        })?
        .with_timezone(&chrono::Utc);
    Ok(lifecycle::reschedule(b.router(), &Actor::desktop(), id.0, at).await?)
}
