//! The `berth` binary end to end, against a real PostgreSQL.
//!
//! `DATABASE_URL` must point at a server where the user may create
//! databases (e.g. `postgres://berth@127.0.0.1:PORT/postgres`); every test
//! that needs one creates its own database and hands its URL to the child.
//! Nothing sleeps to synchronise: waits poll the database or the child's
//! output with a deadline.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{
    berth, command, database_snapshot, ok, ok_json, signal, text, PoolsDir, TestDb, INSTANT_K8S,
};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Nothing listens here: commands refused at parse time never connect.
const NOWHERE: &str = "postgres://nobody@127.0.0.1:1/none";

/// Polls `check` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Migrates and writes the development configuration (`berth --dev
/// migrate`), then makes the k8s simulator instant and reliable, with bots
/// that run until told, so a create deploys at once on k8s.
async fn instant_k8s(db: &TestDb) {
    ok(&db.url, &["--dev", "migrate"]).await;
    ok(&db.url, INSTANT_K8S).await;
}

/// A meeting URL the meeting platform's hosts accept.
fn meeting_url(meeting_platform: &str) -> &'static str {
    match meeting_platform {
        "google-meet" => "https://meet.google.com/abc-defg-hij",
        "microsoft-teams" => {
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_test%40thread.v2/0"
        }
        _ => "https://zoom.us/j/5551234567",
    }
}

async fn create_bot(db: &TestDb, meeting_platform: &str) -> Value {
    let url = meeting_url(meeting_platform);
    let outcome = ok_json(
        &db.url,
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            meeting_platform,
            "--meeting-url",
            url,
        ],
    )
    .await;
    assert_eq!(outcome["result"], "deployed", "{outcome}");
    outcome
}

