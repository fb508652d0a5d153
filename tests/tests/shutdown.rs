//! A graceful stop finishes what the instance's loops are doing (issue 10,
//! item 4). `Berth::shutdown` used to abort its background tasks: a
//! dispatcher pass under way was cut off (its request left queued with no
//! one to dispatch it), and a transaction dropped while its `COMMIT` was
//! on the wire had sqlx send a `ROLLBACK` after it, which PostgreSQL
//! answers with the warning `berth demo` printed at its end: "there is no
//! transaction in progress".

use std::collections::HashMap;
use std::time::Duration;

use berth_core::config::EnvConfig;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::router::DeployOutcome;
use berth_core::{Berth, Database};
use berth_tests::bots;
use sqlx::PgPool;

async fn scalar(db: &PgPool, sql: &'static str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Takes `deployment_queue`'s lock, with k8s's limit raised in the same
/// transaction, once a dispatcher pass that began after the lock waits on it
/// at its first statement (`queue::expire`): that pass has read nothing yet,
/// so when the lock goes it sees the new limit. A pass already under way
/// when the lock was taken may be caught at a later statement (the queue
/// position of a request it left waiting, after it read the old limit) and
/// hold the next pass back: the lock is then let go and taken again.
async fn hold_next_pass(db: &PgPool, berth: &Berth) -> sqlx::Transaction<'static, sqlx::Postgres> {
    for attempt in 0..60 {
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE platform_settings SET bot_limit = 2 WHERE platform = 'k8s'")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("LOCK TABLE deployment_queue IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        let before = berth.dispatcher().passes();
        // The dispatcher ticks every 100 ms: a free dispatcher starts a pass
        // well within a second; one held at a later statement never does.
        let give_up = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < give_up {
            let at_expire: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'
                   AND query LIKE 'WITH due AS%'",
            )
            .fetch_one(db)
            .await
            .unwrap();
            if berth.dispatcher().passes() > before && at_expire >= 1 {
                eprintln!("a pass held at its first statement, try {}", attempt + 1);
                return tx;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.rollback().await.unwrap();
    }
    panic!("no dispatcher pass began while the queue was locked, in 60 tries");
}

#[sqlx::test(migrations = "../migrations")]
async fn shutdown_finishes_the_dispatch_pass_under_way(db: PgPool) {
    let url = berth_tests::database_url_of(&db);
    // Deploys start at once and bots run until told: capacity holds still.
    let knobs = SimKnobs {
        deploy_latency_ms: 0,
        pull_latency_ms: 0,
        failure_rate: 0.0,
        run_ms: None,
        ..SimKnobs::default()
    };
    sim::set_knobs(&db, PlatformKind::K8s, &knobs)
        .await
        .unwrap();
    let vars: HashMap<&str, &str> = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_QUEUE_TIMEOUT_MS", "300000"),
        ("BERTH_DISPATCH_TICK_MS", "100"),
        ("POOL_PREWARM_COUNT", "0"),
    ]
    .into_iter()
    .collect();
    let config = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), true).unwrap();
    let berth = Berth::builder(config)
        .database(Database::Url(url))
        .background(true)
        // Every loop that reads the queue blocks on the test's table lock,
        // each holding a connection: with too few, a loaded run could leave
        // the dispatcher waiting for a connection instead of at the lock.
        .max_connections(24)
        .start()
        .await
        .unwrap();
    sqlx::query("UPDATE platform_settings SET bot_limit = 1 WHERE platform = 'k8s'")
        .execute(&db)
        .await
        .unwrap();
    let running = berth
        .router()
        .create_bot(&bots::zoom(1).queue_timeout_ms(300_000))
        .await
        .unwrap();
    assert!(
        matches!(running, DeployOutcome::Deployed { .. }),
        "{running:?}"
    );
    let queued = match berth
        .router()
        .create_bot(&bots::zoom(2).queue_timeout_ms(300_000))
        .await
        .unwrap()
    {
        DeployOutcome::Queued { bot_id, .. } => bot_id,
        other => panic!("the second bot waits for k8s: {other:?}"),
    };

    // Room for the queued bot, committed together with the release of a
    // lock that holds the dispatcher's next pass at its first statement.
    let tx = hold_next_pass(&db, &berth).await;

    // The stop begins while the pass waits; then the pass may go on.
    let mut stopping = berth.stop_signal();
    let shutdown = tokio::spawn(berth.shutdown());
    stopping.stopped().await;
    tx.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), shutdown)
        .await
        .expect("shutdown ends")
        .unwrap()
        .unwrap();

    let waiting = scalar(
        &db,
        "SELECT count(*) FROM deployment_queue WHERE bot_id = $1",
        queued,
    )
    .await;
    let status: String = sqlx::query_scalar("SELECT status FROM bots WHERE id = $1")
        .bind(queued)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        (waiting, status.as_str() == "QUEUED"),
        (0, false),
        "the pass under way at the stop deployed the queued bot (status {status})"
    );
}
