//! The operator's actions from the app (issue 14): a slot restart and a
//! slot drain from the slots table's row menus, a platform drained (and
//! undrained again) from its section, a queued bot re-prioritised and
//! cancelled from the global queue's menu; each confirmed in the app's
//! dialog with a reason, then checked in the database (the rows it changed
//! and its `audit_log` row, actor `desktop:…`) and in the app's audit
//! panel. Then the same kinds from a terminal ([`cli_actions`]).
//!
//! Assumes: the app is running against `db`, the dashboard shows at least
//! two slots (one of them idle), no bot is queued and no platform drained.
//! Leaves the app on the dashboard with no platform drained and no bot
//! queued; the restarted slot stays, the slot drained from the app is
//! draining (or deleted, if it was idle), both queued bots are cancelled
//! (`FATAL`).

use std::time::Duration;

use fantoccini::{Client, Locator};
use sqlx::PgPool;

use super::{cli_actions, open_dashboard, poll_async, script, wait_find, LIVE_WITHIN};

const DIALOG: &str = "[role='dialog'][aria-modal='true']";

/// Clicks the nav tab labelled `label`.
pub async fn open_tab(client: &Client, label: &str) -> Result<(), String> {
    for tab in client
        .find_all(Locator::Css("nav [role='tab']"))
        .await
        .map_err(|e| e.to_string())?
    {
        if tab.text().await.unwrap_or_default().trim() == label {
            return tab.click().await.map_err(|e| e.to_string());
        }
    }
    Err(format!("no {label} tab"))
}

/// Clicks the open menu's item `label`.
async fn menu_item(client: &Client, label: &str) -> Result<(), String> {
    wait_find(client, "[role='menuitem']", Duration::from_secs(5)).await;
    for item in client
        .find_all(Locator::Css("[role='menuitem']"))
        .await
        .map_err(|e| format!("menu item {label}: {e}"))?
    {
        if item.text().await.unwrap_or_default().trim() == label {
            if let Err(e) = item.click().await {
                super::screenshot(client, "menu-fail").await;
                let rect = script(client, "return JSON.stringify([...document.querySelectorAll(\"[role='menuitem']\")].map(i => [i.textContent, i.getBoundingClientRect()]).concat([[innerWidth, innerHeight]]))").await;
                return Err(format!("menu item {label}: {e:?} {rect}"));
            }
            return Ok(());
        }
    }
    Err(format!("no menu item {label}"))
}

/// In the open confirmation: types `reason`, confirms, and waits for the
/// dialog to close (a dialog still open lists refusals: its text is the error).
async fn confirm(client: &Client, reason: &str) -> Result<(), String> {
    wait_find(client, DIALOG, Duration::from_secs(5)).await;
    let input = wait_find(
        client,
        &format!("{DIALOG} input[aria-label='Reason']"),
        Duration::from_secs(5),
    )
    .await;
    input
        .send_keys(reason)
        .await
        .map_err(|e| format!("confirm: {e}"))?;
    for button in client
        .find_all(Locator::Css(&format!("{DIALOG} button")))
        .await
        .map_err(|e| format!("confirm: {e}"))?
    {
        if button.text().await.unwrap_or_default().trim() == "Confirm" {
            button.click().await.map_err(|e| format!("confirm: {e}"))?;
            let closed = poll_async(LIVE_WITHIN, || async {
                client.find(Locator::Css(DIALOG)).await.is_err()
            })
            .await;
            if closed {
                return Ok(());
            }
            let text = script(
                client,
                "return document.querySelector(\"[role='dialog'][aria-modal='true']\")?.innerText",
            )
            .await;
            return Err(format!("the confirmation did not close: {text}"));
        }
    }
    Err("the confirmation has no Confirm button".into())
}

/// The uuid of the slot named `slot` now (a name can be reused once it is deleted).
pub async fn slot_uuid(db: &PgPool, slot: &str) -> Result<sqlx::types::Uuid, String> {
    sqlx::query_scalar("SELECT uuid FROM pool_slots WHERE slot_name = $1")
        .bind(slot)
        .fetch_one(db)
        .await
        .map_err(|e| format!("slot {slot}: {e}"))
}

/// Opens slot `slot`'s row menu and clicks its item `item`.
async fn slot_menu(client: &Client, slot: &str, item: &str) -> Result<(), String> {
    client
        .find(Locator::Css(&format!(
            "button[aria-label='Actions for {slot}']"
        )))
        .await
        .map_err(|e| format!("{slot}'s menu: {e}"))?
        .click()
        .await
        .map_err(|e| format!("{slot}'s menu: {e}"))?;
    menu_item(client, item).await
}

