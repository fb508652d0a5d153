//! One process of the multi-process stress test: `stress <database-url> <workers> <cycles>`.
//!
//! Each worker owns a bot and repeats acquire → hold → release on the
//! `stress` pool until the process has done `cycles` cycles in total.
//! Prints `acquired=<n> empty=<n>` on success.

use berth_core::meeting::PlatformKind;
use berth_core::slot;
use sqlx::postgres::PgPoolOptions;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::Barrier;

#[tokio::main]
async fn main() {
    berth_tests::apply_experiment_env();
    let args: Vec<String> = std::env::args().collect();
    let [_, url, workers, cycles] = args.as_slice() else {
        eprintln!("usage: stress <database-url> <workers> <cycles>");
        std::process::exit(2);
    };
    let workers: usize = workers.parse().expect("workers is a number");
    let cycles: i64 = cycles.parse().expect("cycles is a number");
    let db = PgPoolOptions::new()
        .max_connections(workers as u32 + 1)
        .connect(url)
        .await
        .expect("database reachable");
    let left = Arc::new(AtomicI64::new(cycles));
    let empty = Arc::new(AtomicI64::new(0));
    let barrier = Arc::new(Barrier::new(workers));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (db, left, empty, barrier) = (db.clone(), left.clone(), empty.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let bot: i64 = sqlx::query_scalar(
                "INSERT INTO bots (pool, meeting_platform, meeting_url) VALUES ('stress', 'zoom', 'https://z/1') RETURNING id",
            )
            .fetch_one(&db)
            .await
            .expect("bot");
            let mut conn = db.acquire().await.expect("connection");
            barrier.wait().await;
            let mut done = 0_i64;
            while left.fetch_sub(1, Ordering::SeqCst) > 0 {
                loop {
                    match slot::acquire(&mut conn, "stress", PlatformKind::Local, bot).await.expect("acquire") {
                        Some(lease) => {
                            // Hold: let other workers run while the slot is held.
                            tokio::task::yield_now().await;
                            let released = slot::release(&mut conn, lease.slot_id, lease.epoch, "stress release")
                                .await
                                .expect("release");
                            assert!(released.is_some(), "own lease released");
                            done += 1;
                            break;
                        }
                        None => {
                            empty.fetch_add(1, Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                    }
                }
            }
            done
        }));
    }
    let mut acquired = 0;
    for t in tasks {
        acquired += t.await.expect("worker");
    }
    println!(
        "acquired={acquired} empty={}",
        empty.load(Ordering::Relaxed)
    );
}
