//! Killing the leader process hands the jobs to another instance within
//! the lease (`BERTH_LEADER_LEASE_MS`), as the README promises — even in the
//! worst case, a leader killed right after it renewed (issue 11, item 20).

use berth_tests::process::Instance;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::time::{Duration, Instant};
use uuid::Uuid;

const LEASE_MS: i64 = 3_000;
const ROUNDS: usize = 4;

fn spawn(url: &str) -> Instance {
    Instance::spawn(
        env!("CARGO_BIN_EXE_instance"),
        url,
        &[("BERTH_LEADER_LEASE_MS", &LEASE_MS.to_string())],
    )
}

async fn leader(db: &PgPool) -> Option<Uuid> {
    berth_core::jobs::leader(db).await.unwrap()
}

async fn wait_for_leader(db: &PgPool, among: &[Uuid], limit: Duration) -> Uuid {
    let start = Instant::now();
    loop {
        if let Some(l) = leader(db).await.filter(|l| among.contains(l)) {
            return l;
        }
        assert!(
            start.elapsed() < limit,
            "no leader among {among:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await; // polling interval, not synchronisation
    }
}

async fn expires_at(db: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT expires_at FROM leader")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_killed_leader_is_replaced_within_the_lease_even_right_after_renewing(db: PgPool) {
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let url = opts.to_url_lossy().to_string();
    let mut live = vec![spawn(&url), spawn(&url)];
    let mut took = Vec::new();
    for round in 0..ROUNDS {
        let ids: Vec<Uuid> = live.iter().map(|i| i.id).collect();
        let current = wait_for_leader(&db, &ids, Duration::from_secs(15)).await;
        // The worst moment to die: just after a renewal, with a whole
        // renewal's validity left to run out.
        let before = expires_at(&db).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while expires_at(&db).await == before {
            assert!(Instant::now() < deadline, "the leader renews");
            tokio::time::sleep(Duration::from_millis(2)).await; // polling interval
        }
        let killed_at: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&db)
            .await
            .unwrap();
        let i = live.iter().position(|x| x.id == current).unwrap();
        let mut dead = live.remove(i);
        dead.kill();
        let survivors: Vec<Uuid> = live.iter().map(|i| i.id).collect();
        let next = wait_for_leader(&db, &survivors, Duration::from_secs(15)).await;
        assert_ne!(next, current);
        let acquired_at: DateTime<Utc> = sqlx::query_scalar("SELECT acquired_at FROM leader")
            .fetch_one(&db)
            .await
            .unwrap();
        took.push((acquired_at - killed_at).num_milliseconds());
        live.push(spawn(&url));
        eprintln!("round {round}: hand-over took {} ms", took[round]);
    }
    assert!(
        took.iter().all(|ms| *ms <= LEASE_MS),
        "hand-over times {took:?} ms: each must be within the {LEASE_MS} ms lease"
    );
    let term: i64 = sqlx::query_scalar("SELECT term FROM leader")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(term > ROUNDS as i64, "one new term per hand-over");
}
