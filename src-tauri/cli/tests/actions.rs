//! The operator's actions from the `berth` binary (issue 14): slots,
//! bots, platforms, settings and the audit log, against a real PostgreSQL
//! (each test its own database). The CLI only maps arguments: these check
//! the mapping, the output (text and `--json`), the exit codes, and that
//! each action reached the database and its audit log.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{berth, command, database_snapshot, finish, ok, ok_json, text, TestDb, INSTANT_K8S};

/// Migrated with k8s pinned to one bot by the environment (so a second
/// bot queues), every other platform disabled through `settings set`.
async fn one_k8s_slot(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    let mut migrate = command(&db.url, &["--dev", "migrate"]);
    migrate
        .env("K8S_BOT_LIMIT", "1")
        .env("K8S_QUEUE_TIMEOUT_MS", "0");
    let out = finish(migrate, Duration::from_secs(60)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    ok(&db.url, INSTANT_K8S).await;
    let shown = ok_json(&db.url, &["settings", "show"]).await;
    for p in shown["platforms"].as_array().unwrap() {
        let name = p["platform"].as_str().unwrap();
        if name != "k8s" {
            ok(
                &db.url,
                &[
                    "--dev",
                    "settings",
                    "set",
                    "--platform",
                    name,
                    "--enabled",
                    "false",
                ],
            )
            .await;
        }
    }
    db
}

async fn create(db: &TestDb, n: u32) -> Value {
    let url = format!("https://zoom.us/j/{n}");
    ok_json(
        &db.url,
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            &url,
        ],
    )
    .await
}

async fn audit_of(db: &TestDb, target: &str) -> Vec<Value> {
    let rows = ok_json(&db.url, &["audit", "--target", target]).await;
    rows.as_array().unwrap().clone()
}

