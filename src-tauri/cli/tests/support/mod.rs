//! What the `berth` binary's tests need: a database of their own on the
//! server `DATABASE_URL` names (the shared harness's [`TestDb`], migrated by
//! the binary itself), the binary with a clean environment, and waits that
//! poll with a deadline (nothing sleeps to synchronise).
//! Shared by several test binaries, each using part of it.
#![allow(dead_code)]

pub use berth_tests::database::TestDb;
use sqlx::{AssertSqlSafe, PgPool};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_berth");

/// Variables the child must not inherit (they change its configuration).
const INHERITED: &[&str] = &[
    "BERTH_DEV",
    "RUST_LOG",
    "PLATFORM_PRIORITY",
    "DEPLOYMENT_PLATFORM",
    "GLOBAL_QUEUE_TIMEOUT_MS",
    "K8S_BOT_LIMIT",
    "AWS_BOT_LIMIT",
    "COOLIFY_BOT_LIMIT",
    "LOCAL_BOT_LIMIT",
    "K8S_QUEUE_TIMEOUT_MS",
    "AWS_QUEUE_TIMEOUT_MS",
    "COOLIFY_QUEUE_TIMEOUT_MS",
    "LOCAL_QUEUE_TIMEOUT_MS",
    "POOL_MAX_SIZE",
    "POOL_PREWARM_COUNT",
    "COOLIFY_API_URL",
    "COOLIFY_PROJECT_UUID",
    "COOLIFY_SERVER_UUID",
    "COOLIFY_ENVIRONMENT_NAME",
    "COOLIFY_ENVIRONMENT_UUID",
    "COOLIFY_DESTINATION_UUID",
    "COOLIFY_TOKEN_SOURCE",
    "COOLIFY_API_TOKEN",
    "COOLIFY_APP_PREFIX",
    "BERTH_POOLS_DIR",
    "BERTH_QUERY_DATABASE_URL",
    "BERTH_LEADER_LEASE_MS",
    "BERTH_API_ADDR",
];

/// [`TestDb::new`] with Berth's schema (`berth --dev migrate`: one-shot
/// commands do not migrate).
pub async fn migrated(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    let out = berth(&db.url, &["--dev", "migrate"]).await;
    assert!(out.status.success(), "berth migrate: {}", text(&out.stderr));
    db
}

/// `berth args…` on `url`, with piped output, killed when dropped.
pub fn command(url: &str, args: &[&str]) -> Command {
    command_via(&[], url, args)
}

/// [`command`] started through `wrapper` (e.g. `prlimit --data=…`).
pub fn command_via(wrapper: &[&str], url: &str, args: &[&str]) -> Command {
    let mut cmd = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    cmd.args(args)
        .env("DATABASE_URL", url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs a command to completion (at most `within`).
pub async fn finish(mut cmd: Command, within: Duration) -> Output {
    let child = cmd.spawn().expect("berth runs");
    tokio::time::timeout(within, child.wait_with_output())
        .await
        .expect("berth finished in time")
        .expect("berth output")
}

/// `berth args…` to completion (at most a minute).
pub async fn berth(url: &str, args: &[&str]) -> Output {
    finish(command(url, args), Duration::from_secs(60)).await
}

/// Output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` until it gives a value or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `signal` (`TERM`, `INT`, …) to a running child.
pub fn signal(child: &Child, signal: &str) {
    let pid = child.id().expect("child still running").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A fresh pools directory for one test, removed when dropped.
pub struct PoolsDir(pub std::path::PathBuf);

impl PoolsDir {
    /// An empty directory under the system's temporary directory.
    pub fn new(tag: &str) -> PoolsDir {
        let dir = std::env::temp_dir().join(format!("berth-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        PoolsDir(dir)
    }

    /// The directory as an argument.
    pub fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Writes `<name>.yaml`: a zoom pool whose accounts come from `select`
    /// (one line of SQL), refreshed every `refresh`.
    pub fn sql_pool(&self, name: &str, select: &str, refresh: &str) {
        std::fs::write(
            self.0.join(format!("{name}.yaml")),
            format!(
                "name: {name}\nmeeting_platform: zoom\nimage: bot\nmax_size: 2\naccounts:\n  type: sql\n  query:\n    select: {select}\n  pool_config:\n    refresh_interval: {refresh}\n"
            ),
        )
        .unwrap();
    }
}

impl Drop for PoolsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `berth sim set` arguments for a simulated k8s with no latency, no
/// failures and bots that run until told: a create deploys at once.
pub const INSTANT_K8S: &[&str] = &[
    "sim",
    "set",
    "k8s",
    "--deploy-latency-ms",
    "0",
    "--pull-latency-ms",
    "0",
    "--failure-rate",
    "0",
    "--run-until-told",
];

/// Every row of every table (with its `xmin`, so an update that leaves the
/// values as they were still shows) and every sequence's position.
pub async fn database_snapshot(pool: &PgPool) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let sql =
            format!("SELECT xmin::text || ' ' || to_jsonb(t)::text FROM \"{table}\" t ORDER BY 1");
        let found: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap();
        rows.extend(found.into_iter().map(|r| format!("{table}: {r}")));
    }
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT sequencename::text || ' ' || coalesce(last_value::text, '-') FROM pg_sequences
         WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.extend(sequences.into_iter().map(|s| format!("sequence: {s}")));
    rows
}

/// Runs and expects success; returns stdout.
pub async fn ok(url: &str, args: &[&str]) -> String {
    let out = berth(url, args).await;
    assert!(
        out.status.success(),
        "berth {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs with `--json` and expects success; returns the document.
pub async fn ok_json(url: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let stdout = ok(url, &all).await;
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("berth {all:?}: not JSON ({e}):\n{stdout}"))
}