/// The newest audit row of `action` on `target`: (actor, reason).
pub async fn audit(db: &PgPool, action: &str, target: &str) -> Option<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT actor, reason FROM audit_log WHERE action = $1 AND target = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(action)
    .bind(target)
    .fetch_optional(db)
    .await
    .ok()
    .flatten()
}

/// Waits for the audit row of `action` on `target` by the desktop with `reason`.
async fn audited(db: &PgPool, action: &str, target: &str, reason: &str) -> Result<(), String> {
    let ok = poll_async(LIVE_WITHIN, || async {
        matches!(audit(db, action, target).await,
            Some((actor, Some(r))) if actor.starts_with("desktop:") && r == reason)
    })
    .await;
    if ok {
        Ok(())
    } else {
        let row = audit(db, action, target).await;
        Err(format!(
            "no audit row {action} on {target} by the desktop with reason {reason:?}: {row:?}"
        ))
    }
}

/// The slots shown in the table (the first rows of the virtualised body).
pub async fn shown_slots(client: &Client) -> Vec<String> {
    let names = script(
        client,
        "return [...document.querySelectorAll(\"[data-testid='slot-row'] input[type='checkbox']\")]
           .map(c => c.getAttribute('aria-label').replace(/^Select /, ''));",
    )
    .await;
    serde_json::from_value(names).unwrap_or_default()
}

async fn slot_actions(client: &Client, db: &PgPool) -> Result<(), String> {
    open_dashboard(client, Duration::from_secs(10)).await;
    wait_find(client, "[data-testid='slot-row']", Duration::from_secs(10)).await;
    let names = shown_slots(client).await;
    let statuses: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT slot_name, status::text, assigned_bot_id FROM pool_slots WHERE slot_name = ANY($1)",
    )
    .bind(&names)
    .fetch_all(db)
    .await
    .map_err(|e| e.to_string())?;
    let idle = statuses
        .iter()
        .find(|(_, s, bot)| s == "idle" && bot.is_none())
        .map(|(n, _, _)| n.clone())
        .ok_or_else(|| format!("no idle slot among the shown ones: {statuses:?}"))?;
    let other = statuses
        .iter()
        .map(|(n, _, _)| n.clone())
        .find(|n| *n != idle)
        .ok_or("only one slot shown")?;

    // Restart the idle slot.
    slot_menu(client, &idle, "Restart").await?;
    confirm(client, "e2e restart").await?;
    audited(db, "slot.restart", &idle, "e2e restart").await?;

    // Drain another: it stays draining (deleted at once if it was idle).
    // By its uuid: pre-warming may refill a deleted idle slot's name at once.
    let uuid = slot_uuid(db, &other).await?;
    slot_menu(client, &other, "Drain").await?;
    confirm(client, "e2e drain").await?;
    audited(db, "slot.drain", &other, "e2e drain").await?;
    let draining: Option<(bool,)> =
        sqlx::query_as("SELECT draining FROM pool_slots WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(db)
            .await
            .map_err(|e| e.to_string())?;
    if draining == Some((false,)) {
        return Err(format!("slot {other} is not draining after the drain"));
    }
    Ok(())
}

