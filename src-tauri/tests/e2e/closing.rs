//! Closing the window with bots queued (issue 11, item 23), in the real
//! app: the close request (the same one the window's close button makes)
//! is held and the app says what would stop; Cancel keeps it open; "keep
//! dispatching in the background" hides the window while the process
//! dispatches every queued bot and then exits by itself, cleanly.

use std::time::Duration;

use fantoccini::{Client, Locator};
use sqlx::PgPool;

use super::{click_button, poll_async, require, screenshot, wait_find, wait_text};

/// Bots queued when the window closes (the issue saw 290; the number only
/// costs time here).
const QUEUED: i64 = 50;

/// Asks the app's window to close, as its close button does (the shell
/// gets the same `CloseRequested` window event).
async fn request_close(client: &Client) -> Result<(), String> {
    client
        .execute(
            "window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' }); return true;",
            Vec::new(),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("close request: {e}"))
}

async fn count(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap_or(-1)
}

/// How many colours a picture of the whole display has (ImageMagick): an
/// empty Xvfb screen has one or two, the app's window hundreds.
fn screen_colours(display: &str) -> Result<u64, String> {
    let import = require(
        "import",
        "apt-get install imagemagick (scripts/setup.sh does)",
    );
    let shot = std::env::temp_dir().join(format!("berth-e2e-root-{}.png", std::process::id()));
    let ok = std::process::Command::new(import)
        .args(["-display", display, "-window", "root"])
        .arg(&shot)
        .status()
        .map_err(|e| e.to_string())?
        .success();
    let colours = std::process::Command::new(require("identify", "apt-get install imagemagick"))
        .args(["-format", "%k"])
        .arg(&shot)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&shot);
    let text = String::from_utf8_lossy(&colours.stdout);
    match text.trim().parse() {
        Ok(n) if ok => Ok(n),
        _ => Err(format!("no picture of display {display}: {text}")),
    }
}

/// Closes the window with bots queued (the test's own display, if it
/// has one, shows whether the window hid). The app exits at the end.
pub async fn close_with_queued_bots(
    client: &Client,
    db: &PgPool,
    own_display: Option<&str>,
) -> Result<(), String> {
    // Nothing can take a bot now: every platform disabled. Then the bots
    // queued, as `bots create` leaves them (bot row and queue entry).
    for sql in [
        "UPDATE platform_settings SET enabled = false",
        "WITH b AS (
            INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms)
            SELECT 'zoom', 'zoom', 'https://zoom.us/j/77' || lpad(n::text, 8, '0'), 100, 600000
            FROM generate_series(1, 50) AS n RETURNING id, created_at)
         INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at)
         SELECT id, 100, created_at, created_at + interval '1 hour' FROM b",
    ] {
        sqlx::query(sql)
            .execute(db)
            .await
            .map_err(|e| e.to_string())?;
    }
    let peers = count(db, "SELECT count(*) FROM peers").await;
    if peers != 1 {
        return Err(format!("{peers} live instances, expected the app alone"));
    }

    // The close request is held and answered with what closing stops.
    request_close(client).await?;
    wait_text(
        client,
        "[data-testid='close-impact']",
        &format!("{QUEUED} bots are queued and no other Berth instance is running: closing stops dispatching them."),
        Duration::from_secs(10),
    )
    .await?;
    screenshot(client, "close-prompt").await;
    click_button(client, "Cancel", Duration::from_secs(5)).await?;
    let gone = poll_async(Duration::from_secs(5), || async {
        client
            .find(Locator::Css("[data-testid='close-impact']"))
            .await
            .is_err()
    })
    .await;
    if !gone {
        return Err("Cancel did not dismiss the question".into());
    }
    // Still open and serving a moment later (the shell waits 5 s for an
    // answer before quitting on its own: the answer was given).
    tokio::time::sleep(Duration::from_secs(6)).await; // outlasting the shell's answer timeout is the point
    wait_find(client, "nav [role='tab']", Duration::from_secs(5)).await;
    if count(db, "SELECT count(*) FROM peers").await != 1 {
        return Err("the app left after Cancel".into());
    }

    // Closing again, and keeping on in the background: the window hides.
    request_close(client).await?;
    wait_find(
        client,
        "[data-testid='close-impact']",
        Duration::from_secs(10),
    )
    .await;
    if let Some(display) = own_display {
        let shown = screen_colours(display)?;
        if shown <= 2 {
            return Err(format!(
                "the window is not on the display ({shown} colours)"
            ));
        }
    }
    // Clicked from the page a moment after this command returns: WebKit's
    // driver waits for a hidden window's next frame forever, so this is the
    // last WebDriver command.
    client
        .execute(
            "setTimeout(() => [...document.querySelectorAll('button')]
               .find((b) => b.textContent.trim() === 'Keep dispatching in the background').click(), 300);
             return true;",
            Vec::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
    match own_display {
        Some(display) => {
            let hidden = poll_async(Duration::from_secs(10), || async {
                screen_colours(display).is_ok_and(|n| n <= 2)
            })
            .await;
            if !hidden {
                return Err("the window did not hide".into());
            }
        }
        None => eprintln!("e2e: on a shared display: that the window hid is not checked"),
    }
    // Capacity comes back: the hidden app dispatches every queued bot...
    for sql in [
        "UPDATE pools SET max_size = 999 WHERE name = 'zoom'",
        "UPDATE platform_settings SET enabled = true, bot_limit = 200",
    ] {
        sqlx::query(sql)
            .execute(db)
            .await
            .map_err(|e| e.to_string())?;
    }
    let drained = poll_async(Duration::from_secs(120), || async {
        count(db, "SELECT count(*) FROM bots WHERE status = 'QUEUED'").await == 0
    })
    .await;
    let deployed = count(
        db,
        "SELECT count(*) FROM bots WHERE meeting_url LIKE 'https://zoom.us/j/77%' AND deployment_platform IS NOT NULL",
    )
    .await;
    if !drained || deployed != QUEUED {
        return Err(format!(
            "in the background the app deployed {deployed} of the {QUEUED} queued bots"
        ));
    }
    // ...and then exits by itself, leaving cleanly (its peer row removed,
    // not expired).
    let left = poll_async(Duration::from_secs(30), || async {
        count(db, "SELECT count(*) FROM peers").await == 0
    })
    .await;
    if !left {
        return Err("the app did not exit once the queue was empty".into());
    }
    Ok(())
}
