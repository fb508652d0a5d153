//! Killing the leader process hands the jobs to another instance within
//! the lease time.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const LEASE_MS: u64 = 1_500;

struct Instance {
    child: Child,
    id: Uuid,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(url: &str) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_instance"))
        .env("DATABASE_URL", url)
        .env("BERTH_LEADER_LEASE_MS", LEASE_MS.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("instance starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let id = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("instance said {line:?}"))
        .parse()
        .unwrap();
    Instance { child, id }
}

async fn leader(db: &PgPool) -> Option<Uuid> {
    berth_core::jobs::leader(db).await.unwrap()
}

async fn wait_for_leader(db: &PgPool, among: &[Uuid], limit: Duration) -> (Uuid, Duration) {
    let start = Instant::now();
    loop {
        if let Some(l) = leader(db).await.filter(|l| among.contains(l)) {
            return (l, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "no leader among {among:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await; // polling interval, not synchronisation
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn killing_the_leader_hands_the_jobs_over_within_the_lease(db: PgPool) {
    let opts: PgConnectOptions = (*db.connect_options()).clone();
    let url = opts.to_url_lossy().to_string();
    let a = spawn(&url);
    let b = spawn(&url);
    let (first, _) = wait_for_leader(&db, &[a.id, b.id], Duration::from_secs(15)).await;
    let (mut dead, survivor) = if first == a.id { (a, b) } else { (b, a) };
    dead.child.kill().expect("SIGKILL the leader");
    dead.child.wait().unwrap();
    let (next, took) = wait_for_leader(&db, &[survivor.id], Duration::from_secs(15)).await;
    assert_eq!(next, survivor.id);
    // Lease expiry plus one renewal period (a third of the lease) at most, with slack for a loaded machine.
    let bound = Duration::from_millis(LEASE_MS + LEASE_MS / 3 + 1_500);
    assert!(
        took <= bound,
        "hand-over took {took:?}, more than {bound:?}"
    );
    let term: i64 = sqlx::query_scalar("SELECT term FROM leader")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(term >= 2);
}