/// Reads the child's stdout lines until one satisfies `want` (at most `within`).
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    within: Duration,
    what: &str,
    want: impl Fn(&str) -> bool,
) -> String {
    let found = tokio::time::timeout(within, async {
        while let Some(line) = lines.next_line().await.expect("child stdout") {
            if want(&line) {
                return Some(line);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => line,
        Ok(None) => panic!("output ended before: {what}"),
        Err(_) => panic!("timed out waiting for output: {what}"),
    }
}

#[tokio::test]
async fn bad_arguments_exit_2_with_a_message_naming_valid_values() {
    let out = berth(
        NOWHERE,
        &[
            "bots",
            "create",
            "--meeting-platform",
            "teams",
            "--meeting-url",
            "u",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--meeting-platform"), "{err}");
    assert!(err.contains("google-meet, microsoft-teams, zoom"), "{err}");

    let out = berth(
        NOWHERE,
        &[
            "--json",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "u",
            "--queue-timeout-ms",
            "700000",
        ],
    )
    .await;
    assert_ne!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON error on stdout");
    assert_eq!(doc["error"]["code"], "invalid_input", "{doc}");
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("600000"),
        "{doc}"
    );

    for (args, expect) in [
        (&["bots", "status", "1", "SLEEPING"][..], "JOINING_CALL"),
        (
            &["slots", "--status", "idle,sleepy"][..],
            "idle, deploying, busy, error",
        ),
        (
            &["slots", "--platform", "azure"][..],
            "k8s, aws, coolify, local",
        ),
        (
            &["sim", "set", "k8s", "--failure-rate", "1.5"][..],
            "from 0 to 1",
        ),
        (&["sim", "set", "k8s"][..], "--deploy-latency-ms"),
        (
            &["sim", "set", "k8s", "--run-ms", "5", "--run-until-told"][..],
            "cannot be used with",
        ),
        (&["bots", "show", "zero"][..], "whole number"),
        (&["bots", "list", "--limit", "0"][..], "--limit"),
        (&["frobnicate"][..], "frobnicate"),
        (&[][..], "`berth` needs a command: migrate, serve"),
    ] {
        let out = berth(NOWHERE, args).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "berth {args:?}: {err}");
        assert!(
            err.contains(expect),
            "berth {args:?}: expected {expect:?} in:\n{err}"
        );
    }

    let out = berth(NOWHERE, &["--help"]).await;
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("demo"));
}

#[tokio::test]
async fn runtime_errors_exit_1_with_their_code() {
    let db = TestDb::new("errors").await;
    // A one-shot command never migrates: a database without the schema is refused.
    let out = berth(&db.url, &["--json", "bots", "show", "4242"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(
            "error[schema_outdated]: the database has no Berth schema yet: run `berth migrate`"
        ),
        "{}",
        text(&out.stderr)
    );
    // `migrate` needs the same configuration as `serve`, checked before it writes.
    let out = berth(&db.url, &["migrate"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[config_missing]: PLATFORM_PRIORITY"),
        "{}",
        text(&out.stderr)
    );
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(tables, 0, "a refused migrate wrote nothing");
    ok(&db.url, &["--dev", "migrate"]).await;

    // Schema without settings (never prepared): routing says what to run.
    sqlx::query("DELETE FROM platform_settings")
        .execute(&db.pool)
        .await
        .unwrap();
    let create = [
        "--dev",
        "bots",
        "create",
        "--meeting-platform",
        "zoom",
        "--meeting-url",
        "https://zoom.us/j/1",
    ];
    let out = berth(&db.url, &create).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .starts_with("error[schema_outdated]: the database has no platform settings yet"),
        "{}",
        text(&out.stderr)
    );
    ok(&db.url, &["--dev", "migrate"]).await;

    let out = berth(&db.url, &["--json", "bots", "show", "4242"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[not_found]: "),
        "{}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON error on stdout");
    assert_eq!(doc["error"]["code"], "not_found");

    // Outside development mode a full instance needs the platforms configured.
    let out = berth(
        &db.url,
        &[
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error[config_missing]: PLATFORM_PRIORITY"),
        "{err}"
    );

    let out = berth(&db.url, &["slots", "--pool", "nope"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[not_found]"));

    // A database refusing us is a runtime error too, and no password is printed.
    let rest = db.url.split_once("://").unwrap().1;
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    let intruder = format!("postgres://someone:hunter2@{rest}");
    let out = berth(&intruder, &["status"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error[database_unavailable]"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    db.drop_db().await;
}

#[tokio::test]
async fn create_in_dev_deploys_and_show_prints_the_decision_trace() {
    let db = TestDb::new("create").await;
    instant_k8s(&db).await;
    let outcome = create_bot(&db, "zoom").await;
    assert_eq!(outcome["platform"], "k8s", "{outcome}");
    assert_eq!(outcome["status"], "JOINING_CALL", "{outcome}");
    let id = outcome["botId"].as_i64().expect("botId");
    let slot_name = outcome["slotName"].as_str().expect("slotName").to_string();

    let (status, holder): (String, Option<i64>) = sqlx::query_as(
        "SELECT b.status, s.assigned_bot_id FROM bots b JOIN pool_slots s ON s.slot_name = $2 WHERE b.id = $1",
    )
    .bind(id)
    .bind(&slot_name)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), holder), ("JOINING_CALL", Some(id)));

    let shown = ok_json(&db.url, &["bots", "show", &id.to_string()]).await;
    assert_eq!(shown["id"], id);
    assert_eq!(shown["slotName"], slot_name.as_str());
    let trace = shown["decisionTrace"].as_array().expect("decisionTrace");
    let last = trace.last().expect("a trace entry");
    assert_eq!(
        (last["platform"].as_str(), last["decision"].as_str()),
        (Some("k8s"), Some("deployed"))
    );

    let human = ok(&db.url, &["bots", "show", &id.to_string()]).await;
    assert!(human.contains("decision trace"), "{human}");
    assert!(
        human.contains("deployed") && human.contains(&slot_name),
        "{human}"
    );
    let listed = ok_json(&db.url, &["bots", "list", "--status", "joining_call"]).await;
    assert_eq!(listed[0]["id"], id, "{listed}");
    db.drop_db().await;
}

#[tokio::test]
async fn bots_list_filters_by_pool_platform_search_and_time_and_pages() {
    let db = TestDb::new("bots_list").await;
    instant_k8s(&db).await;
    let zoom = create_bot(&db, "zoom").await["botId"].as_i64().unwrap();
    let meet = create_bot(&db, "google-meet").await["botId"]
        .as_i64()
        .unwrap();
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect()
    };
    let list = async |extra: &[&str]| {
        let mut args = vec!["bots", "list"];
        args.extend_from_slice(extra);
        ids(&ok_json(&db.url, &args).await)
    };
    assert_eq!(list(&[]).await, vec![meet, zoom]);
    assert_eq!(list(&["--pool", "zoom"]).await, vec![zoom]);
    assert_eq!(
        list(&["--pool", "zoom", "--pool", "google-meet"]).await,
        vec![meet, zoom]
    );
    assert_eq!(list(&["--platform", "k8s"]).await, vec![meet, zoom]);
    assert_eq!(list(&["--platform", "aws"]).await, Vec::<i64>::new());
    assert_eq!(list(&["--search", "MEET.GOOGLE"]).await, vec![meet]);
    assert_eq!(list(&["--search", &format!("#{zoom}")]).await, vec![zoom]);
    assert_eq!(list(&["--since", "1h"]).await, vec![meet, zoom]);
    assert_eq!(
        list(&["--since", "2999-01-01T00:00:00Z"]).await,
        Vec::<i64>::new()
    );
    assert_eq!(list(&["--limit", "1"]).await, vec![meet]);
    assert_eq!(
        list(&["--limit", "1", "--before", &meet.to_string()]).await,
        vec![zoom]
    );
    let human = ok(&db.url, &["bots", "list", "--limit", "1"]).await;
    assert!(human.contains(&format!("--before {meet}")), "{human}");
    db.drop_db().await;
}

#[tokio::test]
async fn slots_json_matches_the_database() {
    let db = TestDb::new("slots").await;
    instant_k8s(&db).await;
    create_bot(&db, "zoom").await;
    create_bot(&db, "google-meet").await;

    let listed = ok_json(&db.url, &["slots"]).await;
    let listed: Vec<(i64, String, String, Option<i64>)> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| {
            (
                s["id"].as_i64().unwrap(),
                s["slotName"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["assignedBotId"].as_i64(),
            )
        })
        .collect();
    let mut from_db: Vec<(i64, String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, slot_name, status, assigned_bot_id FROM pool_slots")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let mut sorted = listed.clone();
    sorted.sort();
    from_db.sort();
    assert_eq!(sorted, from_db);
    assert_eq!(listed.len(), 2);

    let busy = ok_json(
        &db.url,
        &["slots", "--status", "busy,deploying", "--platform", "k8s"],
    )
    .await;
    assert_eq!(busy.as_array().unwrap().len(), 2, "{busy}");
    let idle = ok_json(&db.url, &["slots", "--status", "idle"]).await;
    assert_eq!(idle, Value::Array(Vec::new()));
    let zoom = ok_json(&db.url, &["slots", "--pool", "zoom"]).await;
    assert_eq!(zoom.as_array().unwrap().len(), 1, "{zoom}");
    assert_eq!(zoom[0]["pool"], "zoom");
    db.drop_db().await;
}

#[tokio::test]
async fn reporting_done_releases_the_slot() {
    let db = TestDb::new("done").await;
    instant_k8s(&db).await;
    let outcome = create_bot(&db, "microsoft-teams").await;
    let id = outcome["botId"].as_i64().unwrap().to_string();
    let slot_name = outcome["slotName"].as_str().unwrap().to_string();

    let after = ok_json(&db.url, &["--dev", "bots", "status", &id, "in_call"]).await;
    assert_eq!(after["status"], "IN_CALL");
    let text_out = ok(&db.url, &["--dev", "bots", "status", &id, "DONE"]).await;
    assert!(text_out.contains("IN_CALL -> DONE"), "{text_out}");

    eventually(Duration::from_secs(10), "the slot is idle again", || {
        let (pool, slot_name) = (db.pool.clone(), slot_name.clone());
        async move {
            let row: (String, Option<i64>) = sqlx::query_as(
                "SELECT status, assigned_bot_id FROM pool_slots WHERE slot_name = $1",
            )
            .bind(slot_name)
            .fetch_one(&pool)
            .await
            .unwrap();
            row == ("idle".to_string(), None)
        }
    })
    .await;
    let status: String = sqlx::query_scalar("SELECT status FROM bots WHERE id = $1::bigint")
        .bind(id.parse::<i64>().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "DONE");

    let again = berth(&db.url, &["--dev", "bots", "status", &id, "DONE"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("error[stale_transition]"));
    db.drop_db().await;
}

#[tokio::test]
async fn cancel_ends_a_bot_naming_who_and_frees_its_slot() {
    let db = TestDb::new("cancel").await;
    instant_k8s(&db).await;
    let outcome = create_bot(&db, "microsoft-teams").await;
    let id = outcome["botId"].as_i64().unwrap().to_string();

    let text_out = ok(&db.url, &["--dev", "bots", "cancel", &id]).await;
    assert!(text_out.contains("-> FATAL"), "{text_out}");
    assert!(text_out.contains("released"), "{text_out}");
    let shown = ok_json(&db.url, &["bots", "show", &id]).await;
    assert_eq!(shown["status"], "FATAL");
    let error = shown["error"].as_str().unwrap();
    assert!(error.starts_with("cancelled by cli:"), "{error}");

    let again = berth(&db.url, &["--dev", "bots", "cancel", &id]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("error[stale_transition]"));
    db.drop_db().await;
}

#[tokio::test]
async fn read_only_commands_work_without_dev() {
    let db = TestDb::new("readonly").await;
    let migrated = ok(&db.url, &["--dev", "migrate"]).await;
    assert!(migrated.contains("schema at version"), "{migrated}");
    assert!(
        !migrated.contains("no pending"),
        "first run applies: {migrated}"
    );
    let again = ok_json(&db.url, &["--dev", "migrate"]).await;
    assert_eq!(again["appliedNow"], Value::Array(Vec::new()));
    assert!(again["version"].as_i64().is_some());

    instant_k8s(&db).await;
    create_bot(&db, "zoom").await;

    let status = ok_json(&db.url, &["status"]).await;
    let k8s = status["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "k8s")
        .expect("k8s in platforms")
        .clone();
    assert_eq!(
        (k8s["used"].as_i64(), k8s["limit"].as_i64()),
        (Some(1), Some(4)),
        "{k8s}"
    );
    assert_eq!(k8s["health"], "unknown");
    assert_eq!(status["queue"]["length"], 0);
    assert_eq!(status["leader"], Value::Null);
    let zoom = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pool"] == "zoom")
        .unwrap()
        .clone();
    assert_eq!(zoom["busy"], 1, "{zoom}");
    let dev_status = ok_json(&db.url, &["--dev", "status"]).await;
    assert_eq!(
        dev_status["platforms"][0]["health"], "healthy",
        "{dev_status}"
    );
    // BERTH_DEV=1 is the same as --dev.
    let out = command(&db.url, &["--json", "status"])
        .env("BERTH_DEV", "1")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env_status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(env_status["platforms"][0]["health"], "healthy");

    assert_eq!(ok_json(&db.url, &["queue"]).await, Value::Array(Vec::new()));
    assert!(ok(&db.url, &["status"]).await.contains("Platforms"));
    assert!(ok(&db.url, &["queue"]).await.contains("the queue is empty"));
    db.drop_db().await;
}

#[tokio::test]
async fn queued_requests_show_position_and_wait() {
    let db = TestDb::new("queue").await;
    instant_k8s(&db).await;
    create_bot(&db, "zoom").await;
    // Only k8s, one bot at a time, no platform wait: the next request goes to the global queue.
    sqlx::query("UPDATE platform_settings SET enabled = (platform = 'k8s'), bot_limit = CASE WHEN platform = 'k8s' THEN 1 ELSE bot_limit END, queue_timeout_ms = 0")
        .execute(&db.pool)
        .await
        .expect("settings exist after the first instance");
    let queued = ok_json(
        &db.url,
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/2",
            "--priority",
            "50",
        ],
    )
    .await;
    assert_eq!(queued["result"], "queued", "{queued}");
    assert_eq!(queued["queuePosition"], 1);
    assert_eq!(queued["waitingOn"], Value::Null);
    assert_eq!(
        queued["estimatedWaitMs"],
        Value::Null,
        "no release observed yet"
    );

    let entries = ok_json(&db.url, &["queue"]).await;
    assert_eq!(entries[0]["botId"], queued["botId"], "{entries}");
    assert_eq!(entries[0]["position"], 1);
    let left = entries[0]["timeoutRemainingMs"].as_i64().unwrap();
    assert!(left > 0 && left <= 300_000, "{entries}");
    let human = ok(&db.url, &["queue"]).await;
    assert!(
        human.contains("global queue") && human.contains("unknown"),
        "{human}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn watch_prints_changes_and_stops_on_ctrl_c() {
    let db = TestDb::new("watch").await;
    instant_k8s(&db).await;
    let mut child = command(&db.url, &["--json", "watch"])
        .spawn()
        .expect("watch runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    read_until(
        &mut lines,
        Duration::from_secs(20),
        "the listener is up",
        |l| l.contains("\"resync\""),
    )
    .await;
    create_bot(&db, "zoom").await;
    let line = read_until(&mut lines, Duration::from_secs(20), "a bots change", |l| {
        l.contains("\"changed\"") && l.contains("\"bots\"")
    })
    .await;
    let event: Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert!(
        event["origin"].is_string() && event["at"].is_string(),
        "{event}"
    );
    signal(&child, "INT");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("watch stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn serve_runs_until_sigterm_and_leaves_gracefully() {
    let db = TestDb::new("serve").await;
    let mut child = command(&db.url, &["--dev", "serve"])
        .spawn()
        .expect("serve runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = read_until(
        &mut lines,
        Duration::from_secs(30),
        "the start line",
        |_| true,
    )
    .await;
    assert!(
        first.contains("instance") && first.contains("127.0.0.1"),
        "{first}"
    );
    eventually(Duration::from_secs(20), "serve leads and heartbeats", || {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM peers) AND EXISTS (SELECT 1 FROM leader WHERE expires_at > now())")
                .fetch_one(&pool)
                .await
                .unwrap_or(false)
        }
    })
    .await;
    signal(&child, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let (peers, leading): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM peers), (SELECT count(*) FROM leader WHERE expires_at > now())",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((peers, leading), (0, 0), "left the peers and resigned");
    db.drop_db().await;
}

/// One HTTP/1.1 request on a fresh connection; the status and body.
async fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .expect("API reachable");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().expect("a status line");
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn tokens_and_serve_listen_host_the_api() {
    let db = support::migrated("api").await;
    let created = ok_json(
        &db.url,
        &["tokens", "create", "--scope", "bots:read", "--name", "dash"],
    )
    .await;
    let token = created["token"]
        .as_str()
        .expect("the token, once")
        .to_string();
    assert!(token.starts_with("berth_"), "{created}");
    let listed = ok_json(&db.url, &["tokens", "list"]).await;
    assert_eq!(listed[0]["name"], "dash");
    assert_eq!(listed[0]["scope"], "bots:read");
    assert!(
        !listed.to_string().contains(&token),
        "listing never shows a token"
    );
    let human = ok(&db.url, &["tokens", "list"]).await;
    assert!(human.contains("dash") && !human.contains(&token), "{human}");
    let out = berth(
        &db.url,
        &["tokens", "create", "--scope", "root", "--name", "x"],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown scope is refused by the parser"
    );

    let mut child = command(
        &db.url,
        &["--dev", "--json", "serve", "--listen", "127.0.0.1:0"],
    )
    .spawn()
    .expect("serve runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = read_until(
        &mut lines,
        Duration::from_secs(30),
        "the start line",
        |_| true,
    )
    .await;
    let started: Value = serde_json::from_str(&started).expect("a JSON line");
    let url = started["api"]
        .as_str()
        .expect("the API's address")
        .to_string();
    let addr = url.strip_prefix("http://").expect("plain HTTP").to_string();
    assert_eq!(http(&addr, "GET", "/healthz", None).await.0, 200);
    assert_eq!(http(&addr, "GET", "/readyz", None).await.0, 200);
    let (status, stats) = http(&addr, "GET", "/v1/queue/stats", Some(&token)).await;
    assert_eq!(
        (status, &stats["length"]),
        (200, &Value::from(0)),
        "{stats}"
    );
    let (status, refused) = http(&addr, "POST", "/v1/bots/1/cancel", Some(&token)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    ok(&db.url, &["tokens", "revoke", "dash"]).await;
    let (status, refused) = http(&addr, "GET", "/v1/queue/stats", Some(&token)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let out = berth(&db.url, &["tokens", "revoke", "dash"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[not_found]"),
        "{}",
        text(&out.stderr)
    );

    signal(&child, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "the API stopped with serve"
    );
    db.drop_db().await;
}

/// Waits (up to 10 s) for the next event that concerns the `pools` topic
/// (the first is the listener's resync); `after` names what caused it.
async fn next_pools_event(
    events: &mut tokio::sync::broadcast::Receiver<berth_core::feed::ChangeEvent>,
    after: &str,
) {
    use berth_core::feed::Topic;
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if events.recv().await.expect("feed").touches(Topic::Pools) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no `pools` event after {after} within 10 s");
}

#[tokio::test]
async fn demo_runs_for_its_duration_and_exits_cleanly() {
    let db = TestDb::new("demo").await;
    let started = Instant::now();
    let run = berth(&db.url, &["demo", "--duration-secs", "8"]).await;
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "demo failed:\n{out}\n{err}");
    assert!(started.elapsed() >= Duration::from_secs(8));
    // Nothing PostgreSQL had to warn about (a ROLLBACK after a COMMIT, cut
    // off by a stop: "there is no transaction in progress").
    assert!(!err.contains("sqlx::postgres::notice"), "{err}");
    let status_lines: Vec<&str> = out.lines().filter(|l| l.contains("| slots idle")).collect();
    assert!(status_lines.len() >= 5, "a status line a second:\n{out}");
    let last = status_lines.last().unwrap();
    assert!(
        last.contains("queue") && last.contains("k8s ") && last.contains("/4"),
        "{last}"
    );
    assert!(out.contains("stopped (duration reached)"), "{out}");
    let requested: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(requested > 0, "the demo requested bots");
    let peers: i64 = sqlx::query_scalar("SELECT count(*) FROM peers")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(peers, 0, "left gracefully");
    db.drop_db().await;
}

/// A migrated database and a pools directory that does not exist yet (the
/// first `berth pools` command seeds it), removed when dropped.
async fn pools_setup(tag: &str) -> (TestDb, PoolsDir) {
    let db = TestDb::new(tag).await;
    ok(&db.url, &["--dev", "migrate"]).await;
    let dir = PoolsDir::new(&format!("cli-{tag}"));
    std::fs::remove_dir_all(&dir.0).unwrap();
    (db, dir)
}

/// A table `accounts` of 9 rows (`u<i>@example.com`, every third `banned`),
/// and `with-accounts.yaml` selecting the `ok` ones.
async fn accounts_source(db: &TestDb, dir: &std::path::Path) {
    sqlx::raw_sql(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT, status TEXT);
         INSERT INTO accounts SELECT i, 'u' || i || '@example.com',
                CASE WHEN i % 3 = 0 THEN 'banned' ELSE 'ok' END
         FROM generate_series(1, 9) AS i;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    std::fs::write(
        dir.join("with-accounts.yaml"),
        "name: with-accounts\nmeeting_platform: zoom\nimage: bot\nmax_size: 5\naccounts:\n  type: sql\n  query:\n    select: SELECT id, email FROM accounts WHERE status = :s ORDER BY id\n    parameters:\n      - { name: s, type: string, value: ok }\n",
    )
    .unwrap();
}

async fn grant_accounts(db: &TestDb) {
    sqlx::raw_sql("GRANT SELECT ON accounts TO berth_query")
        .execute(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn pools_are_seeded_and_a_broken_file_is_reported_with_its_place() {
    let (db, pools) = pools_setup("pools-seed").await;
    let (dir, d) = (&pools.0, pools.arg());
    // First use seeds one commented example per meeting platform.
    let listed = ok_json(&db.url, &["pools", "--dir", d, "list"]).await;
    let defs = listed["definitions"].as_array().unwrap();
    assert_eq!(defs.len(), 3, "{listed}");
    assert!(defs.iter().all(|r| r["state"] == "notApplied"), "{listed}");
    assert_eq!(listed["problems"], Value::Array(Vec::new()));

    // A broken file: reported with file, line and column; the others still load.
    std::fs::write(
        dir.join("broken.yaml"),
        "name: broken\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\nmaxSize: 3\n",
    )
    .unwrap();
    let out = berth(&db.url, &["pools", "--dir", d, "validate"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("broken.yaml:5:1: unknown field `maxSize`"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("error[definition_invalid]"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(dir.join("broken.yaml")).unwrap();
    assert!(ok(&db.url, &["pools", "--dir", d, "validate"])
        .await
        .contains("3 definitions valid"));

    db.drop_db().await;
}

#[tokio::test]
async fn pools_test_shows_the_impact_and_apply_is_versioned_and_idempotent() {
    let (db, pools) = pools_setup("pools-apply").await;
    let (dir, d) = (&pools.0, pools.arg());
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds
                                                       // Test shows the impact; apply makes it v1, a second apply changes nothing.
    let zoom = dir.join("zoom.yaml");
    let text0 = std::fs::read_to_string(&zoom).unwrap();
    std::fs::write(&zoom, text0.replace("prewarm: 0 ", "prewarm: 2 ")).unwrap();
    let tested = ok(&db.url, &["pools", "--dir", d, "test", "zoom"]).await;
    assert!(
        tested.contains("impact: creates 2 slots, removes 0 idle, 0 busy affected"),
        "{tested}"
    );
    let applied = ok_json(&db.url, &["pools", "--dir", d, "apply", "zoom"]).await;
    assert_eq!(
        (applied["version"].as_i64(), applied["changed"].as_bool()),
        (Some(1), Some(true))
    );
    let again = ok_json(&db.url, &["pools", "--dir", d, "apply", "zoom"]).await;
    assert_eq!(again["changed"], false);
    let prewarm: i32 = sqlx::query_scalar("SELECT prewarm_count FROM pools WHERE name = 'zoom'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(prewarm, 2);

    // Edited outside Berth: the list shows the file as pending.
    std::fs::write(&zoom, text0.replace("max_size: 100", "max_size: 50")).unwrap();
    let listed = ok_json(&db.url, &["pools", "--dir", d, "list"]).await;
    let z = listed["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "zoom")
        .unwrap()
        .clone();
    assert_eq!(
        (z["state"].as_str(), z["version"].as_i64()),
        (Some("pending"), Some(1)),
        "{z}"
    );

    db.drop_db().await;
}

#[tokio::test]
async fn an_account_source_is_previewed_refreshed_and_announced_then_deleted() {
    let (db, pools) = pools_setup("pools-source").await;
    let (dir, d) = (&pools.0, pools.arg());
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds
    accounts_source(&db, dir).await;
    // Before the grant the query role may read nothing: a clear refusal.
    let denied = berth(&db.url, &["pools", "--dir", d, "test", "with-accounts"]).await;
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        text(&denied.stderr).contains("error[query_refused]"),
        "{}",
        text(&denied.stderr)
    );
    grant_accounts(&db).await;
    let tested = ok(&db.url, &["pools", "--dir", d, "test", "with-accounts"]).await;
    assert!(tested.contains("accounts: 6 match"), "{tested}");
    assert!(
        tested.contains(r#"{"email":"u1@example.com","id":1}"#),
        "{tested}"
    );
    let early = berth(&db.url, &["pools", "--dir", d, "refresh", "with-accounts"]).await;
    assert!(
        text(&early.stderr).contains("not applied yet"),
        "{}",
        text(&early.stderr)
    );
    // An open app (any other instance) hears of both, live: apply and
    // refresh each announce `pools`.
    let watcher = berth_core::feed::Feed::new(uuid::Uuid::new_v4(), true);
    let mut events = watcher.subscribe();
    let listening = watcher.spawn(db.pool.clone());
    next_pools_event(&mut events, "listening").await;
    ok(&db.url, &["pools", "--dir", d, "apply", "with-accounts"]).await;
    next_pools_event(&mut events, "pools apply").await;
    let refreshed = ok_json(&db.url, &["pools", "--dir", d, "refresh", "with-accounts"]).await;
    assert_eq!(refreshed["refreshed"]["added"], 6, "{refreshed}");
    assert_eq!(refreshed["stats"]["available"], 6, "{refreshed}");
    next_pools_event(&mut events, "pools refresh").await;
    for t in listening {
        t.abort();
    }

    // Delete: the file goes, the applied pool is retired.
    let deleted = ok(&db.url, &["pools", "--dir", d, "delete", "with-accounts"]).await;
    assert!(deleted.contains("the pool is retired"), "{deleted}");
    assert!(!dir.join("with-accounts.yaml").exists());
    let retired: bool =
        sqlx::query_scalar("SELECT retired FROM pools WHERE name = 'with-accounts'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(retired);

    db.drop_db().await;
}

#[tokio::test]
async fn a_builder_query_is_compiled_against_the_real_columns() {
    let (db, pools) = pools_setup("pools-builder").await;
    let (dir, d) = (&pools.0, pools.arg());
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds
    accounts_source(&db, dir).await;
    grant_accounts(&db).await;
    // A builder form: compiled against the real columns, shown, run.
    std::fs::write(
        dir.join("built.yaml"),
        "name: built\nmeeting_platform: zoom\nimage: bot\nmax_size: 5\naccounts:\n  type: sql\n  builder:\n    table: accounts\n    columns: [id, email]\n    filters:\n      - { column: status, op: '=', value: banned }\n    sort:\n      - { column: id, direction: desc }\n",
    )
    .unwrap();
    let tested = ok(&db.url, &["pools", "--dir", d, "test", "built"]).await;
    assert!(tested.contains("accounts: 3 match"), "{tested}");
    assert!(
        tested.contains(r#"sql: SELECT "id", "email" FROM "public"."accounts" WHERE "status" = CAST(:p1 AS text) ORDER BY "id" DESC"#),
        "{tested}"
    );
    assert!(
        tested.contains(r#"{"email":"u9@example.com","id":9}"#),
        "{tested}"
    );
    std::fs::write(
        dir.join("built.yaml"),
        "name: built\nmeeting_platform: zoom\nimage: bot\nmax_size: 5\naccounts:\n  type: sql\n  builder:\n    table: accounts\n    columns: [id, \"email; DROP TABLE bots\"]\n",
    )
    .unwrap();
    let bad = berth(&db.url, &["pools", "--dir", d, "test", "built"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("error[query_refused]")
            && text(&bad.stderr).contains("is not a column"),
        "{}",
        text(&bad.stderr)
    );

    db.drop_db().await;
}

#[tokio::test]
async fn applying_an_unknown_pool_is_not_found() {
    let (db, pools) = pools_setup("pools-missing").await;
    let d = pools.arg();
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds
    let missing = berth(&db.url, &["pools", "--dir", d, "apply", "nope"]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("error[not_found]"));
    db.drop_db().await;
}

/// Issue 11, items 5 to 8, through `berth pools`: nothing outside the pools
/// directory is read or listed (a pool file linking out, an account
/// directory written or linked out), files and durations have caps the
/// errors state, and a problem points at its key, saying where once.
#[tokio::test]
async fn pools_read_nothing_outside_the_pools_directory() {
    let db = TestDb::new("poolfiles").await;
    ok(&db.url, &["--dev", "migrate"]).await;
    let root = std::env::temp_dir().join(format!("berth-cli-poolfiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (dir, outside) = (root.join("pools"), root.join("outside"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(outside.join("accounts")).unwrap();
    std::fs::write(outside.join("shadow"), "secretuser: $6$saltsalt$hash\n").unwrap();
    std::fs::write(outside.join("accounts/x.key"), "key").unwrap();
    let d = dir.to_str().unwrap();
    let write = |file: &str, rest: &str| {
        let name = file.trim_end_matches(".yaml");
        std::fs::write(
            dir.join(file),
            format!("name: {name}\nmeeting_platform: zoom\nimage: bot\nmax_size: 5\n{rest}"),
        )
        .unwrap();
    };
    std::os::unix::fs::symlink(outside.join("shadow"), dir.join("shadow.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
    write("abs.yaml", "accounts:\n  type: file\n  directory: /etc\n");
    write(
        "up.yaml",
        "accounts:\n  type: file\n  directory: ../../etc\n",
    );
    write(
        "linked.yaml",
        "accounts:\n  type: file\n  directory: etc-link\n",
    );
    write("slow.yaml", "recovery:\n  deploying_timeout: 99999999h\n");
    write(
        "typo.yaml",
        "accounts:\n  type: sql\n  query:\n    select: SELECT 1\n  pool_config:\n    retry_failed: true\n    max_failures: 3\n    colour: red\n",
    );
    let big = std::fs::File::create(dir.join("big.yaml")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();

    let out = berth(&db.url, &["pools", "--dir", d, "validate"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for want in [
        format!("{d}/abs.yaml:7:3: accounts.directory: \"/etc\" is not inside the pools directory"),
        format!("{d}/up.yaml:7:3: accounts.directory: \"../../etc\" is not inside the pools directory"),
        format!("{d}/big.yaml: is 52428800 bytes; the limit is 262144 bytes (256 KiB)\n"),
        format!("{d}/shadow.yaml: leads outside "),
        format!("{d}/slow.yaml:6:3: recovery.deploying_timeout: must be from 10s to 24h, got 99999999h\n"),
        format!("{d}/typo.yaml:12:5: unknown field `colour`, expected one of retry_failed, max_failures, refresh_interval\n"),
    ] {
        assert!(stdout.contains(&want), "{want:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("secretuser"), "{stdout}");
    assert!(!stdout.contains(" at line "), "{stdout}");

    // Files named on the command line: read by the same rules.
    let shadow = format!("{d}/shadow.yaml");
    let out = berth(
        &db.url,
        &["pools", "--dir", d, "validate", &shadow, "/etc/passwd"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{shadow}: leads outside ")),
        "{stdout}"
    );
    assert!(stdout.contains("/etc/passwd: is not in "), "{stdout}");
    assert!(
        !stdout.contains("secretuser") && !stdout.contains("root:"),
        "{stdout}"
    );

    // The list shows the valid file and every refusal, nothing from outside.
    let listed = ok_json(&db.url, &["pools", "--dir", d, "list"]).await;
    let names: Vec<&str> = listed["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["linked"], "{listed}");
    assert_eq!(listed["problems"].as_array().unwrap().len(), 6, "{listed}");
    assert!(!listed.to_string().contains("secretuser"), "{listed}");

    // A directory linked out of the pools directory: test and refresh refuse it.
    let out = berth(&db.url, &["pools", "--dir", d, "test", "linked"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[definition_invalid]"), "{stderr}");
    assert!(stderr.contains("leads outside"), "{stderr}");
    assert!(
        !text(&out.stdout).contains("passwd"),
        "{}",
        text(&out.stdout)
    );
    ok(&db.url, &["pools", "--dir", d, "apply", "linked"]).await;
    let out = berth(&db.url, &["pools", "--dir", d, "refresh", "linked"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[definition_invalid]"));
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_accounts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
    std::fs::remove_dir_all(&root).unwrap();
    db.drop_db().await;
}

#[tokio::test]
async fn secret_set_refuses_other_platforms_and_empty_tokens() {
    let out = berth(NOWHERE, &["--json", "secret", "set", "k8s"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[invalid_input]: "),
        "{}",
        text(&out.stderr)
    );
    // Standard input is empty here: nothing is stored, and it says why.
    let out = berth(NOWHERE, &["secret", "set", "coolify"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the token is empty"), "{err}");
}

#[tokio::test]
async fn an_enabled_coolify_without_its_settings_stops_start_up_naming_them() {
    let db = TestDb::new("coolify_cfg").await;
    ok(&db.url, &["--dev", "migrate"]).await;
    let mut cmd = command(
        &db.url,
        &[
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/1",
        ],
    );
    cmd.env("PLATFORM_PRIORITY", "coolify")
        .env("COOLIFY_BOT_LIMIT", "2");
    let out = cmd.spawn().unwrap().wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error[config_missing]: COOLIFY_API_URL"),
        "{err}"
    );
    assert!(err.contains("COOLIFY_PROJECT_UUID"), "{err}");
    db.drop_db().await;
}

/// Rows only in `before` (`-`) or only in `after` (`+`).
fn changes(before: &[String], after: &[String]) -> Vec<String> {
    let gone = before
        .iter()
        .filter(|r| !after.contains(r))
        .map(|r| format!("- {r}"));
    let new = after
        .iter()
        .filter(|r| !before.contains(r))
        .map(|r| format!("+ {r}"));
    gone.chain(new).collect()
}

#[tokio::test]
async fn refused_and_read_only_commands_write_nothing() {
    let db = TestDb::new("nowrite").await;
    instant_k8s(&db).await;
    let id = create_bot(&db, "zoom").await["botId"]
        .as_i64()
        .unwrap()
        .to_string();
    let dir = std::env::temp_dir().join(format!("berth-cli-nowrite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds the files
    let before = database_snapshot(&db.pool).await;
    assert!(before.len() > 20, "a database with rows: {before:?}");

    let google = "https://meet.google.com/abc-defg-hij";
    let zoom = "https://zoom.us/j/1";
    let refused: &[&[&str]] = &[
        &["--dev", "bots", "status", "999999", "DONE"],
        &["--dev", "bots", "status", &id, "QUEUED"],
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            google,
        ],
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "javascript:alert(1)",
        ],
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "file:///etc/passwd",
        ],
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            zoom,
            "--pool",
            "nope",
        ],
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "google-meet",
            "--meeting-url",
            google,
            "--pool",
            "zoom",
        ],
        &["bots", "show", "4242"],
        &["slots", "--pool", "nope"],
        &["pools", "--dir", d, "apply", "nope"],
        &["pools", "--dir", d, "show", "nope"],
        &["sim", "set", "k8s"],
    ];
    let read_only: &[&[&str]] = &[
        &["status"],
        &["--dev", "status"],
        &["slots"],
        &["queue"],
        &["bots", "list"],
        &["bots", "show", &id],
        &["sim", "show"],
        &["pools", "--dir", d, "list"],
        &["pools", "--dir", d, "show", "zoom"],
        &["pools", "--dir", d, "validate"],
        &["pools", "--dir", d, "test", "zoom"],
    ];
    for args in refused {
        // Another environment than the one that prepared the database:
        // a one-shot command must not write it (pins, limits, pools).
        let out = command(&db.url, args)
            .env("K8S_BOT_LIMIT", "9")
            .env("POOL_MAX_SIZE", "7")
            .output()
            .await
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "berth {args:?} was refused");
        let changed = changes(&before, &database_snapshot(&db.pool).await);
        assert!(
            changed.is_empty(),
            "berth {args:?} (refused: {}) wrote to the database: {changed:#?}",
            text(&out.stderr).trim()
        );
    }
    for args in read_only {
        let out = command(&db.url, args)
            .env("K8S_BOT_LIMIT", "9")
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            text(&out.stderr)
        );
        let changed = changes(&before, &database_snapshot(&db.pool).await);
        assert!(
            changed.is_empty(),
            "berth {args:?} wrote to the database: {changed:#?}"
        );
    }
    // Preparing the database again with the same environment changes nothing either.
    ok(&db.url, &["--dev", "migrate"]).await;
    let changed = changes(&before, &database_snapshot(&db.pool).await);
    assert!(changed.is_empty(), "a second migrate wrote: {changed:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
    db.drop_db().await;
}

/// Runs a refusal with `--json` and checks its shape: exactly one JSON
/// document on stdout and one `error[<code>]` line on stderr, with the same
/// code; parser refusals print that line and nothing else.
async fn one_refusal(url: &str, args: &[&str], exit: i32, code: &str) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = berth(url, &all).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(exit), "berth {all:?}: {stderr}");
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("berth {all:?}: stdout is not JSON ({e}): {stdout}"));
    assert_eq!(docs.len(), 1, "berth {all:?}: one document, got {stdout}");
    let doc = docs.into_iter().next().unwrap();
    assert_eq!(doc["error"]["code"], code, "berth {all:?}: {doc}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "berth {all:?}: one error line:\n{stderr}");
    let prefix = format!("error[{code}]: ");
    assert!(
        errors[0].starts_with(&prefix),
        "berth {all:?}: {}",
        errors[0]
    );
    assert_eq!(
        &errors[0][prefix.len()..],
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        "berth {all:?}: the line and the document say the same"
    );
    if exit == 2 {
        assert_eq!(
            stderr.lines().count(),
            1,
            "berth {all:?}: only the line:\n{stderr}"
        );
    }
    doc
}

#[tokio::test]
async fn every_refusal_prints_one_error_line_and_one_json_document() {
    let db = TestDb::new("refusals").await;
    instant_k8s(&db).await;
    let dir = std::env::temp_dir().join(format!("berth-cli-refusals-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    ok(&db.url, &["pools", "--dir", d, "list"]).await; // seeds the files
    let zoom = "https://zoom.us/j/1";
    let create = |extra: &'static [&'static str]| {
        let mut a = vec![
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            zoom,
        ];
        a.extend_from_slice(extra);
        a
    };
    let parser: Vec<Vec<&str>> = vec![
        vec![
            "bots",
            "create",
            "--meeting-platform",
            "teams",
            "--meeting-url",
            zoom,
        ],
        create(&["--priority", "abc"]),
        create(&["--priority", "-1"]),
        create(&["--queue-timeout-ms", "700000"]),
        create(&["--meeting-ur", "x"]),
        vec!["bots", "create", "--meeting-platform", "zoom"],
        vec!["bots", "status", "1", "SLEEPING"],
        vec!["bots", "show", "zero"],
        vec!["bots", "list", "--limit", "0"],
        vec!["slots", "--status", "idle,sleepy"],
        vec!["sim", "set", "k8s"],
        vec!["sim", "set", "k8s", "--run-ms", "5", "--run-until-told"],
        vec!["frobnicate"],
        vec!["bots"],
        vec![],
    ];
    for args in &parser {
        one_refusal(&db.url, args, 2, "invalid_input").await;
    }
    let doc = one_refusal(&db.url, &create(&["--priority", "-1"]), 2, "invalid_input").await;
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("got -1"),
        "{doc}"
    );

    let mut runtime: Vec<(Vec<&str>, &str)> = vec![
        (vec!["bots", "show", "4242"], "not_found"),
        (
            vec!["--dev", "bots", "status", "999999", "DONE"],
            "not_found",
        ),
        (vec!["slots", "--pool", "nope"], "not_found"),
        (vec!["pools", "--dir", d, "apply", "nope"], "not_found"),
        (vec!["secret", "set", "k8s"], "invalid_input"),
        (
            vec![
                "--dev",
                "bots",
                "create",
                "--meeting-platform",
                "zoom",
                "--meeting-url",
                "not a url",
            ],
            "invalid_input",
        ),
    ];
    // Broken definition files of several kinds: `validate` lists them all
    // in its one document.
    let broken = [
        ("unknown-key.yaml", "name: a\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\nmaxSize: 3\n"),
        ("bad-platform.yaml", "name: b\nmeeting_platform: teams\nimage: bot\nmax_size: 2\n"),
        ("bad-duration.yaml", "name: c\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\nrecovery:\n  interval: soon\n"),
        ("not-yaml.yaml", "name: [unclosed\n"),
    ];
    let files: Vec<String> = broken
        .iter()
        .map(|(name, body)| {
            let path = dir.join(name);
            std::fs::write(&path, body).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    for file in &files {
        runtime.push((
            vec!["pools", "validate", file.as_str()],
            "definition_invalid",
        ));
    }
    runtime.push((vec!["pools", "--dir", d, "validate"], "definition_invalid"));
    for (args, code) in &runtime {
        one_refusal(&db.url, args, 1, code).await;
    }
    let doc = one_refusal(
        &db.url,
        &["pools", "--dir", d, "validate"],
        1,
        "definition_invalid",
    )
    .await;
    assert_eq!(doc["checked"], 7, "{doc}");
    assert_eq!(doc["problems"].as_array().unwrap().len(), 4, "{doc}");
    std::fs::remove_dir_all(&dir).unwrap();
    db.drop_db().await;
}
