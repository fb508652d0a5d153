//! Account pools: selections by definition queries (expected results
//! derived by hand from the fixture), refresh, lease, return and retry, and
//! leases across processes.

use berth_core::account::lease::{self, Outcome};
use berth_core::account::query::{self, Limits, QueryResult};
use berth_core::definition::{self, AccountPoolConfig, AccountSource, Interval};
use berth_tests::{accounts_fixture, database_url_of, insert_bot, insert_pool};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

fn definition_with(accounts: &str) -> String {
    format!("name: acc\nmeeting_platform: zoom\nimage: bot\nmax_size: 10\naccounts:\n{accounts}")
}

async fn select(role: &PgConnectOptions, text: &str) -> QueryResult {
    let def = definition::parse(text, None).expect("valid definition");
    let Some(AccountSource::Sql { query: Some(q), .. }) = &def.accounts else {
        panic!("an sql source")
    };
    query::run(role, q, Limits::default())
        .await
        .expect("query runs")
}

fn ids(r: &QueryResult) -> Vec<i64> {
    r.rows
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

const BY_FAILURES: &str = "  type: sql
  query:
    select: SELECT id, email FROM accounts WHERE status IN (:a, :b) ORDER BY failures, id LIMIT :n
    parameters:
      - { name: a, type: string, value: available }
      - { name: b, type: string, value: failed }
      - { name: n, type: int, value: 5 }
  pool_config:
    retry_failed: true
    max_failures: 2
";

#[sqlx::test(migrations = "../migrations")]
async fn definitions_select_the_accounts_derived_by_hand(db: PgPool) {
    let role = accounts_fixture(&db).await;
    // available: i % 4 = 0 → 4, 8, 12, 16; failures i % 5 < 3 → 12 (2), 16 (1).
    let r = select(
        &role,
        &definition_with(
            "  type: sql
  query:
    select: SELECT id FROM accounts WHERE status = :s AND failures < :f ORDER BY id
    parameters:
      - { name: s, type: string, value: available }
      - { name: f, type: int, value: 3 }
",
        ),
    )
    .await;
    assert_eq!(ids(&r), vec![12, 16]);
    // premium (3, 6, 9, 12, 15) with credits ≥ 100 → 12, 15; by credits desc.
    let r = select(
        &role,
        &definition_with(
            "  type: sql
  query:
    select: SELECT id FROM accounts WHERE premium = :p AND credits >= :min ORDER BY credits DESC
    parameters:
      - { name: p, type: bool, value: true }
      - { name: min, type: int, value: 100 }
",
        ),
    )
    .await;
    assert_eq!(ids(&r), vec![15, 12]);
    // available or failed (i % 4 = 2 → 2, 6, 10, 14): failures 10:0, 6:1,
    // 16:1, 2:2, 12:2, 8:3, 4:4, 14:4 → the first five.
    let r = select(&role, &definition_with(BY_FAILURES)).await;
    assert_eq!(ids(&r), vec![10, 6, 16, 2, 12]);
}

/// Retries a failed account until its second failure.
const RETRY_TWICE: AccountPoolConfig = AccountPoolConfig {
    retry_failed: true,
    max_failures: 2,
    refresh_interval: Interval(Duration::from_secs(30)),
};

/// The pool `acc` with the five accounts [`BY_FAILURES`] selects, each
/// leased by a bot of its own (keys "10", "12", "16", "2", "6": all at 0
/// failures, so by key); the bots in that order.
async fn five_leased(db: &PgPool) -> Vec<i64> {
    let role = accounts_fixture(db).await;
    insert_pool(db, "acc", "zoom", 10).await;
    let r = select(&role, &definition_with(BY_FAILURES)).await;
    let refreshed = lease::refresh(db, "acc", &r).await.unwrap();
    assert_eq!(
        (refreshed.added, refreshed.kept, refreshed.removed),
        (5, 0, 0)
    );
    let mut bots = Vec::new();
    let mut leased = Vec::new();
    for _ in 0..5 {
        let bot = insert_bot(db, "acc").await;
        let a = lease::lease(db, "acc", bot)
            .await
            .unwrap()
            .expect("an account");
        leased.push(a.account_key.clone());
        bots.push(bot);
    }
    assert_eq!(leased, vec!["10", "12", "16", "2", "6"]);
    bots
}

#[sqlx::test(migrations = "../migrations")]
async fn each_account_is_leased_once_and_a_bot_asking_again_gets_its_own(db: PgPool) {
    let bots = five_leased(&db).await;
    let extra = insert_bot(&db, "acc").await;
    assert_eq!(
        lease::lease(&db, "acc", extra).await.unwrap(),
        None,
        "all leased"
    );
    assert_eq!(
        lease::lease(&db, "acc", bots[0])
            .await
            .unwrap()
            .unwrap()
            .account_key,
        "10"
    );
    let s = lease::stats(&db, "acc").await.unwrap();
    assert_eq!((s.available, s.in_use), (0, 5));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_completed_lease_ends_once(db: PgPool) {
    let bots = five_leased(&db).await;
    assert_eq!(
        lease::finish(&db, bots[1], &Outcome::Completed, &RETRY_TWICE)
            .await
            .unwrap()
            .as_deref(),
        Some("completed")
    );
    assert_eq!(
        lease::finish(&db, bots[1], &Outcome::Completed, &RETRY_TWICE)
            .await
            .unwrap(),
        None,
        "ending twice changes nothing"
    );
    let s = lease::stats(&db, "acc").await.unwrap();
    assert_eq!((s.in_use, s.completed), (4, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_account_is_retried_up_to_its_failure_limit(db: PgPool) {
    let bots = five_leased(&db).await;
    // "10" fails once: back, with one failure.
    let st = lease::finish(
        &db,
        bots[0],
        &Outcome::Failed("login refused".into()),
        &RETRY_TWICE,
    )
    .await
    .unwrap();
    assert_eq!(st.as_deref(), Some("available"));
    // "10" again (the only one available), fails a second time: out.
    let bot = insert_bot(&db, "acc").await;
    let again = lease::lease(&db, "acc", bot).await.unwrap().unwrap();
    assert_eq!((again.account_key.as_str(), again.failures), ("10", 1));
    let st = lease::finish(
        &db,
        bot,
        &Outcome::Failed("login refused".into()),
        &RETRY_TWICE,
    )
    .await
    .unwrap();
    assert_eq!(st.as_deref(), Some("failed"));
    let s = lease::stats(&db, "acc").await.unwrap();
    assert_eq!((s.available, s.in_use, s.completed, s.failed), (0, 4, 0, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn without_retries_the_first_failure_is_final(db: PgPool) {
    let bots = five_leased(&db).await;
    let no_retry = AccountPoolConfig {
        retry_failed: false,
        ..RETRY_TWICE
    };
    assert_eq!(
        lease::finish(&db, bots[2], &Outcome::Failed("x".into()), &no_retry)
            .await
            .unwrap()
            .as_deref(),
        Some("failed")
    );
    let last_error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM pool_accounts WHERE account_key = '16'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(last_error.as_deref(), Some("x"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_refresh_keeps_leases_adds_new_and_drops_vanished_available_accounts(db: PgPool) {
    let role = accounts_fixture(&db).await;
    insert_pool(&db, "acc", "zoom", 10).await;
    lease::refresh(
        &db,
        "acc",
        &select(&role, &definition_with(BY_FAILURES)).await,
    )
    .await
    .unwrap();
    let bot = insert_bot(&db, "acc").await;
    let held = lease::lease(&db, "acc", bot).await.unwrap().unwrap();
    assert_eq!(held.account_key, "10");
    // Now the source returns 4, 8 and 12 only.
    sqlx::query("UPDATE accounts SET status = 'completed' WHERE id NOT IN (4, 8, 12)")
        .execute(&db)
        .await
        .unwrap();
    let r = select(&role, &definition_with(BY_FAILURES)).await;
    assert_eq!(ids(&r), vec![12, 8, 4]);
    let done = lease::refresh(&db, "acc", &r).await.unwrap();
    // 12 kept; 4 and 8 new; 6, 16 and 2 (available) removed; 10 stays leased.
    assert_eq!((done.added, done.kept, done.removed), (2, 1, 3));
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT account_key, status FROM pool_accounts ORDER BY account_key")
            .fetch_all(&db)
            .await
            .unwrap();
    let keys: BTreeMap<String, String> = keys.into_iter().collect();
    assert_eq!(
        keys,
        BTreeMap::from([
            ("10".into(), "in_use".into()),
            ("12".into(), "available".into()),
            ("4".into(), "available".into()),
            ("8".into(), "available".into()),
        ])
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn two_processes_never_lease_one_account_twice(db: PgPool) {
    insert_pool(&db, "acc", "zoom", 10).await;
    let rows: Vec<BTreeMap<String, serde_json::Value>> = (1..=200)
        .map(|i| BTreeMap::from([("id".to_string(), serde_json::json!(i))]))
        .collect();
    let result = QueryResult {
        columns: vec!["id".into()],
        rows,
        truncated: false,
    };
    lease::refresh(&db, "acc", &result).await.unwrap();

    let barrier_key: i64 = 7_000_001;
    let mut gate = db.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(barrier_key)
        .execute(&mut *gate)
        .await
        .unwrap();
    let url = database_url_of(&db);
    let (processes, workers) = (2, 6);
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_lease_worker"))
                .args([&url, "acc", &workers.to_string(), &barrier_key.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("lease_worker starts")
        })
        .collect();
    // Every worker of both processes is waiting at the barrier.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1",
        )
        .bind(barrier_key as i32)
        .fetch_one(&db)
        .await
        .unwrap();
        if waiting == (processes * workers) as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {waiting} workers reached the barrier"
        );
        tokio::task::yield_now().await;
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(barrier_key)
        .execute(&mut *gate)
        .await
        .unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_process = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("lease_worker ends");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        per_process.push(text.lines().count());
        for key in text.lines() {
            *seen.entry(key.to_string()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 200, "every account was leased");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "leased more than once: {twice:?}");
    assert!(
        per_process.iter().all(|n| *n > 0),
        "both processes leased: {per_process:?}"
    );
    let s = lease::stats(&db, "acc").await.unwrap();
    assert_eq!((s.available, s.in_use, s.completed), (0, 0, 200));
}
