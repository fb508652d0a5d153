//! The Bots view from the keyboard (issue 14): `g b` opens it, the rows
//! shown are the database's newest bots (ids and statuses, newest first:
//! by creation time, then id) with the count of every bot, `/` then
//! `#<id>` and Enter finds one bot,
//! `j` and Enter open its timeline, which lists its state changes from
//! `bot_events` and its decision trace from `bots.decision_trace`; Escape
//! closes it. Screenshots `bots` (the list) and `bot-timeline`.
//!
//! Assumes: the app is running against `db` with the Bots view's commands
//! (`bots`, `bot_timeline`) and the `bot_events` table (`bot_id`, `at`,
//! `status`, `detail`: one row per state change, the creation as the
//! first `QUEUED`); at least one bot exists, fewer than the count's cap
//! (the app then shows the exact count); no dialog or palette is open.
//! Bots may change state meanwhile (the checks poll until the app and the
//! database agree, reading the database before and after the app).
//! Leaves the app on the Bots view, its search empty, no timeline open.

use std::cell::RefCell;
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use sqlx::PgPool;

use super::{open_dashboard, poll_async, press, screenshot, script, wait_find, LIVE_WITHIN};

/// How many of the newest bots are compared (the first rows the table shows).
const NEWEST: i64 = 8;
const TIMELINE: &str = "[data-testid='bot-timeline']";

/// The newest `NEWEST` bots (id, status), in the list's order (creation
/// time, then id, descending), and how many bots there are.
async fn newest_bots(db: &PgPool) -> Result<(Vec<(i64, String)>, i64), String> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM bots ORDER BY created_at DESC, id DESC LIMIT $1")
            .bind(NEWEST)
            .fetch_all(db)
            .await
            .map_err(|e| e.to_string())?;
    let (total,): (i64,) = sqlx::query_as("SELECT count(*) FROM bots")
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
    Ok((rows, total))
}

