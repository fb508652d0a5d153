//! The cockpit from the keyboard alone (issue 14): the command palette
//! (Ctrl+K) goes to the History view, `g d` back to the dashboard, `/`
//! focuses the slots filter, `j`/`k` move the row cursor, `?` lists the
//! shortcuts and Escape closes what is open — no mouse after the start.

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};

use super::{poll_async, press, screenshot, script, wait_find, LIVE_WITHIN};

/// Ctrl+K: down Control, press k, up Control.
async fn ctrl_k(client: &Client) -> Result<(), String> {
    let ctrl: char = Key::Control.into();
    let seq = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: ctrl })
        .then(KeyAction::Down { value: 'k' })
        .then(KeyAction::Up { value: 'k' })
        .then(KeyAction::Up { value: ctrl });
    client
        .perform_actions(seq)
        .await
        .map_err(|e| e.to_string())?;
    client.release_actions().await.map_err(|e| e.to_string())
}

async fn shown(client: &Client, css: &str) -> bool {
    client.find(Locator::Css(css)).await.is_ok()
}

const PALETTE: &str = "[role='dialog'][aria-label='Command palette']";

/// Drives the app without the mouse from the dashboard, and leaves it on
/// the dashboard.
pub async fn keyboard_only(client: &Client) -> Result<(), String> {
    // Nothing focused: the keys go to the page.
    script(
        client,
        "document.activeElement && document.activeElement.blur(); return true;",
    )
    .await;

    ctrl_k(client).await?;
    wait_find(client, PALETTE, Duration::from_secs(5)).await;
    press(client, &"history".chars().collect::<Vec<_>>()).await?;
    screenshot(client, "palette").await;
    press(client, &[Key::Enter.into()]).await?;
    let history = poll_async(LIVE_WITHIN, || async {
        !shown(client, PALETTE).await && script(client, "return location.hash").await == "#/history"
    })
    .await;
    if !history {
        return Err("the palette's 'History' did not open the History view".into());
    }
    wait_find(
        client,
        "[role='radio'][aria-checked='true']",
        Duration::from_secs(10),
    )
    .await;
    // The bots the scenario deployed earlier held slots in the last hour.
    let charted = poll_async(Duration::from_secs(20), || async {
        shown(client, "figure[data-testid] [role='img']").await
            && !shown(client, "[data-testid='history-empty']").await
    })
    .await;
    if !charted {
        let page = script(client, "return document.querySelector('main')?.innerText").await;
        return Err(format!("the History view charts nothing: {page}"));
    }
    screenshot(client, "history").await;

    // `g d`: the dashboard.
    press(client, &['g', 'd']).await?;
    wait_find(
        client,
        "[data-testid='stat-idle-value']",
        Duration::from_secs(10),
    )
    .await;

    // `/`: the view's filter takes the focus; Escape gives it back.
    press(client, &['/']).await?;
    let focused = script(
        client,
        "return document.activeElement?.getAttribute('aria-label')",
    )
    .await;
    if focused != "Search slots" {
        return Err(format!("'/' focused {focused}, not the slots search"));
    }
    press(client, &[Key::Escape.into()]).await?;

    // `j` `j` `k`: the row cursor moves down twice and up once.
    press(client, &['j', 'j', 'k']).await?;
    let row = script(
        client,
        "const rows = [...document.querySelectorAll(\"[data-cursor-table]\")];
         return rows.findIndex(r => r.getAttribute('data-cursor') === 'true');",
    )
    .await;
    if row != 0 {
        return Err(format!(
            "after j j k the cursor is on row {row}, not the first"
        ));
    }

    // `?`: the shortcuts; Escape closes them.
    press(client, &['?']).await?;
    let help = wait_find(
        client,
        "[role='dialog'][aria-labelledby='shortcuts-title']",
        Duration::from_secs(5),
    )
    .await;
    let text = help.text().await.unwrap_or_default();
    if !text.contains("Command palette") {
        return Err(format!(
            "the shortcuts list does not name the palette: {text}"
        ));
    }
    press(client, &[Key::Escape.into()]).await?;
    let closed = poll_async(Duration::from_secs(5), || async {
        !shown(client, "[role='dialog'][aria-labelledby='shortcuts-title']").await
    })
    .await;
    if !closed {
        return Err("Escape did not close the shortcuts list".into());
    }
    Ok(())
}
