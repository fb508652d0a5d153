//! Faults under traffic on a private PostgreSQL cluster (issue 11, items 19
//! and 19b): a database restart, a 10 s outage and a killed leader while
//! requests keep coming. Afterwards every accepted request must be in a
//! state something acts on — active (holding a deploying or busy slot),
//! `DONE` or `FATAL` (holding nothing), or queued with an entry — no slot may
//! be stuck, and once traffic has stopped everything must settle: every bot
//! ended, the queue empty, every slot idle.
//!
//! Two `berth` instances (the `instance` binary, development mode: every
//! platform simulated) dispatch and run the jobs; this process creates the
//! bots through its own router, as `berth bots create` does. Each database
//! fault is timed to hit creates in the middle of routing (their bot
//! committed, their walk over the platforms not done): the test holds the
//! lock a reservation on k8s takes until some creates wait for it, then
//! restarts or stops the server — the window in which a request used to be
//! lost.

use berth_core::config::EnvConfig;
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::router::NewBot;
use berth_core::{Berth, Database};
use berth_tests::cluster::Cluster;
use berth_tests::eventually;
use berth_tests::process::Instance;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LEASE_MS: &str = "1500";
const CREATORS: usize = 4;
/// Bots created between two faults.
const PER_PHASE: i64 = 40;

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("BERTH_LEADER_LEASE_MS", LEASE_MS),
        ("BERTH_RECOVERY_INTERVAL_MS", "1000"),
        ("BERTH_RECONCILE_INTERVAL_MS", "500"),
        ("BERTH_DISPATCH_TICK_MS", "200"),
    ]
}

fn spawn(url: &str) -> Instance {
    Instance::spawn(env!("CARGO_BIN_EXE_instance"), url, &env())
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    // During a fault the query fails: count nothing.
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(db)
        .await
        .unwrap_or(-1)
}

/// Every bot not in a state something acts on, and every stuck slot (a
/// simulated start takes 150 ms: one deploying for 10 s is stuck), as
/// readable lines; `Err` when the database cannot answer.
async fn violations(db: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let bots: Vec<(i64, String, Option<i32>, Option<String>)> = sqlx::query_as(
        "SELECT b.id, b.status, q.stage, s.status FROM bots b
         LEFT JOIN deployment_queue q ON q.bot_id = b.id
         LEFT JOIN pool_slots s ON s.assigned_bot_id = b.id
         WHERE NOT (
               (b.status = 'QUEUED' AND q.id IS NOT NULL AND s.id IS NULL)
            OR (b.status = 'DEPLOYING' AND q.id IS NULL AND s.status IN ('deploying', 'busy'))
            OR (b.status IN ('JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING', 'CALL_ENDED')
                AND q.id IS NULL AND s.status = 'busy')
            OR (b.status IN ('DONE', 'FATAL') AND q.id IS NULL AND s.id IS NULL))
         ORDER BY b.id",
    )
    .fetch_all(db)
    .await?;
    let stuck: Vec<(String, i64)> = sqlx::query_as(
        "SELECT slot_name, (EXTRACT(EPOCH FROM now() - status_changed_at) * 1000)::bigint
         FROM pool_slots WHERE status = 'deploying' AND status_changed_at < now() - interval '10 seconds'",
    )
    .fetch_all(db)
    .await?;
    Ok(bots
        .into_iter()
        .map(|(id, status, stage, slot)| {
            format!("bot #{id} {status}, queue stage {stage:?}, slot {slot:?}")
        })
        .chain(
            stuck
                .into_iter()
                .map(|(name, ms)| format!("slot {name} deploying for {ms} ms")),
        )
        .collect())
}

/// Holds the lock a reservation on k8s takes (on a connection of its own)
/// until at least two of this process's creates wait for it: they have
/// committed their bot and are in the middle of routing it. The server's
/// fault then cuts them off there (and ends this connection with them).
async fn catch_creates_mid_walk(url: &str, creator: uuid::Uuid) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT platform_load_lock('k8s')")
        .execute(&mut conn)
        .await
        .unwrap();
    let app = format!("berth {creator}");
    let probe = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    eventually("creates wait mid-walk", Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&app)
        .fetch_one(&probe)
        .await
        .unwrap()
            >= 2
    })
    .await;
    probe.close().await;
    conn
}