/// The first rows the Bots table shows (in row order), as (id, status).
async fn shown_bots(client: &Client) -> Vec<(i64, String)> {
    let rows = script(
        client,
        "return [...document.querySelectorAll(\"[data-testid='bot-row']\")]
           .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')))
           .map(r => [Number(r.getAttribute('data-bot-id')), r.querySelector('[data-bot-status]')?.getAttribute('data-bot-status') ?? '']);",
    )
    .await;
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| Some((r[0].as_i64()?, r[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The count in the table's title: `(N)` or `(n of N loaded)`: N.
async fn shown_total(client: &Client) -> Option<i64> {
    let text = script(
        client,
        "return document.querySelector(\"[data-testid='bots-count']\")?.textContent ?? ''",
    )
    .await;
    let text = text
        .as_str()?
        .trim_end_matches(" loaded)")
        .trim_end_matches(')');
    text.rsplit(['(', ' ']).next()?.parse().ok()
}

/// `bot_events`' (milliseconds since the epoch, status) of bot `id`, oldest
/// first (events of the same millisecond by status: their order is not
/// the test's business).
async fn db_events(db: &PgPool, id: i64) -> Result<Vec<(i64, String)>, String> {
    sqlx::query_as(
        "SELECT floor(extract(epoch FROM at) * 1000)::bigint AS ms, status
         FROM bot_events WHERE bot_id = $1 ORDER BY ms, status COLLATE \"C\"",
    )
    .bind(id)
    .fetch_all(db)
    .await
    .map_err(|e| e.to_string())
}

/// The open timeline's events as (milliseconds since the epoch, status), in the same order.
async fn shown_events(client: &Client) -> Vec<(i64, String)> {
    let js = format!(
        "return [...document.querySelectorAll(\"{TIMELINE} [data-testid='bot-event']\")]
           .map(e => [Date.parse(e.getAttribute('data-at').replace(/(\\.\\d{{3}})\\d+/, '$1')), e.getAttribute('data-status')])
           .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));"
    );
    script(client, &js)
        .await
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| Some((r[0].as_i64()?, r[1].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The decisions of bot `id`'s stored trace, in order.
async fn trace_decisions(db: &PgPool, id: i64) -> Result<Vec<String>, String> {
    let (trace,): (serde_json::Value,) =
        sqlx::query_as("SELECT decision_trace FROM bots WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
    Ok(trace
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["decision"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// What the open timeline lists under `css` (each element's `attr`), in order.
async fn timeline_list(client: &Client, css: &str, attr: &str) -> Vec<String> {
    let js = format!(
        "return [...document.querySelectorAll(\"{TIMELINE} {css}\")].map(e => e.getAttribute('{attr}'));"
    );
    script(client, &js)
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Goes to the Bots view with `g b` and checks its first rows and count
/// against the database; finds the newest bot with `/`, opens its timeline
/// with `j` and Enter, checks its events and decision trace; Escape closes.
pub async fn bots_view(client: &Client, db: &PgPool) -> Result<(), String> {
    open_dashboard(client, Duration::from_secs(30)).await;
    // Nothing focused: the keys go to the page.
    script(
        client,
        "document.activeElement && document.activeElement.blur(); return true;",
    )
    .await;
    press(client, &['g', 'b']).await?;
    let opened = poll_async(LIVE_WITHIN, || async {
        script(client, "return location.hash").await == "#/bots"
    })
    .await;
    if !opened {
        return Err("`g b` did not open the Bots view".into());
    }
    wait_find(client, "[data-testid='bot-row']", Duration::from_secs(15)).await;
    // The newest bots are the first rows: from the top of the list.
    script(
        client,
        "document.querySelector(\"[data-testid='scroll-root']\").scrollTop = 0; return true;",
    )
    .await;

    // The newest bots, newest first, with their statuses, and the count of all.
    let last = RefCell::new((Vec::new(), Vec::new(), None, 0));
    let matched = poll_async(Duration::from_secs(15), || async {
        {
            let Ok((before, total)) = newest_bots(db).await else {
                return false;
            };
            let ui = shown_bots(client).await;
            let ui_total = shown_total(client).await;
            let Ok((after, _)) = newest_bots(db).await else {
                return false;
            };
            let shown: Vec<_> = ui.iter().take(after.len()).cloned().collect();
            let ok = before == after && shown == after && ui_total == Some(total);
            *last.borrow_mut() = (after, shown, ui_total, total);
            ok
        }
    })
    .await;
    if !matched {
        let (db_rows, ui_rows, ui_total, total) = last.into_inner();
        return Err(format!(
            "the Bots view does not show the newest bots: db {db_rows:?} ({total} in all), app {ui_rows:?} ({ui_total:?})"
        ));
    }
    screenshot(client, "bots").await;

    // `/` then `#<id>` and Enter: that bot alone.
    let (newest, _) = newest_bots(db).await?;
    let id = newest.first().ok_or("no bot in the database")?.0;
    press(client, &['/']).await?;
    let focused = script(
        client,
        "return document.activeElement?.getAttribute('aria-label')",
    )
    .await;
    if focused != "Search bots" {
        return Err(format!("'/' focused {focused}, not the bots search"));
    }
    let mut keys: Vec<char> = format!("#{id}").chars().collect();
    keys.push(Key::Enter.into());
    press(client, &keys).await?;
    let found = poll_async(LIVE_WITHIN, || async {
        let ui = shown_bots(client).await;
        ui.len() == 1 && ui[0].0 == id
    })
    .await;
    if !found {
        let ui = shown_bots(client).await;
        return Err(format!("searching #{id} shows {ui:?}"));
    }

    // `j` and Enter: its timeline, with its events and its decision trace.
    press(client, &['j', Key::Enter.into()]).await?;
    let panel = wait_find(client, TIMELINE, Duration::from_secs(10)).await;
    let label = panel.attr("aria-label").await.map_err(|e| e.to_string())?;
    if label.as_deref() != Some(format!("Bot #{id}").as_str()) {
        return Err(format!("Enter opened {label:?}, not bot #{id}"));
    }
    let seen = RefCell::new((Vec::new(), Vec::new(), Vec::new(), Vec::new()));
    let listed = poll_async(Duration::from_secs(15), || async {
        {
            let (Ok(events), Ok(trace)) = (db_events(db, id).await, trace_decisions(db, id).await)
            else {
                return false;
            };
            let ui_events = shown_events(client).await;
            let ui_trace: Vec<String> = timeline_list(
                client,
                "[data-testid='trace'] [data-decision]",
                "data-decision",
            )
            .await
            .into_iter()
            // The core stands one `omitted` entry for a long trace's dropped middle.
            .filter(|d| d != "omitted")
            .collect();
            let ok = !events.is_empty() && ui_events == events && ui_trace == trace;
            *seen.borrow_mut() = (events, ui_events, trace, ui_trace);
            ok
        }
    })
    .await;
    if !listed {
        let (events, ui_events, trace, ui_trace) = seen.into_inner();
        return Err(format!(
            "bot #{id}'s timeline: events db {events:?} app {ui_events:?}; trace db {trace:?} app {ui_trace:?}"
        ));
    }
    screenshot(client, "bot-timeline").await;

    // Escape closes the timeline.
    press(client, &[Key::Escape.into()]).await?;
    let closed = poll_async(Duration::from_secs(5), || async {
        client.find(Locator::Css(TIMELINE)).await.is_err()
    })
    .await;
    if !closed {
        return Err("Escape did not close the bot's timeline".into());
    }

    // The search emptied again (`/` selects its text), for whatever runs next.
    press(client, &['/', Key::Backspace.into(), Key::Enter.into()]).await?;
    let all = poll_async(LIVE_WITHIN, || async {
        shown_bots(client).await.len() > 1 || newest.len() == 1
    })
    .await;
    if !all {
        return Err("clearing the search did not list every bot again".into());
    }
    Ok(())
}
