//! Hostile account queries through the `berth` binary, against a real
//! PostgreSQL: a query the filter refuses is an error on its pool, never a
//! crash of `pools test` or of the `serve` instances that refresh it; denied
//! functions are refused in `FROM` too; one preview cannot stop another;
//! a huge result is capped in bytes; a refusal's hint is safe to paste.

mod support;

use std::time::{Duration, Instant};

use support::{berth, command, command_via, eventually, finish, signal, text, PoolsDir, TestDb};
use tokio::process::Child;

/// `SELECT 0 AS id UNION SELECT 1 AS id …`, `n` queries in all.
fn unions(n: usize) -> String {
    let mut sql = String::from("SELECT 0 AS id");
    for i in 1..n {
        sql.push_str(&format!(" UNION SELECT {i} AS id"));
    }
    sql
}

/// Runs `pools test name` and expects a refusal whose message has `why`.
async fn refused(db: &TestDb, dir: &PoolsDir, name: &str, why: &str) {
    let out = berth(&db.url, &["pools", "--dir", dir.arg(), "test", name]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {err}");
    assert!(
        err.contains("error[query_refused]") && err.contains(why),
        "{name}: {err}"
    );
}

#[tokio::test]
async fn pools_test_refuses_huge_unions_instead_of_crashing() {
    let db = support::migrated("acc_unions").await;
    let dir = PoolsDir::new("acc-unions");
    dir.sql_pool("giant", &unions(1_500), "0s");
    dir.sql_pool("bigger", &unions(10_000), "0s");
    refused(&db, &dir, "giant", "more than 65 queries with UNION").await;
    refused(&db, &dir, "bigger", "at most 64 KiB").await;
    // Validate puts the query through the same filter, before anything runs.
    let out = berth(&db.url, &["pools", "--dir", dir.arg(), "validate"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("giant.yaml:")
            && stdout.contains("accounts.query.select: refused by the account-query filter")
            && stdout.contains("more than 65 queries with UNION"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error[definition_invalid]: 2 problems found"),
        "{stderr}"
    );
    db.drop_db().await;
}

/// The distinct times at which refreshes of `pool` were refused, as seen
/// by polling until `want` of them were (each cycle records a new one),
/// while every one of `serving` keeps running.
async fn refusal_times(
    db: &TestDb,
    pool: &str,
    want: usize,
    within: Duration,
    serving: &mut [&mut Child],
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen: Vec<String> = Vec::new();
    while seen.len() < want {
        for (i, child) in serving.iter_mut().enumerate() {
            let status = child.try_wait().expect("child status");
            assert!(
                status.is_none(),
                "serve #{i} died: {status:?} (after {seen:?})"
            );
        }
        assert!(
            Instant::now() < deadline,
            "only {} refresh cycles seen: {seen:?}",
            seen.len()
        );
        let at: Option<String> = sqlx::query_scalar(
            "SELECT failed_at::text FROM pool_account_refresh_failures WHERE pool = $1",
        )
        .bind(pool)
        .fetch_optional(&db.pool)
        .await
        .expect("failures readable");
        if let Some(at) = at.filter(|at| seen.last() != Some(at)) {
            seen.push(at);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// The instance leading now, if any.
async fn leader(db: &TestDb) -> Option<(String, i32)> {
    sqlx::query_as(
        "SELECT l.holder::text, p.pid FROM leader l JOIN peers p ON p.id = l.holder
         WHERE l.expires_at > now()",
    )
    .fetch_optional(&db.pool)
    .await
    .ok()
    .flatten()
}

#[tokio::test]
async fn serve_instances_outlive_a_union_bomb_refreshed_every_second() {
    let db = support::migrated("acc_serve").await;
    let dir = PoolsDir::new("acc-serve");
    dir.sql_pool("giant", &unions(1_500), "1s");
    // `berth pools apply` refuses a query the filter refuses; one applied
    // anyway (by an older version, or straight into the store) must still
    // not take a serving instance down.
    let applied = berth(&db.url, &["pools", "--dir", dir.arg(), "apply", "giant"]).await;
    assert_eq!(applied.status.code(), Some(1));
    assert!(
        text(&applied.stderr).contains("error[definition_invalid]"),
        "{}",
        text(&applied.stderr)
    );
    let giant = std::fs::read_to_string(dir.0.join("giant.yaml")).unwrap();
    let feed = berth_core::feed::Feed::new(uuid::Uuid::new_v4(), false);
    let actor = berth_core::actor::Actor::cli();
    berth_core::definition::apply(&db.pool, &feed, &giant, &actor)
        .await
        .expect("the store applies it");

    let start = || {
        let mut cmd = command(&db.url, &["--dev", "serve"]);
        cmd.env("BERTH_POOLS_DIR", dir.arg())
            .env("BERTH_LEADER_LEASE_MS", "2000")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().expect("serve runs")
    };
    let mut first = start();
    let mut second = start();

    // Several refresh cycles (one a second) are refused and recorded on the
    // pool, and both instances keep running.
    let started = Instant::now();
    let times = refusal_times(
        &db,
        "giant",
        4,
        Duration::from_secs(60),
        &mut [&mut first, &mut second],
    )
    .await;
    assert!(started.elapsed() >= Duration::from_secs(2), "{times:?}");
    let (code, message): (String, String) = sqlx::query_as(
        "SELECT code, message FROM pool_account_refresh_failures WHERE pool = 'giant'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(code, "query_refused");
    assert!(
        message.contains("more than 65 queries with UNION"),
        "{message}"
    );

    // The pool shows it.
    let listed = berth(&db.url, &["pools", "--dir", dir.arg(), "list"]).await;
    let out = text(&listed.stdout);
    assert!(
        out.contains("giant: account refresh failed at ")
            && out.contains("error[query_refused]: the query combines more than 65 queries"),
        "{out}"
    );
    let listed = berth(&db.url, &["--json", "pools", "--dir", dir.arg(), "list"]).await;
    let doc: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        doc["definitions"][0]["refreshError"]["code"], "query_refused",
        "{doc}"
    );

    // The leader leaves; the other one takes over the refresh and survives it.
    let (was, pid) = leader(&db).await.expect("a leader");
    let (leaving, staying) = if first.id() == Some(pid as u32) {
        (&mut first, &mut second)
    } else {
        (&mut second, &mut first)
    };
    signal(leaving, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), leaving.wait())
        .await
        .expect("the leader stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    eventually(Duration::from_secs(30), "a new leader", || async {
        leader(&db).await.filter(|(l, _)| *l != was)
    })
    .await;
    refusal_times(
        &db,
        "giant",
        3,
        Duration::from_secs(60),
        &mut [&mut *staying],
    )
    .await;
    signal(staying, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), staying.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn denied_functions_are_refused_when_called_in_from() {
    let db = support::migrated("acc_from").await;
    let dir = PoolsDir::new("acc-from");
    let cases = [
        (
            "lock",
            "SELECT * FROM pg_advisory_lock(1)",
            "pg_advisory_lock",
        ),
        ("lo", "SELECT * FROM lo_from_bytea(0,'x')", "lo_from_bytea"),
        (
            "notify",
            "SELECT * FROM pg_notify('berth_changes','x')",
            "pg_notify",
        ),
        ("xid", "SELECT * FROM txid_current()", "txid_current"),
        ("sleep", "SELECT * FROM pg_sleep(0)", "pg_sleep"),
    ];
    for (name, select, _) in cases {
        dir.sql_pool(name, select, "0s");
    }
    for (name, _, function) in cases {
        refused(
            &db,
            &dir,
            name,
            &format!("the function {function} is not allowed"),
        )
        .await;
    }
    db.drop_db().await;
}

#[tokio::test]
async fn one_pools_preview_cannot_stop_anothers() {
    let db = support::migrated("acc_kill").await;
    let dir = PoolsDir::new("acc-kill");
    // Runs until its 5 s statement timeout, on the CPU alone: 2.5e9 rows from
    // two small series joined (one series of 2e9 rows spilled gigabytes to
    // temporary files in those 5 s and once filled CI's disk).
    dir.sql_pool(
        "slow",
        "SELECT count(*) AS id FROM generate_series(1, 50000) a, generate_series(1, 50000) b",
        "0s",
    );
    dir.sql_pool(
        "killer",
        "SELECT t AS id FROM pg_stat_activity a, pg_terminate_backend(a.pid) t WHERE a.datname = current_database() AND a.application_name = 'berth account query' AND a.pid <> pg_backend_pid()",
        "0s",
    );
    let slow = command(&db.url, &["pools", "--dir", dir.arg(), "test", "slow"])
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(20), "the slow preview runs", || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                            AND application_name = 'berth account query' AND state = 'active')",
        )
        .fetch_one(&db.pool)
        .await
        .ok()
        .filter(|running| *running)
    })
    .await;
    let killer = berth(&db.url, &["pools", "--dir", dir.arg(), "test", "killer"]).await;
    let out = tokio::time::timeout(Duration::from_secs(30), slow.wait_with_output())
        .await
        .expect("the slow preview ends")
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        !err.contains("administrator command"),
        "it was stopped: {err}"
    );
    assert!(
        err.contains("statement timeout"),
        "it ran to its own end: {err}"
    );
    // Refused by the filter (the database would refuse it too).
    let err = text(&killer.stderr);
    assert_eq!(killer.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[query_refused]") && err.contains("pg_terminate_backend"),
        "{err}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_huge_preview_is_capped_in_bytes_within_a_memory_limit() {
    let db = support::migrated("acc_bytes").await;
    let dir = PoolsDir::new("acc-bytes");
    // 10,000 rows of 1 MB: about 10 GB if nothing stopped it.
    dir.sql_pool(
        "big",
        "SELECT g AS id, repeat('x', 1000000) AS blob FROM generate_series(1, 10000) g",
        "0s",
    );
    // Under a 512 MiB data limit (an allocation past it aborts the process).
    let started = Instant::now();
    let out = finish(
        command_via(
            &["prlimit", "--data=536870912"],
            &db.url,
            &["--json", "pools", "--dir", dir.arg(), "test", "big"],
        ),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 16 rows of 1,000,020 bytes of JSON fit in 16 MiB; the 17th does not.
    assert_eq!(doc["accounts"]["count"], 16, "{}", doc["accounts"]["count"]);
    assert_eq!(doc["accounts"]["truncated"], true);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_refusals_hint_quotes_the_name_it_echoes() {
    let db = support::migrated("acc_hint").await;
    let dir = PoolsDir::new("acc-hint");
    std::fs::write(
        dir.0.join("hint.yaml"),
        "name: hint\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\naccounts:\n  type: sql\n  builder:\n    table: \"accounts; DROP TABLE bots\"\n",
    )
    .unwrap();
    let out = berth(&db.url, &["pools", "--dir", dir.arg(), "test", "hint"]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("GRANT SELECT ON \"accounts; DROP TABLE bots\" TO berth_query"),
        "{err}"
    );
    db.drop_db().await;
}
