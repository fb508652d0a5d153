//! Scheduled bots in the open app (issue 16): a bot scheduled from a
//! terminal appears in the Bots view's schedule with its booking, moving it
//! from the terminal moves it there, and cancelling it takes it away — each
//! live (the change feed), never by a refresh.
//!
//! Assumes: the app is on the Bots view (which holds the Schedule panel)
//! against `db`; no bot is scheduled; the zoom pool's platforms have room
//! two and three hours from now. Leaves no scheduled bot behind.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use fantoccini::Client;
use serde_json::Value;
use sqlx::PgPool;

use super::cli_actions::berth;
use super::{poll_async, script, LIVE_WITHIN};

/// What the Schedule panel shows: its summary, the upcoming bots' ids and
/// row texts, and the booked windows' labels (`HH:MM: n of m booked`, only
/// those with a booking).
const SHOWN: &str = "
    const s = document.querySelector(\"section[aria-label='Schedule']\");
    if (!s) return null;
    const rows = [...s.querySelectorAll(\"[aria-label='Upcoming bots'] li\")];
    return {
      summary: s.querySelector(\"[data-testid='schedule-summary']\")?.textContent ?? '',
      ids: rows.map(r => Number(r.querySelector('[data-bot-link]')?.getAttribute('data-bot-link'))),
      rows: rows.map(r => r.textContent),
      booked: [...s.querySelectorAll(\"[aria-label='Windows'] [role=listitem]\")]
        .map(w => w.getAttribute('aria-label')).filter(l => !/: 0 of /.test(l)),
    };";

/// Waits until the panel shows something `ok` accepts; the last view otherwise.
async fn shows(client: &Client, ok: impl Fn(&Value) -> bool, what: &str) -> Result<Value, String> {
    if poll_async(LIVE_WITHIN, || async { ok(&script(client, SHOWN).await) }).await {
        Ok(script(client, SHOWN).await)
    } else {
        Err(format!(
            "the schedule did not show {what} live (last: {})",
            script(client, SHOWN).await
        ))
    }
}

/// The bot's status and join time in the database.
async fn stored(db: &PgPool, id: i64) -> Result<(String, Option<DateTime<Utc>>), String> {
    sqlx::query_as("SELECT status, join_at FROM bots WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Schedules, moves and cancels one bot from the CLI, checking the app
/// after each step against the database.
pub async fn scheduled_from_a_terminal(
    client: &Client,
    db: &PgPool,
    url: &str,
) -> Result<(), String> {
    shows(
        client,
        |v| v["summary"] == "No scheduled bots.",
        "no scheduled bot",
    )
    .await?;
    let first = Utc::now().trunc_subsecs(0) + Duration::hours(2);
    let made = berth(
        url,
        &[
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/5550016016",
            "--join-at",
            &at(first),
        ],
    )?;
    let id = made["botId"]
        .as_i64()
        .ok_or(format!("no botId in {made}"))?;
    if stored(db, id).await? != ("SCHEDULED".to_string(), Some(first)) {
        return Err(format!("bot #{id} not scheduled at {first}: {made}"));
    }
    let before = shows(
        client,
        |v| {
            v["ids"] == serde_json::json!([id])
                && v["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("1 scheduled;"))
                && v["booked"].as_array().is_some_and(|b| {
                    !b.is_empty()
                        && b.iter()
                            .all(|l| l.as_str().is_some_and(|l| l.contains(": 1 of ")))
                })
        },
        &format!("bot #{id} scheduled, one booked in its windows"),
    )
    .await?;

    let later = first + Duration::hours(1);
    berth(
        url,
        &["bots", "move", &id.to_string(), "--join-at", &at(later)],
    )?;
    if stored(db, id).await?.1 != Some(later) {
        return Err(format!("bot #{id} not moved to {later}"));
    }
    shows(
        client,
        |v| {
            v["ids"] == serde_json::json!([id])
                && v["rows"] != before["rows"]
                && v["booked"] != before["booked"]
        },
        &format!("bot #{id} moved an hour later"),
    )
    .await?;

    berth(
        url,
        &[
            "bots",
            "cancel",
            &id.to_string(),
            "--reason",
            "e2e schedule",
        ],
    )?;
    if stored(db, id).await?.0 != "FATAL" {
        return Err(format!("bot #{id} not cancelled"));
    }
    shows(
        client,
        |v| v["summary"] == "No scheduled bots." && v["booked"] == serde_json::json!([]),
        &format!("bot #{id} gone after its cancel"),
    )
    .await?;
    Ok(())
}