/// Re-prioritises (7) and cancels the queued bot `id` from the global queue's menu.
async fn bot_actions(client: &Client, db: &PgPool, id: i64) -> Result<(), String> {
    open_tab(client, "Infrastructure").await?;
    let button = format!("[aria-label='Global queue'] button[aria-label='Actions for bot #{id}']");
    let menu = wait_find(client, &button, Duration::from_secs(10)).await;
    let target = id.to_string();

    // Priority 7.
    menu.click()
        .await
        .map_err(|e| format!("bot actions step 1: {e}"))?;
    menu_item(client, "Change priority").await?;
    let priority = wait_find(
        client,
        &format!("{DIALOG} input[aria-label='Priority']"),
        Duration::from_secs(5),
    )
    .await;
    priority
        .clear()
        .await
        .map_err(|e| format!("bot actions step 2: {e}"))?;
    priority
        .send_keys("7")
        .await
        .map_err(|e| format!("bot actions step 3: {e}"))?;
    confirm(client, "e2e priority").await?;
    audited(db, "bot.priority", &target, "e2e priority").await?;
    let (p,): (i32,) = sqlx::query_as("SELECT priority FROM bots WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .map_err(|e| format!("bot actions step 4: {e}"))?;
    if p != 7 {
        return Err(format!("bot #{id} has priority {p}, not 7"));
    }

    // Cancel it.
    wait_find(client, &button, Duration::from_secs(5))
        .await
        .click()
        .await
        .map_err(|e| format!("bot actions step 5: {e}"))?;
    menu_item(client, "Cancel").await?;
    confirm(client, "e2e cancel").await?;
    audited(db, "bot.cancel", &target, "e2e cancel").await?;
    let (status,): (String,) = sqlx::query_as("SELECT status FROM bots WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .map_err(|e| format!("bot actions step 6: {e}"))?;
    if status != "FATAL" {
        return Err(format!("bot #{id} is {status} after its cancel, not FATAL"));
    }
    Ok(())
}

/// Clicks the first platform section's button starting with `verb ` ("Drain", "Undrain"); returns its platform.
async fn platform_button(
    client: &Client,
    verb: &str,
    platform: Option<&str>,
) -> Result<String, String> {
    let scope = platform.map_or("section[data-testid^='platform-']".to_string(), |p| {
        format!("section[data-testid='platform-{p}']")
    });
    let js = format!(
        "const b = [...document.querySelectorAll(\"{scope} button\")].find(b => b.textContent.startsWith('{verb} '));
         if (!b) return null; b.click(); return b.closest('section').getAttribute('data-testid').slice('platform-'.length);"
    );
    match script(client, &js).await {
        serde_json::Value::String(p) => Ok(p),
        other => Err(format!("no {verb} button on a platform section ({other})")),
    }
}

async fn platform_actions(client: &Client, db: &PgPool) -> Result<(), String> {
    open_tab(client, "Infrastructure").await?;
    wait_find(
        client,
        "section[data-testid^='platform-'] button",
        Duration::from_secs(10),
    )
    .await;
    let platform = platform_button(client, "Drain", None).await?;
    confirm(client, "e2e platform drain").await?;
    audited(db, "platform.drain", &platform, "e2e platform drain").await?;
    let drain: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT drained_by, drain_reason FROM platform_health WHERE platform = $1")
            .bind(&platform)
            .fetch_optional(db)
            .await
            .map_err(|e| e.to_string())?;
    match &drain {
        Some((Some(by), Some(reason)))
            if by.starts_with("desktop:") && reason == "e2e platform drain" => {}
        other => return Err(format!("platform {platform} after its drain: {other:?}")),
    }
    // The section says who drained it and why.
    let says = poll_async(LIVE_WITHIN, || async {
        let text = script(
            client,
            &format!(
                "return document.querySelector(\"[data-testid='drain-{platform}']\")?.textContent"
            ),
        )
        .await;
        text.as_str().is_some_and(|t| {
            t.starts_with("Drained by desktop:") && t.contains("e2e platform drain")
        })
    })
    .await;
    if !says {
        return Err(format!(
            "the {platform} section does not say who drained it"
        ));
    }

    // Undrain it again (the rest of the scenario needs the platform).
    platform_button(client, "Undrain", Some(&platform)).await?;
    confirm(client, "e2e platform undrain").await?;
    audited(db, "platform.undrain", &platform, "e2e platform undrain").await?;
    let drained: (bool,) =
        sqlx::query_as("SELECT drained_at IS NOT NULL FROM platform_health WHERE platform = $1")
            .bind(&platform)
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
    if drained.0 {
        return Err(format!(
            "platform {platform} is still drained after its undrain"
        ));
    }
    Ok(())
}

/// Each action kind once from the app, checked in the database, the audit
/// log and the app's audit panel; then the same kinds from the CLI, with
/// the open app updating live (see the module's doc for what it assumes).
pub async fn actions_from_the_app_and_the_cli(
    client: &Client,
    db: &PgPool,
    url: &str,
) -> Result<(), String> {
    slot_actions(client, db).await?;
    platform_actions(client, db).await?;
    // A queue to act on: every platform drained from a terminal.
    let (first, second) = cli_actions::hold_the_queue(client, db, url).await?;
    bot_actions(client, db, first).await?;
    // The audit panel shows the newest action live.
    let listed = poll_async(LIVE_WITHIN, || async {
        let text = script(
            client,
            "return document.querySelector(\"[aria-label='Audit log']\")?.innerText",
        )
        .await;
        text.as_str()
            .is_some_and(|t| t.contains("platform.undrain") && t.contains("bot.cancel"))
    })
    .await;
    if !listed {
        return Err("the audit log panel does not list the actions".into());
    }
    cli_actions::from_the_cli(client, db, url, second).await
}
