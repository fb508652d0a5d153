//! 4 processes × 16 workers doing 20,000 acquire/hold/release cycles on 20
//! slots: the slot history must show no overlapping holds, and as many
//! releases as acquisitions. Two instances dispatching one queue in
//! batches: each request granted once, in priority order.

use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs};
use berth_tests::process::Instance;
use berth_tests::slots;
use berth_tests::{eventually, insert_pool};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::process::Command;
use std::time::Duration;

const PROCESSES: usize = 4;
const WORKERS: usize = 16;
const CYCLES: i64 = 20_000;
const SLOTS: usize = 20;

#[sqlx::test(migrations = "../migrations")]
async fn four_processes_share_twenty_slots_without_overlapping_holds(db: PgPool) {
    insert_pool(&db, "stress", "zoom", 100).await;
    slots::of("stress", PlatformKind::Local)
        .create_n(&db, SLOTS)
        .await;
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let url = opts.to_url_lossy().to_string();
    let per_process = CYCLES / PROCESSES as i64;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_stress"))
                .args([&url, &WORKERS.to_string(), &per_process.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("stress process starts")
        })
        .collect();
    let mut acquired = 0_i64;
    for child in children {
        let out = child.wait_with_output().expect("stress process ends");
        assert!(out.status.success(), "a stress process failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let n: i64 = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("acquired="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected output {text:?}"));
        acquired += n;
    }
    assert_eq!(acquired, CYCLES);

    let (acquires, releases): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE reason = 'acquire'), count(*) FILTER (WHERE reason = 'stress release') FROM slot_history",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (acquires, releases),
        (CYCLES, CYCLES),
        "acquires = releases = cycles"
    );

    // Per slot, in history order, transitions must alternate
    // acquire(idle→deploying, epoch e) / release(deploying→idle, same e),
    // with e increasing by one per acquisition: any overlap breaks this.
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            SELECT from_status, to_status, epoch, bot_id,
                   lag(to_status) OVER w AS prev_to, lag(epoch) OVER w AS prev_epoch, lag(bot_id) OVER w AS prev_bot
            FROM slot_history WHERE reason <> 'create'
            WINDOW w AS (PARTITION BY slot_id ORDER BY id)
         ) t
         WHERE (to_status = 'deploying' AND (from_status <> 'idle' OR (prev_to IS NOT NULL AND (prev_to <> 'idle' OR epoch <> prev_epoch + 1))))
            OR (to_status = 'idle' AND (prev_to IS DISTINCT FROM 'deploying' OR epoch <> prev_epoch OR bot_id IS DISTINCT FROM prev_bot))",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        broken, 0,
        "overlapping or out-of-order holds found in the slot history"
    );
    // Intervals too: no two holds of one slot overlap in time.
    let overlaps: i64 = sqlx::query_scalar(
        "WITH holds AS (
            SELECT a.slot_id, a.at AS from_t, r.at AS to_t
            FROM slot_history a JOIN slot_history r
              ON r.slot_id = a.slot_id AND r.epoch = a.epoch AND r.reason = 'stress release'
            WHERE a.reason = 'acquire'
         )
         SELECT count(*) FROM holds h1 JOIN holds h2
           ON h1.slot_id = h2.slot_id AND h1.from_t < h2.from_t AND h2.from_t < h1.to_t",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "holds of one slot overlap in time");
    let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM pool_slots WHERE status <> 'idle'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(busy, 0, "every slot is idle at the end");
    // The counters the statistics read, written by 64 connections at once,
    // add up to the slots.
    assert_eq!(
        berth_core::slot::counts::maintained(&db).await.unwrap(),
        berth_core::slot::counts::recount(&db).await.unwrap()
    );
}