/// Creates bots until `stop`, counting the creates that failed.
fn creators(
    berth: &Arc<Berth>,
    stop: &Arc<AtomicBool>,
    failed: &Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CREATORS)
        .map(|i| {
            let (berth, stop, failed) = (berth.clone(), stop.clone(), failed.clone());
            tokio::spawn(async move {
                let (meeting, url) = [
                    (MeetingPlatform::Zoom, format!("https://zoom.us/j/{i}")),
                    (
                        MeetingPlatform::GoogleMeet,
                        format!("https://meet.google.com/faults-{i}"),
                    ),
                ][i % 2]
                    .clone();
                while !stop.load(Ordering::SeqCst) {
                    let req = NewBot::new(meeting, url.clone());
                    if berth.router().create_bot(&req).await.is_err() {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    // Pacing only: a steady stream rather than a burst.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect()
}

async fn more_bots(db: &PgPool, after: i64, what: &str) -> i64 {
    eventually(what, Duration::from_secs(60), || async {
        count(db, "SELECT count(*) FROM bots").await >= after + PER_PHASE
    })
    .await;
    count(db, "SELECT count(*) FROM bots").await
}

async fn leader(db: &PgPool) -> Option<uuid::Uuid> {
    berth_core::jobs::leader(db).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_survives_a_restart_an_outage_and_a_killed_leader_under_traffic() {
    let pg = Cluster::start();
    let url = pg.url();
    let mut instances = vec![spawn(&url), spawn(&url)];
    let db = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    // Short starts and runs, so capacity cycles; 5 % of starts fail (failover).
    for kind in PlatformKind::ALL {
        let knobs = SimKnobs {
            deploy_latency_ms: 150,
            failure_rate: 0.05,
            run_ms: Some(1_500),
            ..SimKnobs::default()
        };
        sim::set_knobs(&db, *kind, &knobs).await.unwrap();
    }
    let vars: HashMap<&str, &str> = env().into_iter().collect();
    let config = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), true).unwrap();
    let traffic = Arc::new(
        Berth::builder(config)
            .database(Database::Url(url.clone()))
            .feed(false)
            .max_connections(8)
            .start()
            .await
            .unwrap(),
    );
    let (stop, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let tasks = creators(&traffic, &stop, &failed);

    let n = more_bots(&db, 0, "traffic flows").await;
    let held = catch_creates_mid_walk(&url, traffic.id).await;
    pg.restart();
    drop(held);
    let n = more_bots(&db, n, "traffic flows after the restart").await;
    // The leader dies mid-flight; a new instance joins.
    let ids: Vec<_> = instances.iter().map(|i| i.id).collect();
    eventually("a leader", Duration::from_secs(30), || async {
        leader(&db).await.is_some_and(|l| ids.contains(&l))
    })
    .await;
    let current = leader(&db).await.unwrap();
    instances.retain(|i| i.id != current);
    instances.push(spawn(&url));
    let n = more_bots(&db, n, "traffic flows after the leader died").await;
    let held = catch_creates_mid_walk(&url, traffic.id).await;
    pg.stop();
    drop(held);
    // The outage itself: 10 s without a database.
    tokio::time::sleep(Duration::from_secs(10)).await;
    pg.start_again();
    more_bots(&db, n, "traffic flows after the outage").await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let failed = failed.load(Ordering::SeqCst);

    // Every request in a state something acts on, no slot stuck: once the
    // interrupted ones have had a lease (plus a sweep) to be found.
    let mut last = Ok(Vec::new());
    let settled = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            last = violations(&db).await;
            if last.as_ref().is_ok_and(|v| v.is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await; // polling interval
        }
    })
    .await;
    assert!(settled.is_ok(), "requests nothing acts on: {last:#?}");

    // And with no new traffic everything comes to an end.
    eventually(
        "every bot ends and every slot is idle",
        Duration::from_secs(120),
        || async {
            count(
                &db,
                "SELECT count(*) FROM bots WHERE status NOT IN ('DONE', 'FATAL')",
            )
            .await
                == 0
                && count(&db, "SELECT count(*) FROM deployment_queue").await == 0
                && count(
                    &db,
                    "SELECT count(*) FROM pool_slots WHERE status <> 'idle'",
                )
                .await
                    == 0
        },
    )
    .await;
    let ends: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT status, error, count(*) FROM bots GROUP BY status, error ORDER BY status, error",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    eprintln!("{failed} creates failed during the faults; bots by end: {ends:?}");
    for (status, error, n) in &ends {
        assert!(
            status == "DONE",
            "{n} bot(s) ended {status} ({error:?}): accepted requests with 5 min to wait must all be served"
        );
    }
    assert!(
        failed >= 4,
        "each fault cut off the creates it caught mid-walk ({failed} failed)"
    );
    let taken_over = count(
        &db,
        r#"SELECT count(*) FROM bots WHERE decision_trace @> '[{"decision": "interrupted"}]'"#,
    )
    .await;
    assert!(
        taken_over >= 4,
        "the requests cut off mid-walk were taken over ({taken_over})"
    );
    drop(instances);
    if let Ok(b) = Arc::try_unwrap(traffic) {
        let _ = b.shutdown().await;
    }
}

/// A bot whose deploy was under way in an instance that is killed: another
/// instance routes it again (item 19b), long before the deploying timeout.
#[sqlx::test(migrations = "../migrations")]
async fn a_deploy_cut_off_by_a_killed_instance_is_routed_again(db: PgPool) {
    let url = berth_tests::database_url_of(&db);
    let mut env = vec![
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "1"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ];
    env.extend(self::env());
    let h = berth_tests::harness(db, &env, true).await;
    let running = match h.router.create_bot(&req()).await.unwrap() {
        berth_core::router::DeployOutcome::Deployed { bot_id, .. } => bot_id,
        other => panic!("{other:?}"),
    };
    let queued = berth_tests::bot_id(&h.router.create_bot(&req()).await.unwrap());
    // Starts on k8s now take 10 min: the next deploy will still be under way
    // when its instance dies.
    let slow = SimKnobs {
        deploy_latency_ms: 600_000,
        ..SimKnobs::default()
    };
    sim::set_knobs(&h.db, PlatformKind::K8s, &slow)
        .await
        .unwrap();
    let mut a = Instance::spawn(env!("CARGO_BIN_EXE_instance"), &url, &env);
    h.router
        .report(running, berth_core::meeting::BotStatus::Done, None)
        .await
        .unwrap();
    eventually("the instance starts deploying the queued bot", Duration::from_secs(30), || async {
        count(
            &h.db,
            &format!("SELECT count(*) FROM pool_slots WHERE assigned_bot_id = {queued} AND status = 'deploying'"),
        )
        .await
            == 1
    })
    .await;
    a.kill();
    sim::set_knobs(&h.db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .unwrap();
    let _b = Instance::spawn(env!("CARGO_BIN_EXE_instance"), &url, &env);
    eventually(
        "another instance deploys it again",
        Duration::from_secs(30),
        || async {
            count(
                &h.db,
                &format!(
                    "SELECT count(*) FROM bots WHERE id = {queued} AND status = 'JOINING_CALL'"
                ),
            )
            .await
                == 1
        },
    )
    .await;
    let interrupted = count(
        &h.db,
        &format!(
            r#"SELECT count(*) FROM bots WHERE id = {queued}
               AND decision_trace @> '[{{"decision": "interrupted", "platform": "k8s"}}]'"#
        ),
    )
    .await;
    assert_eq!(interrupted, 1, "its trace says why it was deployed again");
}

fn req() -> NewBot {
    NewBot::new(MeetingPlatform::Zoom, "https://zoom.us/j/19b")
}
