//! Account pools in the engine: the router leases an account with each
//! bot's slot, returns it when the bot ends (completed, or failed and
//! retried by the pool's policy), gives it back uncounted when the deploy
//! fails, queues bots when none is left; auto-refresh, queue defaults from
//! the definition, and trimming a shrunk or retired pool. Real PostgreSQL,
//! simulated platforms, manual clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use berth_core::account::lease;
use berth_core::account::source;
use berth_core::actor::Actor;
use berth_core::bot::{self, Decision};
use berth_core::definition;
use berth_core::jobs;
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::ErrorCode;
use berth_tests::bots;
use berth_tests::{
    accounts_fixture, database_url_of, harness, query_connection, three_platforms, wide_pool,
    Harness,
};
use chrono::Duration;
use sqlx::PgPool;

/// Pool `acc` (zoom) whose accounts are the fixture's available or failed
/// rows with fewer than 3 failures: ids 10, 6, 16, 2, 12 (derived in
/// `accounts.rs`), leased by key order "10", "12", "16", "2", "6".
fn acc(extra: &str) -> String {
    format!(
        "name: acc
meeting_platform: zoom
image: bots/zoom
max_size: 50
queue:
  priority: 20
  timeout: 90s
accounts:
  type: sql
  query:
    select: SELECT id FROM accounts WHERE status IN (:a, :b) AND failures < :n
    parameters:
      - {{ name: a, type: string, value: available }}
      - {{ name: b, type: string, value: failed }}
      - {{ name: n, type: int, value: 3 }}
  pool_config:
    retry_failed: true
    max_failures: 2
{extra}"
    )
}

async fn setup(db: PgPool, limit: &'static str) -> (Harness, String) {
    accounts_fixture(&db).await;
    let url = database_url_of(&db);
    let h = harness(db, &three_platforms(limit, ["0", "0", "0"]), false).await;
    (h, url)
}

async fn apply_and_refresh(h: &Harness, url: &str, text: &str) {
    definition::apply(&h.db, h.router.feed(), text, &Actor::system("test"))
        .await
        .expect("applied");
    let def = definition::parse(text, None).expect("valid");
    source::refresh(
        &h.db,
        h.router.feed(),
        query_connection(url),
        std::path::Path::new("."),
        &def,
    )
    .await
    .expect("refreshed");
}

fn to_acc() -> NewBot {
    bots::zoom(5550001).pool("acc")
}

fn bot_id(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. }
        | DeployOutcome::Queued { bot_id, .. }
        | DeployOutcome::Scheduled { bot_id, .. }
        | DeployOutcome::Skipped { bot_id } => *bot_id,
    }
}

