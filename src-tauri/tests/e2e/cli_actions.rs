//! The operator's actions from a terminal (issue 14), with the app open:
//! every platform drained, bots queued, one re-prioritised and cancelled,
//! a slot restarted, drained and undrained, the platforms undrained, each
//! by `berth … --reason`; after each the open app shows the change without
//! a refresh (the change feed), and the audit panel names the CLI.

use std::time::Duration;

use fantoccini::Client;
use sqlx::PgPool;

use super::actions::{audit, open_tab, shown_slots, slot_uuid};
use super::{open_dashboard, poll_async, run_berth, script, LIVE_WITHIN};

/// Runs `berth --dev --json <args>` against the app's database, as an
/// operator in a terminal would; its JSON output.
pub(super) fn berth(url: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let args: Vec<&str> = std::iter::once("--json")
        .chain(args.iter().copied())
        .collect();
    let out = run_berth(url, &args, &[])?;
    serde_json::from_str(&out).map_err(|e| format!("berth {args:?}: not JSON ({e}): {out}"))
}

/// Waits until `js` (a script returning a value) returns something `ok` accepts.
async fn shows(
    client: &Client,
    js: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
    what: &str,
) -> Result<(), String> {
    let seen = poll_async(LIVE_WITHIN, || async { ok(&script(client, js).await) }).await;
    if seen {
        Ok(())
    } else {
        Err(format!(
            "the app did not show {what} live (last: {})",
            script(client, js).await
        ))
    }
}

/// The newest audit row on `target` names the CLI with `reason`.
async fn audited_by_cli(
    db: &PgPool,
    action: &str,
    target: &str,
    reason: &str,
) -> Result<(), String> {
    match audit(db, action, target).await {
        Some((actor, Some(r))) if actor.starts_with("cli:") && r == reason => Ok(()),
        other => Err(format!("{action} on {target}: audit row {other:?}")),
    }
}

fn queue_row(id: i64) -> String {
    format!(
        "return document.querySelector(\"[aria-label='Global queue'] button[aria-label='Actions for bot #{id}']\")?.closest('[role=row]')"
    )
}

/// Drains every platform from the CLI (the app shows each drained, live)
/// and queues two bots (the app's global queue lists both, live). The two
/// bots' ids, oldest first.
pub async fn hold_the_queue(client: &Client, db: &PgPool, url: &str) -> Result<(i64, i64), String> {
    open_tab(client, "Infrastructure").await?;
    let platforms: Vec<(String, bool)> =
        sqlx::query_as("SELECT platform, enabled FROM platform_settings ORDER BY position")
            .fetch_all(db)
            .await
            .map_err(|e| e.to_string())?;
    for (platform, _) in &platforms {
        berth(
            url,
            &["platforms", "drain", platform, "--reason", "e2e hold"],
        )?;
        audited_by_cli(db, "platform.drain", platform, "e2e hold").await?;
    }
    for (platform, _) in platforms.iter().filter(|(_, enabled)| *enabled) {
        let js = format!(
            "return document.querySelector(\"[data-testid='drain-{platform}']\")?.textContent"
        );
        shows(
            client,
            &js,
            |v| {
                v.as_str()
                    .is_some_and(|t| t.starts_with("Drained by cli:") && t.contains("e2e hold"))
            },
            &format!("{platform} drained by the CLI"),
        )
        .await?;
    }
    let mut ids = Vec::new();
    for n in 0..2 {
        let meeting = format!("https://zoom.us/j/55500{n}1234");
        let made = berth(
            url,
            &[
                "bots",
                "create",
                "--meeting-platform",
                "zoom",
                "--meeting-url",
                &meeting,
            ],
        )?;
        if made["result"] != "queued" {
            return Err(format!("a bot created with every platform drained: {made}"));
        }
        ids.push(
            made["botId"]
                .as_i64()
                .ok_or(format!("no botId in {made}"))?,
        );
    }
    for id in &ids {
        shows(
            client,
            &format!("{};", queue_row(*id)),
            |v| !v.is_null(),
            &format!("bot #{id} queued"),
        )
        .await?;
    }
    Ok((ids[0], ids[1]))
}