#[tokio::test]
async fn slot_actions_print_each_slots_outcome_and_refuse_a_busy_delete() {
    let db = one_k8s_slot("cli-slot-actions").await;
    let deployed = create(&db, 1).await;
    assert_eq!(deployed["result"], "deployed", "{deployed}");
    let slot = deployed["slotName"].as_str().unwrap().to_string();

    // Drain: the outcome per name, the audit row.
    let out = ok_json(
        &db.url,
        &["--dev", "slots", "drain", &slot, "--reason", "node upgrade"],
    )
    .await;
    assert_eq!(out[0]["slot"], slot.as_str());
    assert_eq!(out[0]["done"]["draining"], true);
    let rows = audit_of(&db, &slot).await;
    assert_eq!(rows[0]["action"], "slot.drain");
    assert_eq!(rows[0]["reason"], "node upgrade");
    assert!(rows[0]["actor"].as_str().unwrap().starts_with("cli:"));
    let undrained = ok(&db.url, &["--dev", "slots", "undrain", &slot]).await;
    assert!(undrained.contains(&format!("{slot}: now ")), "{undrained}");

    // Delete while busy: refused, exit 1, nothing written; the JSON
    // refusal carries every slot's outcome.
    let before = database_snapshot(&db.pool).await;
    let refused = berth(&db.url, &["--json", "--dev", "slots", "delete", &slot]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("error[slot_busy]"),
        "{}",
        text(&refused.stderr)
    );
    let doc: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "slot_busy");
    assert_eq!(doc["outcomes"][0]["error"]["code"], "slot_busy");
    assert_eq!(
        database_snapshot(&db.pool).await,
        before,
        "a refusal writes nothing"
    );

    // Forced: the bot ends FATAL with the reason, the slot is gone.
    let out = ok(
        &db.url,
        &[
            "--dev", "slots", "delete", &slot, "--force", "--reason", "bad disk",
        ],
    )
    .await;
    assert!(
        out.contains("now deleted") && out.contains("ended FATAL"),
        "{out}"
    );
    let id = deployed["botId"].as_i64().unwrap().to_string();
    let bot = ok_json(&db.url, &["bots", "show", &id]).await;
    assert_eq!(bot["status"], "FATAL");
    assert!(
        bot["error"].as_str().unwrap().ends_with(": bad disk"),
        "{bot}"
    );
    let listed = ok_json(&db.url, &["slots"]).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["slotName"] != slot.as_str()));

    // Recover a slot not in error, and an unknown one: refused.
    let out = berth(&db.url, &["--dev", "slots", "recover", "pool-zoom-404"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[not_found]"));
    db.drop_db().await;
}

#[tokio::test]
async fn bot_actions_reprioritise_reroute_cancel_and_redeploy() {
    let db = one_k8s_slot("cli-bot-actions").await;
    create(&db, 1).await;
    let queued = create(&db, 2).await;
    assert_eq!(queued["result"], "queued", "{queued}");
    let id = queued["botId"].as_i64().unwrap().to_string();

    let p = ok_json(
        &db.url,
        &["--dev", "bots", "priority", &id, "7", "--reason", "vip"],
    )
    .await;
    assert_eq!(
        (p["from"].clone(), p["to"].clone()),
        (Value::from(100), Value::from(7))
    );
    let r = ok(&db.url, &["--dev", "bots", "reroute", &id, "k8s"]).await;
    assert!(r.contains("pinned to k8s"), "{r}");
    let r = ok_json(&db.url, &["--dev", "bots", "reroute", &id, "--clear"]).await;
    assert_eq!(r["to"], Value::Null);
    let bad = berth(&db.url, &["--dev", "bots", "reroute", &id]).await;
    assert_eq!(bad.status.code(), Some(2), "a platform or --clear");

    let c = ok_json(
        &db.url,
        &["--dev", "bots", "cancel", &id, "--reason", "duplicate"],
    )
    .await;
    assert_eq!(c["status"], "FATAL");
    assert!(c["error"].as_str().unwrap().ends_with(": duplicate"));
    let again = ok_json(&db.url, &["--dev", "bots", "redeploy", &id]).await;
    assert_eq!(again["fromBotId"].as_i64().unwrap().to_string(), id);
    assert_ne!(again["botId"], again["fromBotId"]);

    let actions: Vec<String> = audit_of(&db, &id)
        .await
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "bot.redeploy",
            "bot.cancel",
            "bot.reroute",
            "bot.reroute",
            "bot.priority"
        ],
        "newest first"
    );
    let text_log = ok(&db.url, &["audit", "--target-kind", "bot", "--since", "1h"]).await;
    assert!(
        text_log.contains("bot.priority") && text_log.contains("vip"),
        "{text_log}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn platforms_drain_and_settings_follow_the_apps_rules() {
    let db = one_k8s_slot("cli-platforms").await;
    let d = ok_json(
        &db.url,
        &["--dev", "platforms", "drain", "k8s", "--reason", "upgrade"],
    )
    .await;
    assert_eq!(d["drain"]["reason"], "upgrade");
    let status = ok_json(&db.url, &["status"]).await;
    let k8s = status["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "k8s")
        .unwrap()
        .clone();
    assert!(
        k8s["drain"]["by"].as_str().unwrap().starts_with("cli:"),
        "{k8s}"
    );
    let queued = create(&db, 1).await;
    assert_eq!(queued["result"], "queued", "k8s drained: {queued}");
    let twice = berth(&db.url, &["--dev", "platforms", "drain", "k8s"]).await;
    assert!(text(&twice.stderr).contains("error[not_applicable]"));
    ok(&db.url, &["--dev", "platforms", "undrain", "k8s"]).await;

    // Settings: a value the environment pins is refused, with nothing written.
    let before = database_snapshot(&db.pool).await;
    let pinned = berth(
        &db.url,
        &[
            "--dev",
            "settings",
            "set",
            "--platform",
            "k8s",
            "--bot-limit",
            "5",
        ],
    )
    .await;
    assert_eq!(pinned.status.code(), Some(1));
    assert!(
        text(&pinned.stderr).contains("K8S_BOT_LIMIT"),
        "{}",
        text(&pinned.stderr)
    );
    let out_of_range = berth(
        &db.url,
        &[
            "--dev",
            "settings",
            "set",
            "--global-queue-timeout-ms",
            "-5",
        ],
    )
    .await;
    assert_eq!(out_of_range.status.code(), Some(1));
    assert_eq!(database_snapshot(&db.pool).await, before);
    let s = ok_json(
        &db.url,
        &[
            "--dev",
            "settings",
            "set",
            "--global-queue-timeout-ms",
            "120000",
            "--reason",
            "shorter waits",
        ],
    )
    .await;
    assert_eq!(s["globalQueueTimeoutMs"], 120000);
    let rows = audit_of(&db, "settings").await;
    assert_eq!(rows[0]["action"], "settings.save");
    assert_eq!(rows[0]["reason"], "shorter waits");
    let shown = ok(&db.url, &["settings", "show"]).await;
    assert!(shown.contains("K8S_BOT_LIMIT"), "pins shown: {shown}");
    db.drop_db().await;
}