/// Account key → (status, holder, failures).
async fn accounts(db: &PgPool) -> BTreeMap<String, (String, Option<i64>, i32)> {
    let rows: Vec<(String, String, Option<i64>, i32)> = sqlx::query_as(
        "SELECT account_key, status, bot_id, failures FROM pool_accounts WHERE pool = 'acc'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(k, s, b, f)| (k, (s, b, f)))
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn each_bot_leases_its_own_account_and_returns_it_when_it_ends(db: PgPool) {
    let (h, url) = setup(db, "10").await;
    apply_and_refresh(&h, &url, &acc("")).await;

    let mut bots = Vec::new();
    for _ in 0..5 {
        let o = h.router.create_bot(&to_acc()).await.unwrap();
        assert!(matches!(o, DeployOutcome::Deployed { .. }), "{o:?}");
        bots.push(bot_id(&o));
    }
    let held = accounts(&h.db).await;
    let by_bot: HashMap<i64, String> = held
        .iter()
        .filter_map(|(k, (_, b, _))| b.map(|b| (b, k.clone())))
        .collect();
    assert_eq!(
        by_bot.len(),
        5,
        "five bots, five distinct accounts: {held:?}"
    );
    assert_eq!(by_bot[&bots[0]], "10");
    assert_eq!(by_bot[&bots[1]], "12");

    // The sixth finds none left: it waits in the global queue, and its
    // trace says why; no slot was taken for it.
    let o = h.router.create_bot(&to_acc()).await.unwrap();
    let DeployOutcome::Queued {
        bot_id: sixth,
        waiting_on: None,
        ..
    } = o
    else {
        panic!("queued globally: {o:?}")
    };
    let trace = bot::get(&h.db, sixth).await.unwrap().decision_trace;
    let no_account = trace
        .iter()
        .find(|e| e.decision == Decision::NoAccount)
        .expect("a noAccount decision");
    assert!(
        no_account.detail.contains("5 in use"),
        "{}",
        no_account.detail
    );
    let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE pool = 'acc'")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(slots, 5);

    // DONE completes "10": still nothing to lease.
    h.router
        .report(bots[0], BotStatus::Done, None)
        .await
        .unwrap();
    assert_eq!(accounts(&h.db).await["10"], ("completed".into(), None, 0));
    h.dispatcher.drain().await.unwrap();
    assert_eq!(
        bot::get(&h.db, sixth).await.unwrap().status,
        BotStatus::Queued
    );

    // FATAL fails "12" once; retry_failed returns it, and the waiting bot gets it.
    h.router
        .report(bots[1], BotStatus::Fatal, Some("login refused"))
        .await
        .unwrap();
    assert_eq!(accounts(&h.db).await["12"], ("available".into(), None, 1));
    let report = h.dispatcher.drain().await.unwrap();
    assert_eq!(report.deployed, 1);
    assert_eq!(
        accounts(&h.db).await["12"],
        ("in_use".into(), Some(sixth), 1)
    );

    // It fails again: max_failures 2 takes it out for good.
    h.router
        .report(sixth, BotStatus::Fatal, Some("login refused"))
        .await
        .unwrap();
    assert_eq!(accounts(&h.db).await["12"], ("failed".into(), None, 2));
    let s = lease::stats(&h.db, "acc").await.unwrap();
    assert_eq!((s.available, s.in_use, s.completed, s.failed), (0, 3, 1, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_deploy_gives_the_account_back_uncounted(db: PgPool) {
    let (h, url) = setup(db, "10").await;
    apply_and_refresh(&h, &url, &acc("")).await;
    for kind in PlatformKind::ALL {
        sim::set_knobs(
            &h.db,
            *kind,
            &SimKnobs {
                failure_rate: 1.0,
                ..SimKnobs::default()
            },
        )
        .await
        .unwrap();
    }
    let o = h.router.create_bot(&to_acc()).await.unwrap();
    assert!(
        matches!(
            o,
            DeployOutcome::Queued {
                waiting_on: None,
                ..
            }
        ),
        "every platform failed: {o:?}"
    );
    let all = accounts(&h.db).await;
    assert!(
        all.values()
            .all(|(s, b, f)| s == "available" && b.is_none() && *f == 0),
        "no account held or charged: {all:?}"
    );
    // The platforms recover. The bot waits out their backoff after one
    // failed deploy (1 s); it already had three slots created for it (the
    // most one request may), so it takes one of them once recovery has
    // made it idle again, and deploys with an account.
    for kind in PlatformKind::ALL {
        sim::set_knobs(&h.db, *kind, &SimKnobs::default())
            .await
            .unwrap();
    }
    assert_eq!(
        h.dispatcher.drain().await.unwrap().deployed,
        0,
        "backing off"
    );
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 0, "slot cap");
    assert_eq!(
        jobs::recover(&h.router, &h.config.jobs)
            .await
            .unwrap()
            .recovered,
        3
    );
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    h.router.inflight().wait_idle().await;
    // The bot holds exactly one account; none was charged a failure.
    let all = accounts(&h.db).await;
    let held: Vec<_> = all.values().filter(|(_, b, _)| b.is_some()).collect();
    assert_eq!(
        held,
        vec![&("in_use".to_string(), Some(bot_id(&o)), 0)],
        "{all:?}"
    );
    assert!(all.values().all(|(_, _, f)| *f == 0), "{all:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_deploys_never_share_an_account(db: PgPool) {
    let wide = wide_pool(&db, 45).await;
    let (h, url) = setup(wide, "100").await;
    let text = "name: acc
meeting_platform: zoom
image: bots/zoom
max_size: 100
accounts:
  type: sql
  query:
    select: SELECT id FROM accounts
";
    apply_and_refresh(&h, &url, text).await;
    let router = h.router.clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (router, barrier) = (router.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            router.create_bot(&to_acc()).await
        }));
    }
    let mut deployed = 0;
    let mut queued = 0;
    for t in tasks {
        match t.await.unwrap().expect("create_bot") {
            DeployOutcome::Deployed { .. } => deployed += 1,
            DeployOutcome::Queued { .. } => queued += 1,
            o => panic!("{o:?}"),
        }
    }
    assert_eq!((deployed, queued), (16, 24), "16 accounts, 40 bots");
    let held: Vec<(String, i64)> =
        sqlx::query_as("SELECT account_key, bot_id FROM pool_accounts WHERE bot_id IS NOT NULL")
            .fetch_all(&h.db)
            .await
            .unwrap();
    let keys: HashSet<&String> = held.iter().map(|(k, _)| k).collect();
    let holders: HashSet<i64> = held.iter().map(|(_, b)| *b).collect();
    assert_eq!((held.len(), keys.len(), holders.len()), (16, 16, 16));
    let running: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bots WHERE pool = 'acc' AND status NOT IN ('QUEUED', 'DONE', 'FATAL')",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!(running, 16, "every running bot holds an account");
}

#[sqlx::test(migrations = "../migrations")]
async fn auto_refresh_follows_each_pools_interval(db: PgPool) {
    let (h, url) = setup(db, "10").await;
    definition::apply(
        &h.db,
        h.router.feed(),
        &acc("    refresh_interval: 30s\n"),
        &Actor::system("test"),
    )
    .await
    .unwrap();
    // A second pool whose source cannot be read (the role may not read `bots`),
    // and a third refreshed by hand only.
    let broken = "name: broken
meeting_platform: zoom
image: bots/zoom
max_size: 5
accounts:
  type: sql
  query:
    select: SELECT id FROM bots
  pool_config:
    refresh_interval: 30s
";
    let manual = acc("    refresh_interval: 0s\n").replace("name: acc", "name: manual");
    definition::apply(&h.db, h.router.feed(), broken, &Actor::system("test"))
        .await
        .unwrap();
    definition::apply(&h.db, h.router.feed(), &manual, &Actor::system("test"))
        .await
        .unwrap();
    let dir = std::path::Path::new(".");
    let mut attempts = HashMap::new();

    // Never refreshed: due at once.
    let r = jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
        .await
        .unwrap();
    assert_eq!(r.refreshed.len(), 1, "{r:?}");
    assert_eq!(r.refreshed[0].0, "acc");
    assert_eq!(r.refreshed[0].1.added, 5);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].0, "broken");
    assert_eq!(
        source::last_refresh(&h.db, "manual").await.unwrap(),
        None,
        "0s: manual only"
    );
    // The failure is on the pool, for every instance and face to show.
    let failures = source::refresh_failures(&h.db).await.unwrap();
    assert_eq!(failures.keys().collect::<Vec<_>>(), vec!["broken"]);
    assert_eq!(failures["broken"].code, "query_refused");
    assert!(
        failures["broken"].message.contains("permission denied"),
        "{:?}",
        failures["broken"]
    );

    // The source changes; within the interval nothing is read again, and
    // the broken pool is not retried on every tick.
    sqlx::query("UPDATE accounts SET status = 'available' WHERE id = 5")
        .execute(&h.db)
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(29));
    let r = jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
        .await
        .unwrap();
    assert!(r.refreshed.is_empty() && r.failed.is_empty(), "{r:?}");

    // Past the interval: both are due again; the new account appears.
    h.clock.advance(Duration::seconds(2));
    let r = jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
        .await
        .unwrap();
    assert_eq!(r.refreshed.len(), 1, "{r:?}");
    assert_eq!(
        r.refreshed[0].1.added, 1,
        "id 5, now available with 0 failures"
    );
    assert_eq!(r.failed.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pools_queue_defaults_apply_to_its_requests(db: PgPool) {
    let (h, url) = setup(db, "10").await;
    apply_and_refresh(&h, &url, &acc("")).await;
    let o = h.router.create_bot(&to_acc()).await.unwrap();
    let b = bot::get(&h.db, bot_id(&o)).await.unwrap();
    assert_eq!(
        (b.pool.as_str(), b.priority, b.queue_timeout_ms),
        ("acc", 20, 90_000)
    );
    // A request's own values win.
    let o = h
        .router
        .create_bot(&to_acc().priority(5).queue_timeout_ms(1_000))
        .await
        .unwrap();
    let b = bot::get(&h.db, bot_id(&o)).await.unwrap();
    assert_eq!((b.priority, b.queue_timeout_ms), (5, 1_000));
    // A pool of another meeting platform, or an unknown one, is refused
    // before anything is written.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&h.db)
        .await
        .unwrap();
    let e = h
        .router
        .create_bot(
            &NewBot::new(MeetingPlatform::GoogleMeet, "https://zoom.us/j/5550001").pool("acc"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    let e = h
        .router
        .create_bot(&to_acc().pool("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_shrunk_pool_loses_its_idle_slots_beyond_the_new_max(db: PgPool) {
    let h = harness(db, &three_platforms("10", ["0", "0", "0"]), false).await;
    let def = |max: u32, prewarm: u32| {
        format!("name: shrink\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: {max}\nprewarm: {prewarm}\n")
    };
    definition::apply(&h.db, h.router.feed(), &def(5, 5), &Actor::system("test"))
        .await
        .unwrap();
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 5);
    let smaller = definition::parse(&def(2, 0), None).unwrap();
    let impact = definition::impact(&h.db, &smaller).await.unwrap();
    assert_eq!(
        impact.to_string(),
        "creates 0 slots, removes 3 idle, 0 busy affected"
    );
    definition::apply(&h.db, h.router.feed(), &def(2, 0), &Actor::system("test"))
        .await
        .unwrap();
    assert_eq!(
        jobs::trim(&h.router).await.unwrap(),
        3,
        "what impact promised"
    );
    let left: Vec<i32> = sqlx::query_scalar(
        "SELECT slot_number FROM pool_slots WHERE pool = 'shrink' ORDER BY slot_number",
    )
    .fetch_all(&h.db)
    .await
    .unwrap();
    assert_eq!(left, vec![1, 2]);
    assert_eq!(
        jobs::trim(&h.router).await.unwrap(),
        0,
        "nothing more to trim"
    );

    // Retired: no new bots, and its last idle slots go.
    definition::retire(&h.db, h.router.feed(), "shrink")
        .await
        .unwrap();
    let e = h
        .router
        .create_bot(&to_acc().pool("shrink"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    assert_eq!(jobs::trim(&h.router).await.unwrap(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_file_source_leases_one_account_per_file(db: PgPool) {
    let h = harness(db, &three_platforms("10", ["0", "0", "0"]), false).await;
    let pools_dir = std::env::temp_dir().join(format!(
        "berth-file-source-{}",
        h.db.connect_options().get_database().unwrap_or("db")
    ));
    let accounts_dir = pools_dir.join("accounts/manual");
    let _ = std::fs::remove_dir_all(&pools_dir);
    std::fs::create_dir_all(accounts_dir.join("archive")).unwrap();
    for f in ["b.xml", "a.xml", ".hidden.xml"] {
        std::fs::write(accounts_dir.join(f), "<account/>").unwrap();
    }
    let text = "name: files\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 5\naccounts:\n  type: file\n  directory: accounts/manual\n";
    definition::apply(&h.db, h.router.feed(), text, &Actor::system("test"))
        .await
        .unwrap();
    let def = definition::parse(text, None).unwrap();
    let url = database_url_of(&h.db);
    let r = source::refresh(
        &h.db,
        h.router.feed(),
        query_connection(&url),
        &pools_dir,
        &def,
    )
    .await
    .unwrap();
    assert_eq!((r.refreshed.added, r.stats.available), (2, 2), "{r:?}");

    let o = h.router.create_bot(&to_acc().pool("files")).await.unwrap();
    let held = lease::held_by(&h.db, bot_id(&o)).await.unwrap().unwrap();
    assert_eq!(held.account_key, "a.xml", "by name");
    assert_eq!(
        held.data["path"],
        accounts_dir.join("a.xml").display().to_string()
    );

    // A file removed and one added: the next refresh follows the directory.
    std::fs::remove_file(accounts_dir.join("b.xml")).unwrap();
    std::fs::write(accounts_dir.join("c.xml"), "<account/>").unwrap();
    let r = source::refresh(
        &h.db,
        h.router.feed(),
        query_connection(&url),
        &pools_dir,
        &def,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.refreshed.added, r.refreshed.kept, r.refreshed.removed),
        (1, 1, 1)
    );
    // A directory that is not there: a clear error, the accounts as they were.
    std::fs::remove_dir_all(&accounts_dir).unwrap();
    let e = source::refresh(
        &h.db,
        h.router.feed(),
        query_connection(&url),
        &pools_dir,
        &def,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let s = lease::stats(&h.db, "files").await.unwrap();
    assert_eq!((s.available, s.in_use), (1, 1));
    std::fs::remove_dir_all(&pools_dir).unwrap();
}

/// A query of 1,500 `SELECT n AS id` joined by `UNION` took down every
/// instance when the leader refreshed it on a runtime worker.
fn giant(interval: &str) -> String {
    let mut select = String::from("SELECT 0 AS id");
    for n in 1..1_500 {
        select.push_str(&format!(" UNION SELECT {n} AS id"));
    }
    format!(
        "name: giant
meeting_platform: zoom
image: bots/zoom
max_size: 5
accounts:
  type: sql
  query:
    select: {select}
  pool_config:
    refresh_interval: {interval}
"
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn a_refused_query_is_an_error_on_its_pool_and_the_next_success_clears_it(db: PgPool) {
    let (h, url) = setup(db, "10").await;
    definition::apply(&h.db, h.router.feed(), &giant("1s"), &Actor::system("test"))
        .await
        .unwrap();
    let dir = std::path::Path::new(".");
    let mut attempts = HashMap::new();
    let r = jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
        .await
        .expect("a refused query is not the job's failure");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    let failure = source::refresh_failures(&h.db).await.unwrap()["giant"].clone();
    assert_eq!(failure.code, "query_refused");
    assert!(
        failure
            .message
            .contains("more than 65 queries with UNION, INTERSECT or EXCEPT"),
        "{failure:?}"
    );

    // Fixed: the next refresh succeeds and the failure is gone.
    let fixed = giant("1s").replace(
        &giant("1s")[giant("1s").find("    select: ").unwrap()
            ..giant("1s").find("\n  pool_config").unwrap()],
        "    select: SELECT id FROM accounts WHERE status = 'available'",
    );
    definition::apply(&h.db, h.router.feed(), &fixed, &Actor::system("test"))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(2));
    let r = jobs::refresh_accounts(&h.router, query_connection(&url), dir, &mut attempts)
        .await
        .unwrap();
    assert_eq!(r.refreshed.len(), 1, "{r:?}");
    assert!(source::refresh_failures(&h.db).await.unwrap().is_empty());
}
