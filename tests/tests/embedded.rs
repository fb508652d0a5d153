//! The embedded PostgreSQL across real process deaths (issue 11, item 23):
//! full Berth instances (the `instance` binary, development mode, no
//! `DATABASE_URL`) sharing one data directory, killed with SIGKILL or
//! stopped cleanly with SIGINT.
//!
//! A killed instance leaves its server running; the next instance adopts it
//! (the same postmaster, not a restart) and its clean exit stops it. An
//! instance that attached while the owner ran stops the server when it is
//! the last one out.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A test data directory; on drop, any server left in it is stopped
/// (immediate shutdown) before the directory is removed.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        // Under /tmp: as root the server runs as `postgres`, which must reach it.
        let dir = PathBuf::from("/tmp").join(format!("berth-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("data dir");
        DataDir(dir)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(pid) = postmaster(&self.0) {
            signal("-QUIT", pid);
            wait_until(Duration::from_secs(10), || !alive(pid));
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running instance; killed on drop.
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn has_postgres() -> bool {
    let found = std::env::var_os("BERTH_PG_BIN").is_some()
        || std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("bin/pg_ctl").is_file());
    if !found {
        eprintln!("skipping: no PostgreSQL server binaries on this machine");
    }
    found
}

/// Starts an instance on `data` and waits for its `ready` line. Its log
/// goes to `<data>/instance-<pid>.log` (shown when a check fails).
fn spawn(data: &Path) -> Instance {
    let log = tempfile_in(data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_instance"))
        .env_remove("DATABASE_URL")
        .env_remove("BERTH_QUERY_DATABASE_URL")
        .env("BERTH_DATA_DIR", data)
        .env("BERTH_POOLS_DIR", data.join("pools"))
        .env("RUST_LOG", "warn,berth_core::db=info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("instance starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("instance output");
    assert!(line.starts_with("ready "), "instance said {line:?}");
    Instance(child)
}

/// SIGINT (the instance's Ctrl-C: a graceful shutdown), then its exit.
fn stop_cleanly(mut instance: Instance) {
    signal("-INT", instance.0.id());
    let status = wait_for_exit(&mut instance.0, Duration::from_secs(60));
    assert!(status.success(), "the instance stopped with {status}");
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the instance did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The postmaster's pid from the cluster's `postmaster.pid`, if any.
fn postmaster(data: &Path) -> Option<u32> {
    std::fs::read_to_string(data.join("pg").join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Polls `f` every 50 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A new log file for an instance in `data`.
fn tempfile_in(data: &Path) -> std::fs::File {
    let n = std::fs::read_dir(data).map(|d| d.count()).unwrap_or(0);
    std::fs::File::create(data.join(format!("instance-{n}.log"))).expect("instance log")
}

/// The instances' logs, for a failure message.
fn logs(data: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(data).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("instance-") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            out.push_str(&format!("--- {name}\n{text}"));
        }
    }
    let server = std::fs::read_to_string(data.join("pg").join("server.log")).unwrap_or_default();
    let tail: Vec<&str> = server.lines().rev().take(30).collect();
    out.push_str("--- server.log (last lines)\n");
    for line in tail.into_iter().rev() {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn assert_stopped(data: &Path, pid: u32, why: &str) {
    assert!(
        wait_until(Duration::from_secs(15), || !alive(pid)),
        "{why}: the postmaster ({pid}) still runs\n{}",
        logs(data)
    );
    assert!(
        postmaster(data).is_none(),
        "{why}: postmaster.pid is still there"
    );
}

#[test]
fn a_killed_instance_leaves_a_server_the_next_instance_adopts_and_stops() {
    if !has_postgres() {
        return;
    }
    let data = DataDir::new("orphan");
    let mut first = spawn(&data.0);
    let pid = postmaster(&data.0).expect("the first instance started the server");

    // SIGKILL: no shutdown, the server stays behind without an owner.
    first.0.kill().expect("SIGKILL");
    wait_for_exit(&mut first.0, Duration::from_secs(10));
    assert!(
        alive(pid),
        "the killed instance's server is orphaned, still running"
    );

    // The next instance reuses that very server...
    let second = spawn(&data.0);
    assert_eq!(postmaster(&data.0), Some(pid), "adopted, not restarted");
    // ...and, as its owner now, stops it on a clean exit.
    stop_cleanly(second);
    assert_stopped(&data.0, pid, "after the adopting instance's clean exit");
}

#[test]
fn the_last_instance_out_stops_the_server_its_owner_left_running() {
    if !has_postgres() {
        return;
    }
    let data = DataDir::new("last-out");
    let owner = spawn(&data.0);
    let pid = postmaster(&data.0).expect("server started");
    let attached = spawn(&data.0);
    assert_eq!(
        postmaster(&data.0),
        Some(pid),
        "the second instance attached"
    );

    // The owner exits first: the other instance still uses the server.
    stop_cleanly(owner);
    assert!(alive(pid), "left running for the attached instance");
    // The last one out stops it.
    stop_cleanly(attached);
    assert_stopped(&data.0, pid, "after the last instance's clean exit");
}

/// What closing the desktop would stop (its close prompt): the embedded
/// database stops with an owner alone on it, and keeps running while
/// another instance uses it, which also dispatches in its place.
#[tokio::test]
async fn departure_tells_whether_the_embedded_database_stops_and_who_else_serves() {
    use berth_core::departure::{self, EmbeddedFate};
    if !has_postgres() {
        return;
    }
    let data = DataDir::new("departure");
    let me = berth_core::Berth::from_env(true)
        .expect("development configuration")
        .database(berth_core::Database::Embedded(data.0.clone()))
        .background(true)
        .max_connections(4)
        .start()
        .await
        .expect("in-process instance");
    let pid = postmaster(&data.0).expect("this instance started the server");
    let alone = departure::of(&me).await.expect("departure");
    assert_eq!(
        (alone.embedded, alone.other_instances),
        (EmbeddedFate::Stops, 0),
        "{alone:?}"
    );

    let other = spawn(&data.0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let shared = loop {
        let d = departure::of(&me).await.expect("departure");
        if d.other_instances == 1 {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance never showed up: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shared.embedded, EmbeddedFate::KeepsRunning, "{shared:?}");

    stop_cleanly(other);
    let after = departure::of(&me).await.expect("departure");
    assert_eq!(
        (after.embedded, after.other_instances),
        (EmbeddedFate::Stops, 0),
        "the other instance left cleanly: {after:?}"
    );
    me.shutdown().await.expect("shutdown");
    assert_stopped(&data.0, pid, "after the owner's shutdown");
}
