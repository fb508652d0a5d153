//! One process of the cross-process account lease test:
//! `lease_worker <database-url> <pool> <workers> <barrier-key>`.
//!
//! Each worker owns a bot and leases accounts of `pool` one after another
//! (completing each) until none is left. Workers start together: each waits
//! on a shared advisory lock the parent holds exclusively until every
//! process is connected. Prints one leased account key per line.

use berth_core::account::lease::{self, Outcome};
use berth_core::definition::AccountPoolConfig;
use sqlx::postgres::PgPoolOptions;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, pool, workers, barrier] = args.as_slice() else {
        eprintln!("usage: lease_worker <database-url> <pool> <workers> <barrier-key>");
        std::process::exit(2);
    };
    let workers: usize = workers.parse().expect("workers is a number");
    let barrier: i64 = barrier.parse().expect("barrier key is a number");
    let db = PgPoolOptions::new()
        .max_connections(workers as u32 * 2)
        .connect(url)
        .await
        .expect("database reachable");
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (db, pool) = (db.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut gate = db.acquire().await.expect("connection");
            // Blocks until the parent releases its exclusive lock.
            sqlx::query("SELECT pg_advisory_lock_shared($1)")
                .bind(barrier)
                .execute(&mut *gate)
                .await
                .expect("barrier");
            let mut keys = Vec::new();
            loop {
                let bot: i64 = sqlx::query_scalar(
                    "INSERT INTO bots (pool, meeting_platform, meeting_url) VALUES ($1, 'zoom', 'https://zoom.us/j/1') RETURNING id",
                )
                .bind(&pool)
                .fetch_one(&db)
                .await
                .expect("bot");
                match lease::lease(&db, &pool, bot).await.expect("lease") {
                    Some(a) => {
                        keys.push(a.account_key);
                        tokio::task::yield_now().await;
                        lease::finish(&db, bot, &Outcome::Completed, &AccountPoolConfig::default())
                            .await
                            .expect("finish");
                    }
                    None => break,
                }
            }
            sqlx::query("SELECT pg_advisory_unlock_shared($1)")
                .bind(barrier)
                .execute(&mut *gate)
                .await
                .expect("barrier released");
            keys
        }));
    }
    for t in tasks {
        for key in t.await.expect("worker") {
            println!("{key}");
        }
    }
}
