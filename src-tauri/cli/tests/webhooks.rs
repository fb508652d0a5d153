//! `berth webhooks add|list|remove|log|bot-secret` end to end, against a
//! real PostgreSQL (each test its own database).

mod support;

use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};
use support::{berth, text, TestDb};

async fn ok(url: &str, args: &[&str]) -> String {
    let out = berth(url, args).await;
    assert!(
        out.status.success(),
        "berth {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

async fn ok_json(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = ok(url, &all).await;
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("berth {all:?}: not JSON ({e}):\n{stdout}"))
}

/// Runs with `--json`, expects exit `exit`, one error document with `code`
/// and one `error[code]` line.
async fn refused(url: &str, args: &[&str], exit: i32, code: &str) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = berth(url, &all).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(exit), "berth {all:?}: {stderr}");
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("berth {all:?}: not one JSON document ({e}): {stdout}"));
    assert_eq!(doc["error"]["code"], code, "berth {all:?}: {doc}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("error[{code}]: ")),
        "{stderr}"
    );
    doc
}

/// Every row of every table, and every sequence (what a refusal must not change).
async fn snapshot(pool: &PgPool) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let sql =
            format!("SELECT xmin::text || ' ' || to_jsonb(t)::text FROM \"{table}\" t ORDER BY 1");
        let found: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap();
        rows.extend(found.into_iter().map(|r| format!("{table}: {r}")));
    }
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT sequencename::text || ' ' || coalesce(last_value::text, '-') FROM pg_sequences
         WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.extend(sequences);
    rows
}

#[tokio::test]
async fn webhooks_are_added_listed_logged_and_removed() {
    let db = TestDb::migrated("webhooks").await;
    ok(
        &db.url,
        &[
            "sim",
            "set",
            "k8s",
            "--deploy-latency-ms",
            "0",
            "--pull-latency-ms",
            "0",
            "--failure-rate",
            "0",
            "--run-until-told",
        ],
    )
    .await;
    let added = ok_json(
        &db.url,
        &[
            "webhooks",
            "add",
            "https://hooks.example.com/berth",
            "--events",
            "bot.state_changed,bot.expired",
            "--events",
            "pool.exhausted",
            "--name",
            "billing",
        ],
    )
    .await;
    assert_eq!(added["name"], "billing");
    assert_eq!(added["url"], "https://hooks.example.com/berth");
    assert_eq!(
        added["events"],
        serde_json::json!(["bot.state_changed", "bot.expired", "pool.exhausted"])
    );
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(added["createdBy"].as_str().unwrap().starts_with("cli:"));

    // Listed, never with the secret.
    let listed = ok_json(&db.url, &["webhooks", "list"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "billing");
    assert!(listed[0].get("secret").is_none());
    let human = ok(&db.url, &["webhooks", "list"]).await;
    assert!(
        human.contains("billing") && !human.contains(&secret),
        "{human}"
    );

    // A bot's changes are logged as pending deliveries (a one-shot command
    // delivers nothing; `serve` does), to the subscription and its own URL.
    let bot = ok_json(
        &db.url,
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/5551234567",
            "--webhook-url",
            "https://product.example.com/bot-hook",
        ],
    )
    .await;
    assert_eq!(bot["result"], "deployed", "{bot}");
    let log = ok_json(&db.url, &["webhooks", "log", "billing"]).await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "QUEUED, DEPLOYING, JOINING_CALL: {log:?}");
    for d in log {
        assert_eq!(d["webhook"], "billing");
        assert_eq!(d["eventType"], "bot.state_changed");
        assert_eq!(
            (d["state"].as_str(), d["attempts"].as_i64()),
            (Some("pending"), Some(0))
        );
    }
    let everything = ok_json(&db.url, &["webhooks", "log", "--limit", "100"]).await;
    let to_bot: Vec<&Value> = everything
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["botId"] == bot["botId"])
        .collect();
    assert_eq!(
        to_bot.len(),
        4,
        "its state changes and its dispatch: {everything}"
    );
    assert!(to_bot
        .iter()
        .all(|d| d["url"] == "https://product.example.com/bot-hook"));
    let human = ok(&db.url, &["webhooks", "log"]).await;
    assert!(
        human.contains("bot.state_changed") && human.contains("pending"),
        "{human}"
    );

    refused(&db.url, &["webhooks", "remove", "nope"], 1, "not_found").await;
    refused(&db.url, &["webhooks", "log", "nope"], 1, "not_found").await;
    let removed = ok_json(&db.url, &["webhooks", "remove", "billing"]).await;
    assert_eq!(removed["removed"]["name"], "billing");
    assert_eq!(
        ok_json(&db.url, &["webhooks", "list"]).await,
        serde_json::json!([])
    );
    refused(&db.url, &["webhooks", "remove", "billing"], 1, "not_found").await;
    db.drop_db().await;
}

#[tokio::test]
async fn refused_additions_write_nothing() {
    let db = TestDb::migrated("webhooks_refused").await;
    ok(
        &db.url,
        &[
            "webhooks",
            "add",
            "http://127.0.0.1:9000/h",
            "--events",
            "bot.queued",
            "--name",
            "taken",
        ],
    )
    .await;
    let before = snapshot(&db.pool).await;
    refused(
        &db.url,
        &[
            "webhooks",
            "add",
            "ftp://example.com/h",
            "--events",
            "bot.queued",
            "--name",
            "a",
        ],
        1,
        "invalid_input",
    )
    .await;
    refused(
        &db.url,
        &[
            "webhooks",
            "add",
            "https://u:p@example.com/h",
            "--events",
            "bot.queued",
            "--name",
            "a",
        ],
        1,
        "invalid_input",
    )
    .await;
    refused(
        &db.url,
        &[
            "webhooks",
            "add",
            "https://example.com/h",
            "--events",
            "bot.queued",
            "--name",
            "Not OK",
        ],
        1,
        "invalid_input",
    )
    .await;
    refused(
        &db.url,
        &[
            "webhooks",
            "add",
            "https://example.com/h",
            "--events",
            "bot.queued",
            "--name",
            "taken",
        ],
        1,
        "conflict",
    )
    .await;
    let doc = refused(
        &db.url,
        &[
            "webhooks",
            "add",
            "https://example.com/h",
            "--events",
            "bot.created",
            "--name",
            "a",
        ],
        2,
        "invalid_input",
    )
    .await;
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bot.state_changed"),
        "{doc}"
    );
    refused(
        &db.url,
        &["webhooks", "add", "https://example.com/h", "--name", "a"],
        2,
        "invalid_input",
    )
    .await;
    // Reading writes nothing either.
    ok(&db.url, &["webhooks", "list"]).await;
    ok(&db.url, &["webhooks", "log"]).await;
    assert_eq!(snapshot(&db.pool).await, before);
    db.drop_db().await;
}

#[tokio::test]
async fn the_bot_url_secret_is_made_once_and_kept() {
    let db = TestDb::migrated("webhooks_secret").await;
    let first = ok_json(&db.url, &["webhooks", "bot-secret"]).await;
    let again = ok(&db.url, &["webhooks", "bot-secret"]).await;
    let secret = first["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(again.trim(), secret);
    db.drop_db().await;
}
