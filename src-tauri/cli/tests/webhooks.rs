//! `berth webhooks add|list|remove|log|bot-secret` end to end, against a
//! real PostgreSQL (each test its own database).

mod support;

use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{berth, command, database_snapshot, ok, ok_json, signal, text, TestDb, INSTANT_K8S};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

#[tokio::test]
async fn webhooks_are_added_listed_logged_and_removed() {
    let db = support::migrated("webhooks").await;
    ok(&db.url, INSTANT_K8S).await;
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
    let db = support::migrated("webhooks_refused").await;
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
    let before = database_snapshot(&db.pool).await;
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
    assert_eq!(database_snapshot(&db.pool).await, before);
    db.drop_db().await;
}

#[tokio::test]
async fn the_bot_url_secret_is_made_once_and_kept() {
    let db = support::migrated("webhooks_secret").await;
    let first = ok_json(&db.url, &["webhooks", "bot-secret"]).await;
    let again = ok(&db.url, &["webhooks", "bot-secret"]).await;
    let secret = first["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(again.trim(), secret);
    db.drop_db().await;
}

/// A minimal webhook receiver: answers every POST with 204 and records its
/// `webhook-id`.
fn receive(listener: TcpListener, ids: Arc<Mutex<Vec<String>>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let ids = ids.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 4096];
                let (head, body_len) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = header(&head, "content-length")
                            .parse::<usize>()
                            .unwrap_or(0);
                        break (head, end + 4 + len);
                    }
                };
                while buf.len() < body_len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                ids.lock().unwrap().push(header(&head, "webhook-id"));
                let _ = sock
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    })
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// Polls `check` until it holds (at most a minute).
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `berth --dev serve`, its output drained (it logs at info).
fn serve(db: &TestDb) -> tokio::process::Child {
    let mut child = command(&db.url, &["--dev", "serve"])
        .spawn()
        .expect("serve runs");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    tokio::spawn(async move { tokio::io::copy(&mut out, &mut tokio::io::sink()).await });
    tokio::spawn(async move { tokio::io::copy(&mut err, &mut tokio::io::sink()).await });
    child
}

#[tokio::test]
async fn pending_webhooks_survive_a_killed_serve_and_arrive_once() {
    let db = support::migrated("webhooks_kill").await;
    ok(&db.url, INSTANT_K8S).await;
    // The receiver's port, closed for now: the receiver is down.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    ok(
        &db.url,
        &[
            "webhooks",
            "add",
            &url,
            "--events",
            "bot.state_changed",
            "--name",
            "kill",
        ],
    )
    .await;
    let mut first = serve(&db);
    for n in 1..=2 {
        let meeting = format!("https://zoom.us/j/555000{n}");
        let bot = ok_json(
            &db.url,
            &[
                "--dev",
                "bots",
                "create",
                "--meeting-platform",
                "zoom",
                "--meeting-url",
                &meeting,
            ],
        )
        .await;
        assert_eq!(bot["result"], "deployed", "{bot}");
    }
    let all = scalar(&db.pool, "SELECT count(*) FROM webhook_deliveries").await;
    assert_eq!(all, 6, "QUEUED, DEPLOYING, JOINING_CALL for each bot");
    until("serve tried the receiver (down)", async || {
        scalar(
            &db.pool,
            "SELECT count(*) FROM webhook_deliveries WHERE attempts > 0",
        )
        .await
            >= 2
    })
    .await;
    signal(&first, "KILL");
    tokio::time::timeout(Duration::from_secs(20), first.wait())
        .await
        .expect("killed")
        .unwrap();
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
        )
        .await,
        6,
        "nothing delivered, nothing lost"
    );
    // The receiver comes back, and so does serve.
    let ids = Arc::new(Mutex::new(Vec::new()));
    let receiver = receive(
        TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
        ids.clone(),
    );
    let mut second = serve(&db);
    until("every delivery made", async || {
        scalar(
            &db.pool,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'",
        )
        .await
            == 6
    })
    .await;
    signal(&second, "TERM");
    let _ = tokio::time::timeout(Duration::from_secs(30), second.wait()).await;
    receiver.abort();
    let got = ids.lock().unwrap().clone();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(
        (got.len(), unique.len()),
        (6, 6),
        "each event once: {got:?}"
    );
    let written: Vec<String> = sqlx::query_scalar("SELECT id::text FROM webhook_events")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(unique, written.iter().collect::<HashSet<_>>());
    db.drop_db().await;
}
