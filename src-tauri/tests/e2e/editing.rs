//! Editing in the real app (issue 11, items 25 and 26): typing in the query
//! builder at 30 ms a key keeps every key and keeps pace, and leaving a view
//! with unsaved edits asks first.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use sqlx::PgPool;

use super::{
    click_button, click_tab, definition_text, new_valid_definition, poll_async, retype, screenshot,
    wait_find,
};

/// The pace of the typing, as in the issue.
const PER_KEY: Duration = Duration::from_millis(30);

/// Types `text` into the focused element one key at a time, `per_key`
/// apart (down, up, pause), as one WebDriver action sequence: WebKit
/// delivers each key once the page handled the one before.
async fn type_paced(client: &Client, text: &str, per_key: Duration) -> Result<(), String> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut keys = KeyActions::new("keyboard".into());
    for c in text.chars() {
        keys = keys
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c })
            .then(KeyAction::Pause { duration: per_key });
    }
    client
        .perform_actions(keys)
        .await
        .map_err(|e| e.to_string())?;
    client.release_actions().await.map_err(|e| e.to_string())
}

/// The dialog that asks before unsaved edits are discarded, if shown.
async fn leave_dialog(client: &Client) -> Option<fantoccini::elements::Element> {
    client
        .find(Locator::Css(
            "[role='dialog'][aria-labelledby='confirm-title']",
        ))
        .await
        .ok()
}

async fn answer_leave(client: &Client, button: &str) -> Result<String, String> {
    let dialog = poll_for_dialog(client).await?;
    let text = dialog.text().await.unwrap_or_default();
    if !text.contains("Discard unsaved changes?") {
        return Err(format!("another dialog is open: {text}"));
    }
    click_button(client, button, Duration::from_secs(5)).await?;
    Ok(text)
}

async fn poll_for_dialog(client: &Client) -> Result<fantoccini::elements::Element, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(d) = leave_dialog(client).await {
            return Ok(d);
        }
        if Instant::now() >= deadline {
            return Err("leaving with unsaved edits did not ask".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Item 25 in Settings: an edit typed and not saved; switching views asks;
/// Cancel keeps the edit, Discard leaves and nothing was saved.
pub async fn settings_ask_before_leaving(client: &Client, db: &PgPool) -> Result<(), String> {
    click_tab(client, "Settings").await;
    let limit = wait_find(
        client,
        "input[aria-label='K8s bot limit']",
        Duration::from_secs(10),
    )
    .await;
    let before: Option<i32> =
        sqlx::query_scalar("SELECT bot_limit FROM platform_settings WHERE platform = 'k8s'")
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
    retype(&limit, "9").await;
    click_tab(client, "Pools").await;
    let text = answer_leave(client, "Cancel").await?;
    if !text.contains("Unsaved changes in Settings") {
        return Err(format!("the question does not name Settings: {text}"));
    }
    let kept = limit.prop("value").await.map_err(|e| e.to_string())?;
    if kept.as_deref() != Some("9") {
        return Err(format!("Cancel did not keep the edit: {kept:?}"));
    }
    click_tab(client, "Pools").await;
    answer_leave(client, "Discard changes").await?;
    wait_find(
        client,
        "section[aria-label='Definitions'], [data-testid^='definition-']",
        Duration::from_secs(10),
    )
    .await;
    let after: Option<i32> =
        sqlx::query_scalar("SELECT bot_limit FROM platform_settings WHERE platform = 'k8s'")
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
    if after != before {
        return Err(format!(
            "a discarded edit reached the database: {before:?} → {after:?}"
        ));
    }
    Ok(())
}

/// Item 26 and 25 in the Pools view: a value typed in the query builder at
/// 30 ms a key arrives whole, each key is handled faster than the next one
/// comes, and leaving right after typing (the blur writes it) asks first.
pub async fn query_builder_typing(client: &Client, db: &PgPool) -> Result<(), String> {
    // A table the account query role can read, so the builder offers its columns.
    for sql in [
        "DO $$ BEGIN CREATE ROLE berth_query LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        "CREATE TABLE accounts (id integer PRIMARY KEY, email text, status text)",
        "GRANT SELECT ON accounts TO berth_query",
    ] {
        sqlx::query(sql).execute(db).await.map_err(|e| e.to_string())?;
    }
    click_tab(client, "Pools").await;
    let yaml = "name: typed\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 1\naccounts:\n  type: sql\n  builder:\n    table: accounts\n    filters:\n      - { column: status, op: =, value: \"\" }\n";
    new_valid_definition(client, yaml).await?;
    click_button(client, "Query builder", Duration::from_secs(5)).await?;
    wait_find(
        client,
        "section[aria-label='Query builder'] input[type='checkbox']",
        Duration::from_secs(15),
    )
    .await;
    let value = wait_find(
        client,
        "[aria-label='Filter 1'] input[aria-label='Value']",
        Duration::from_secs(10),
    )
    .await;
    value.click().await.map_err(|e| e.to_string())?;
    // How long the page takes to handle each key: from the input event
    // (a capturing listener, before React's) to the next task.
    client
        .execute(
            "window.__keyMs = [];
             document.addEventListener('input', () => {
               const t0 = performance.now();
               setTimeout(() => window.__keyMs.push(performance.now() - t0), 0);
             }, true);",
            Vec::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    type_paced(client, "available", PER_KEY).await?;
    let took = started.elapsed();
    let typed = value.prop("value").await.map_err(|e| e.to_string())?;
    let ms: Vec<f64> = client
        .execute("return window.__keyMs", Vec::new())
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    let max = ms.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "e2e: typed {typed:?} at {PER_KEY:?} a key in {took:?}; handling a key: mean {mean:.1} ms, max {max:.1} ms over {} keys",
        ms.len()
    );
    if typed.as_deref() != Some("available") {
        return Err(format!("the builder kept {typed:?} of \"available\""));
    }
    if ms.len() != 9 {
        return Err(format!("{} input events for 9 keys", ms.len()));
    }
    // How fast each key is handled is reported above, not asserted: on two
    // cores shared with the rest of the test run it measures the machine's
    // load (a timed test), while every key arriving is the behaviour.
    screenshot(client, "builder-typed").await;

    // Leaving right away: the field's blur writes the value into the text
    // (an unsaved edit), so the app asks first; Cancel keeps it all.
    click_tab(client, "Pool dashboard").await;
    answer_leave(client, "Cancel").await?;
    click_button(client, "YAML", Duration::from_secs(5)).await?;
    let text = definition_text(client, Duration::from_secs(5)).await?;
    if !text.contains("{ column: status, op: =, value: available }") {
        return Err(format!("the YAML does not hold the typed value:\n{text}"));
    }
    click_tab(client, "Pool dashboard").await;
    answer_leave(client, "Discard changes").await?;
    wait_find(
        client,
        "[data-testid='stat-idle-value']",
        Duration::from_secs(10),
    )
    .await;
    let ok = poll_async(Duration::from_secs(2), || async {
        leave_dialog(client).await.is_none()
    })
    .await;
    if !ok {
        return Err("the question stayed open after Discard".into());
    }
    Ok(())
}