/// Two instances (processes) dispatch one queue: a platform at its limit of
/// 50, 1,000 queued at mixed priorities; 50 bots end in one commit, round
/// after round. Each round hands exactly the next 50 in queue order their
/// capacity (priority, then first come), the limit is never passed, and at
/// the end every queued bot was granted exactly once.
#[sqlx::test(migrations = "../migrations")]
async fn two_instances_hand_fifty_released_slots_to_the_queue_once_each_in_priority_order(
    db: PgPool,
) {
    const LIMIT: usize = 50;
    const QUEUED: usize = 1_000;
    const ACTIVE: &str =
        "status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')";
    insert_pool(&db, "burst", "zoom", 999).await;
    let url = (*db.connect_options()).clone().to_url_lossy().to_string();
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "50"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        // On a loaded machine a deploy may go seconds without renewing its
        // sign of life, and simulated bots send no heartbeats: neither
        // recovery path may hand capacity around behind the test's back.
        ("BERTH_LEADER_LEASE_MS", "60000"),
        ("BERTH_BOT_HEARTBEAT_TIMEOUT_MS", "0"),
    ];
    let bin = env!("CARGO_BIN_EXE_instance");
    let _a = Instance::spawn(bin, &url, &env);
    let _b = Instance::spawn(bin, &url, &env);
    // Deploys that always start (a failed one would hand its capacity on).
    sim::set_knobs(&db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .unwrap();
    // Requests in the global queue, as a burst of creates leaves them:
    // priority 0 for the first 50 (they take the platform), then mixed.
    let enqueue = |n: i64, priority: Option<i32>| {
        sqlx::query(
            "WITH b AS (
                INSERT INTO bots (pool, meeting_platform, meeting_url, priority, queue_timeout_ms, deadline)
                SELECT 'burst', 'zoom', 'https://zoom.us/j/' || i, COALESCE($2, 10 + (i * 7) % 5), 600000,
                       now() + interval '10 minutes'
                FROM generate_series(1, $1) i
                RETURNING id, priority, created_at
             )
             INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage)
             SELECT id, priority, created_at, created_at + interval '10 minutes', -1 FROM b",
        )
        .bind(n)
        .bind(priority)
        .execute(&db)
    };
    let active = || async {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM bots WHERE {ACTIVE} ORDER BY id"
        )))
        .fetch_all(&db)
        .await
        .unwrap()
    };
    let joined = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM bots WHERE status = 'JOINING_CALL'")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    enqueue(LIMIT as i64, Some(0)).await.unwrap();
    eventually("the first 50 run", Duration::from_secs(30), || async {
        joined().await == LIMIT as i64
    })
    .await;
    enqueue(QUEUED as i64, None).await.unwrap();
    let order: Vec<i64> =
        sqlx::query_scalar("SELECT bot_id FROM deployment_queue ORDER BY priority, queued_at, id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(order.len(), QUEUED);

    for (round, expected) in order.chunks(LIMIT).enumerate() {
        let ending = active().await;
        assert_eq!(ending.len(), LIMIT, "round {round}: the platform is full");
        // 50 bots end and their slots return, in one commit, announced as a
        // release is.
        let ids = ending
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "UPDATE bots SET status = 'DONE', ended_at = now(), updated_at = now() WHERE id IN ({ids});
             UPDATE pool_slots SET status = 'idle', assigned_bot_id = NULL, status_changed_at = now()
             WHERE assigned_bot_id IN ({ids});
             UPDATE sim_workloads SET state = 'created', bot_id = NULL, epoch = NULL, started_at = NULL, run_until = NULL
             WHERE bot_id IN ({ids});
             SELECT pg_notify('berth_changes', '{{\"origin\":\"00000000-0000-0000-0000-000000000000\",\"topics\":[\"slots\"]}}');"
        )))
        .execute(&db)
        .await
        .unwrap();
        eventually(
            &format!("round {round}: the next 50 run"),
            Duration::from_secs(30),
            || async { joined().await == LIMIT as i64 },
        )
        .await;
        let mut granted = active().await;
        granted.sort();
        let mut want = expected.to_vec();
        want.sort();
        if granted != want {
            let missing: Vec<(i64, String, serde_json::Value)> = sqlx::query_as(
                "SELECT id, status, decision_trace FROM bots WHERE id = ANY($1) AND NOT (id = ANY($2))",
            )
            .bind(&want)
            .bind(&granted)
            .fetch_all(&db)
            .await
            .unwrap();
            let extra: Vec<(i64, i32, serde_json::Value)> = sqlx::query_as(
                "SELECT id, priority, decision_trace FROM bots WHERE id = ANY($2) AND NOT (id = ANY($1))",
            )
            .bind(&want)
            .bind(&granted)
            .fetch_all(&db)
            .await
            .unwrap();
            panic!("round {round}: granted out of order {extra:?}; not exactly the next 50 in queue order got the capacity: {granted:?}, missing {missing:?}");
        }
    }

    let twice: Vec<(i64, serde_json::Value, serde_json::Value)> = sqlx::query_as(
        "SELECT h.bot_id, jsonb_agg(jsonb_build_array(h.slot_id, h.from_status, h.reason, h.at) ORDER BY h.id),
                (SELECT decision_trace FROM bots WHERE id = h.bot_id)
         FROM slot_history h WHERE h.bot_id IN (
            SELECT bot_id FROM slot_history WHERE to_status = 'deploying' GROUP BY bot_id HAVING count(*) > 1)
         GROUP BY h.bot_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(twice.is_empty(), "bots granted twice: {twice:?}");
    let granted: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT bot_id) FROM slot_history WHERE to_status = 'deploying'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        granted,
        (LIMIT + QUEUED) as i64,
        "every bot was granted once"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM deployment_queue")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The capacity counters both instances checked the limit against
    // (platform_load) equal a recount of the active bots.
    assert_eq!(
        berth_core::platform::load::per_platform(&db).await.unwrap(),
        berth_core::platform::load::recount(&db).await.unwrap()
    );
    // The batched grants counted themselves in their own statements (the
    // trigger skips them); the test's direct releases, which do not, were
    // counted by the trigger: the slot counters equal a recount, and each
    // release is in the release minutes the queue's estimates read, once.
    assert_eq!(
        berth_core::slot::counts::maintained(&db).await.unwrap(),
        berth_core::slot::counts::recount(&db).await.unwrap()
    );
    let minutes: i64 =
        sqlx::query_scalar("SELECT COALESCE(sum(releases), 0)::bigint FROM slot_release_minutes")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        minutes, QUEUED as i64,
        "one release minute per slot the rounds returned"
    );
}