/// From the CLI, with the app on the Infrastructure view and then the
/// dashboard: bot `queued` re-prioritised and cancelled, an idle slot
/// restarted, the platforms undrained, a slot drained and undrained.
pub async fn from_the_cli(
    client: &Client,
    db: &PgPool,
    url: &str,
    queued: i64,
) -> Result<(), String> {
    open_tab(client, "Infrastructure").await?;
    let id = queued.to_string();
    berth(
        url,
        &["bots", "priority", &id, "3", "--reason", "e2e cli priority"],
    )?;
    audited_by_cli(db, "bot.priority", &id, "e2e cli priority").await?;
    let cell = format!(
        "const r = (() => {{ {} }})(); return r?.children[4]?.textContent;",
        queue_row(queued)
    );
    shows(
        client,
        &cell,
        |v| v.as_str() == Some("3"),
        "the new priority 3",
    )
    .await?;

    berth(url, &["bots", "cancel", &id, "--reason", "e2e cli cancel"])?;
    audited_by_cli(db, "bot.cancel", &id, "e2e cli cancel").await?;
    shows(
        client,
        &format!("{};", queue_row(queued)),
        |v| v.is_null(),
        "the cancelled bot leave the queue",
    )
    .await?;

    let idle: String = sqlx::query_scalar(
        "SELECT slot_name FROM pool_slots WHERE status = 'idle' AND NOT draining ORDER BY slot_name LIMIT 1",
    )
    .fetch_one(db)
    .await
    .map_err(|e| format!("no idle slot to restart: {e}"))?;
    berth(
        url,
        &["slots", "restart", &idle, "--reason", "e2e cli restart"],
    )?;
    audited_by_cli(db, "slot.restart", &idle, "e2e cli restart").await?;
    shows(
        client,
        "return document.querySelector(\"[aria-label='Audit log']\")?.innerText",
        |v| {
            v.as_str().is_some_and(|t| {
                t.lines()
                    .any(|l| l.contains("cli:") && l.contains("e2e cli restart"))
            })
        },
        "the CLI's restart in the audit panel",
    )
    .await?;

    let platforms: Vec<String> = sqlx::query_scalar("SELECT platform FROM platform_settings")
        .fetch_all(db)
        .await
        .map_err(|e| e.to_string())?;
    for platform in &platforms {
        berth(
            url,
            &["platforms", "undrain", platform, "--reason", "e2e release"],
        )?;
    }
    let enabled: Vec<String> =
        sqlx::query_scalar("SELECT platform FROM platform_settings WHERE enabled")
            .fetch_all(db)
            .await
            .map_err(|e| e.to_string())?;
    for platform in &enabled {
        let js = format!(
            "return document.querySelector(\"[data-testid='drain-{platform}']\")?.textContent"
        );
        shows(
            client,
            &js,
            |v| v.as_str() == Some("Takes new bots"),
            &format!("{platform} undrained"),
        )
        .await?;
    }
    slot_drain_from_the_cli(client, db, url).await
}

/// Drains a shown slot from the CLI: a busy one gets its DRAINING badge
/// live (and loses it on undrain); an idle one is deleted at once.
async fn slot_drain_from_the_cli(client: &Client, db: &PgPool, url: &str) -> Result<(), String> {
    open_dashboard(client, Duration::from_secs(10)).await;
    let names = shown_slots(client).await;
    let (slot, status): (String, String) = sqlx::query_as(
        "SELECT slot_name, status::text FROM pool_slots
         WHERE slot_name = ANY($1) AND NOT draining AND status IN ('busy', 'idle')
         ORDER BY status = 'busy' DESC, slot_name LIMIT 1",
    )
    .bind(&names)
    .fetch_one(db)
    .await
    .map_err(|e| format!("no busy or idle slot shown ({names:?}): {e}"))?;
    let badge = format!(
        "const c = [...document.querySelectorAll(\"[data-testid='slot-row'] input[aria-label='Select {slot}']\")][0];
         const row = c?.closest(\"[data-testid='slot-row']\");
         return row ? row.textContent.includes('DRAINING') : null;"
    );
    let uuid = slot_uuid(db, &slot).await?;
    berth(url, &["slots", "drain", &slot, "--reason", "e2e cli drain"])?;
    audited_by_cli(db, "slot.drain", &slot, "e2e cli drain").await?;
    if status == "idle" {
        // Deleted at once. Pre-warming may refill its name straight away, so
        // the table can show that name again (a new slot): check the
        // database by the slot's uuid instead.
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE uuid = $1")
            .bind(uuid)
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
        return if left == 0 {
            Ok(())
        } else {
            Err(format!("idle slot {slot} not deleted by its drain"))
        };
    }
    shows(
        client,
        &badge,
        |v| v.as_bool() == Some(true),
        &format!("{slot} DRAINING"),
    )
    .await?;
    berth(
        url,
        &["slots", "undrain", &slot, "--reason", "e2e cli undrain"],
    )?;
    shows(
        client,
        &badge,
        |v| v.as_bool() == Some(false),
        &format!("{slot} no longer draining"),
    )
    .await
}
