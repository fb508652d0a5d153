//! Berth's embedded default database.
//!
//! When `DATABASE_URL` is not set, Berth runs a private PostgreSQL cluster
//! from the machine's own server binaries (Debian: the `postgresql`
//! package) in its data directory. The server listens on a Unix socket only
//! (`listen_addresses=''`) in a directory only its owner can enter, trusts
//! local connections as the `berth` role and is stopped again when its
//! owning process is done with it and no other client is connected.
//!
//! Ownership (see [`super::owner`]) is a lock the owner holds while it
//! runs. The process that starts the server owns it; other Berth processes
//! attach. A server still running without a live owner (its owner was
//! killed, or exited leaving it to other clients) is adopted: the next
//! process that starts, or an attached one when it exits, takes the
//! ownership over, so a killed app never leaves PostgreSQL running for good.
//!
//! `initdb` and `postgres` refuse to run as root, so as root both run as the
//! `postgres` OS user (through `runuser`) and the cluster directory belongs
//! to that user.
//!
//! Layout: `<data_dir>/pg` is the cluster (`PGDATA`), `<data_dir>/pg/server.log`
//! the server log, `<data_dir>/run` the socket directory (or
//! `/tmp/berth-pg-<hash>` when that path is too long for a Unix socket).

use super::owner::{self, Ownership};
use crate::error::{Error, ErrorCode, Result};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use tokio::process::Command;

/// The role and database Berth uses inside the cluster.
const DB_USER: &str = "berth";
const DB_NAME: &str = "berth";
/// The "port" only names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
const PORT: u16 = 5432;
/// `sun_path` holds 108 bytes including the terminating NUL.
const SOCKET_PATH_MAX: usize = 107;
/// The OS user the server runs as when Berth runs as root.
const SERVER_OS_USER: &str = "postgres";
/// Rotate the server log at start once it is this large.
const LOG_ROTATE_BYTES: u64 = 8 * 1024 * 1024;
/// Seconds `pg_ctl -w` waits for start and stop.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// Environment variables that would redirect libpq or the server elsewhere.
const PG_ENV: &[&str] = &[
    "PGDATA",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGOPTIONS",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSSLMODE",
    "PGTARGETSESSIONATTRS",
];

/// A private PostgreSQL cluster reachable only through a Unix socket.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// Directory holding `pg_ctl`, `initdb`, `postgres`.
    bin: PathBuf,
    /// The cluster directory (`PGDATA`).
    cluster: PathBuf,
    /// Directory of the server's Unix socket.
    socket_dir: PathBuf,
    port: u16,
    /// `Some("postgres")` when server programs must run as another OS user.
    run_as: Option<String>,
    /// Held while this process owns the server (and so stops it).
    owner: Option<Ownership>,
    /// The ownership lock file.
    lock: PathBuf,
    /// The `application_name` of this process's own connections: they do
    /// not count as other clients when deciding whether to stop the server.
    own_application: Option<String>,
}

impl EmbeddedPostgres {
    /// Start (initdb on first use) or attach to an already running cluster
    /// in `data_dir`. A running server without a live owner is adopted:
    /// this process then stops it when done, as if it had started it.
    pub async fn start(data_dir: &Path) -> Result<EmbeddedPostgres> {
        let data_dir = std::path::absolute(data_dir).map_err(|e| {
            fail(format!(
                "cannot resolve data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let cluster = data_dir.join("pg");
        let run_as = if is_root() {
            Some(SERVER_OS_USER.to_string())
        } else {
            None
        };
        let server_uid = match &run_as {
            Some(user) => Some(os_user_uid(user).await?),
            None => None,
        };
        let bin = find_bin_dir(cluster_version(&cluster).as_deref())?;

        std::fs::create_dir_all(&data_dir).map_err(|e| {
            fail(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        prepare_private_dir(&cluster, server_uid).await?;
        if let Some(user) = &run_as {
            check_reachable(user, &cluster).await?;
        }

        let mut pg = EmbeddedPostgres {
            bin,
            cluster,
            socket_dir: PathBuf::new(),
            port: PORT,
            run_as,
            owner: None,
            lock: owner::lock_path(&data_dir),
            own_application: None,
        };
        // Free: no live process owns a server here (or is starting one).
        let ownership = owner::try_take(&pg.lock)?;

        if pg.cluster.join("postmaster.pid").exists() && pg.is_running().await? {
            pg.attach()?;
            match ownership {
                Some(o) => {
                    tracing::warn!(
                        socket = %pg.socket_dir.display(),
                        "adopted the embedded PostgreSQL left running by a Berth process that is gone; \
                         it stops when this process exits, unless other clients are connected"
                    );
                    pg.owner = Some(o);
                }
                None => {
                    tracing::info!(socket = %pg.socket_dir.display(), "attached to the running embedded PostgreSQL")
                }
            }
            // From here on, dropping an owning `pg` on an error stops the server.
            pg.ensure_database().await?;
            return Ok(pg);
        }

        if !pg.cluster.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }

        pg.socket_dir = socket_dir_for(&data_dir);
        prepare_private_dir(&pg.socket_dir, server_uid).await?;
        pg.rotate_log();

        if let Err(e) = pg.pg_ctl_start().await {
            // Another process may have started the same cluster meanwhile
            // (it owns it, unless this process holds the lock).
            if pg.is_running().await.unwrap_or(false) {
                pg.attach()?;
                pg.owner = ownership;
                pg.ensure_database().await?;
                return Ok(pg);
            }
            return Err(e);
        }
        // Started here; owned unless another live process holds the lock
        // (it started or owns this cluster too, and stops it).
        pg.owner = ownership;
        tracing::info!(
            cluster = %pg.cluster.display(),
            socket = %pg.socket_dir.display(),
            "embedded PostgreSQL started"
        );
        // From here on, dropping `pg` on an error stops the server again.
        pg.ensure_database().await?;
        Ok(pg)
    }

    /// Connection URL over the Unix socket, e.g. `postgres:///berth?host=/abs/socket/dir&port=5432&user=berth`.
    pub fn url(&self) -> String {
        format!(
            "postgres:///{DB_NAME}?host={}&port={}&user={DB_USER}",
            encode_query_value(&self.socket_dir.to_string_lossy()),
            self.port
        )
    }

    /// Names this process's connections (their `application_name`), so
    /// [`EmbeddedPostgres::stop`] does not mistake them, or their backends
    /// still exiting, for another client's.
    pub fn set_own_application(&mut self, name: impl Into<String>) {
        self.own_application = Some(name.into());
    }

    /// Whether this process owns the server (started or adopted it).
    pub fn owns_server(&self) -> bool {
        self.owner.is_some()
    }

    /// Stops the server (pg_ctl stop -m fast) if this process owns it, or
    /// takes it over first when its owner is gone, unless other clients are
    /// still connected (then it is left to them); idempotent.
    pub async fn stop(&mut self) -> Result<()> {
        if !self.take_over_if_ownerless() {
            return Ok(());
        }
        // Another Berth process (a `berth serve`, a desktop) may have
        // attached since we started the server: leave it running for them,
        // and free the ownership so the last of them stops it.
        if let Ok(others) = self.other_clients().await {
            if others > 0 {
                tracing::info!(
                    others,
                    "embedded PostgreSQL left running: other clients are connected"
                );
                self.owner = None;
                return Ok(());
            }
        }
        let out = run(
            self.server_command("pg_ctl").args(self.stop_args()),
            "pg_ctl stop",
        )
        .await?;
        if !out.status.success() && self.is_running().await.unwrap_or(true) {
            return Err(self.failure("pg_ctl stop failed", &out));
        }
        self.owner = None;
        tracing::info!(cluster = %self.cluster.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// Whether this process owns the server now: it did, or the server
    /// still runs (its `postmaster.pid` is there) and no live process owns
    /// it, in which case this process takes it over.
    fn take_over_if_ownerless(&mut self) -> bool {
        if self.owner.is_some() {
            return true;
        }
        if self.lock.as_os_str().is_empty() || !self.cluster.join("postmaster.pid").exists() {
            return false;
        }
        match owner::try_take(&self.lock) {
            Ok(Some(o)) => {
                tracing::info!("the embedded PostgreSQL's owner is gone; this process stops it");
                self.owner = Some(o);
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether the embedded PostgreSQL has an owner");
                false
            }
        }
    }

    /// Whether [`EmbeddedPostgres::stop`] would stop the server now: this
    /// process owns it (or its owner is gone) and no other client is
    /// connected. When that cannot be told, it would not.
    pub async fn would_stop(&self) -> bool {
        let owned = self.owner.is_some()
            || matches!(owner::try_take(&self.lock), Ok(Some(_)))
                && self.cluster.join("postmaster.pid").exists();
        owned && matches!(self.other_clients().await, Ok(0))
    }

    /// Client connections other than the one asking.
    async fn other_clients(&self) -> Result<i64> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url())
            .await
            .map_err(|e| fail(format!("cannot connect to count clients: {e}")))?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
               AND application_name IS DISTINCT FROM $1",
        )
        .bind(self.own_application.as_deref())
        .fetch_one(&mut conn)
        .await
        .map_err(|e| fail(format!("cannot count clients: {e}")))?;
        let _ = conn.close().await;
        Ok(n)
    }

    /// Attaches to the server whose `postmaster.pid` is in the cluster: its
    /// socket directory and port are read from there.
    fn attach(&mut self) -> Result<()> {
        let pid_file = self.cluster.join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .map_err(|e| fail(format!("cannot read {}: {e}", pid_file.display())))?;
        let lines: Vec<&str> = text.lines().collect();
        // Line 4: port; line 5: first socket directory (see pidfile.h).
        let port = lines.get(3).and_then(|l| l.trim().parse::<u16>().ok());
        let socket = lines.get(4).map(|l| l.trim()).unwrap_or("");
        match port {
            Some(port) if !socket.is_empty() => {
                self.port = port;
                self.socket_dir = PathBuf::from(socket);
                Ok(())
            }
            _ => Err(fail(format!(
                "a PostgreSQL server is running on {} but without a Unix socket; stop it \
                 (pg_ctl -D {} stop) or set DATABASE_URL",
                self.cluster.display(),
                self.cluster.display()
            ))),
        }
    }

    /// `pg_ctl status`: exit code 0 means running, 3 not running.
    async fn is_running(&self) -> Result<bool> {
        let out = run(
            self.server_command("pg_ctl")
                .arg("status")
                .arg("-D")
                .arg(&self.cluster),
            "pg_ctl status",
        )
        .await?;
        Ok(out.status.success())
    }

    async fn initdb(&self) -> Result<()> {
        tracing::info!(cluster = %self.cluster.display(), "initialising the embedded PostgreSQL cluster");
        let out = run(
            self.server_command("initdb")
                .arg("-D")
                .arg(&self.cluster)
                .args(["-U", DB_USER, "--auth=trust", "--no-locale", "-E", "UTF8"]),
            "initdb",
        )
        .await?;
        if !out.status.success() {
            return Err(self.failure("initdb failed", &out));
        }
        Ok(())
    }

    async fn pg_ctl_start(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses='' -c unix_socket_permissions=0700",
            self.port,
            shell_quote(&self.socket_dir.to_string_lossy())
        );
        let out = run(
            self.server_command("pg_ctl")
                .arg("-D")
                .arg(&self.cluster)
                .arg("-l")
                .arg(self.log_file())
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "-o"])
                .arg(options)
                .arg("start"),
            "pg_ctl start",
        )
        .await?;
        if !out.status.success() {
            return Err(self.failure("the server did not start", &out));
        }
        Ok(())
    }

    /// Creates the `berth` database unless it exists.
    async fn ensure_database(&self) -> Result<()> {
        let createdb = self.client_program("createdb");
        let mut cmd = StdCommand::new(&createdb);
        cmd.arg("-h").arg(&self.socket_dir).args([
            "-p",
            &self.port.to_string(),
            "-U",
            DB_USER,
            DB_NAME,
        ]);
        let out = run(&mut cmd, "createdb").await?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Two processes racing on CREATE DATABASE can also see the unique index.
        if stderr.contains("already exists") || stderr.contains("duplicate key") {
            return Ok(());
        }
        Err(self.failure("cannot create the berth database", &out))
    }

    fn stop_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "stop".into(),
            "-D".into(),
            self.cluster.clone().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "-t".into(),
            PG_CTL_TIMEOUT_SECS.into(),
        ]
    }

    /// A server program (`initdb`, `pg_ctl`), run as the server's OS user when needed.
    fn server_command(&self, program: &str) -> StdCommand {
        let path = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = StdCommand::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => StdCommand::new(path),
        };
        // The server's own messages stay readable in errors; the cluster locale is C anyway.
        cmd.env("LC_ALL", "C");
        cmd
    }

    /// A client program from the server's bin dir, else from `PATH`.
    fn client_program(&self, program: &str) -> PathBuf {
        let p = self.bin.join(program);
        if p.exists() {
            p
        } else {
            PathBuf::from(program)
        }
    }

    fn log_file(&self) -> PathBuf {
        self.cluster.join("server.log")
    }

    /// Keeps the server log from growing without bound across runs.
    fn rotate_log(&self) {
        let log = self.log_file();
        if std::fs::metadata(&log).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
            let _ = std::fs::rename(&log, self.cluster.join("server.log.1"));
        }
    }

    /// An error for a failed command, with its output and the server log's tail.
    fn failure(&self, what: &str, out: &Output) -> Error {
        let mut msg = format!(
            "embedded PostgreSQL in {}: {what} ({})",
            self.cluster.display(),
            out.status
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for text in [stderr.trim(), stdout.trim()] {
            if !text.is_empty() {
                msg.push('\n');
                msg.push_str(&last_lines(text, 20));
            }
        }
        if let Some(tail) = log_tail(&self.log_file(), 20) {
            msg.push_str(&format!(
                "\n--- last lines of {} ---\n{tail}",
                self.log_file().display()
            ));
        }
        Error::new(ErrorCode::EmbeddedDatabase, msg)
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if !self.take_over_if_ownerless() {
            return;
        }
        // Released when this function returns, after the stop.
        let _owner = self.owner.take();
        // As in `stop`: leave the server to other connected clients. Ask
        // with psql (no async runtime here); if we cannot tell, stop.
        let own = self
            .own_application
            .as_deref()
            .map(|a| {
                format!(
                    " AND application_name IS DISTINCT FROM '{}'",
                    a.replace('\'', "''")
                )
            })
            .unwrap_or_default();
        let others = StdCommand::new(self.bin.join("psql"))
            .args(["-h", &self.socket_dir.to_string_lossy(), "-p", &self.port.to_string()])
            .args(["-U", DB_USER, "-d", DB_NAME, "-Atc"])
            .arg(format!("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid(){own}"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<i64>().ok());
        if others.is_some_and(|n| n > 0) {
            tracing::info!("embedded PostgreSQL left running: other clients are connected");
            return;
        }
        let args = self.stop_args();
        let mut cmd = self.server_command("pg_ctl");
        cmd.args(args);
        clean_env(&mut cmd);
        match cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::warn!(
                cluster = %self.cluster.display(),
                "stopping the embedded PostgreSQL failed ({status})"
            ),
            Err(e) => tracing::warn!(
                cluster = %self.cluster.display(),
                "cannot run pg_ctl to stop the embedded PostgreSQL: {e}"
            ),
        }
    }
}

/// Default data dir: `$BERTH_DATA_DIR`, else `$XDG_DATA_HOME/berth`, else
/// `$HOME/.local/share/berth`; the cluster lives in `<dir>/pg`.
///
/// As root (whose home the `postgres` user cannot enter) the default is
/// `/var/lib/berth` unless `BERTH_DATA_DIR` is set.
pub fn default_data_dir() -> PathBuf {
    let explicit = std::env::var_os("BERTH_DATA_DIR").is_some_and(|v| !v.is_empty());
    if is_root() && !explicit {
        return PathBuf::from("/var/lib/berth");
    }
    data_dir_from(|name| std::env::var_os(name))
}

fn data_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("BERTH_DATA_DIR") {
        return dir;
    }
    if let Some(dir) = set("XDG_DATA_HOME").filter(|d| d.is_absolute()) {
        return dir.join("berth");
    }
    let home = set("HOME").unwrap_or_else(|| PathBuf::from("."));
    home.join(".local").join("share").join("berth")
}

fn fail(msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::EmbeddedDatabase,
        format!("embedded PostgreSQL: {msg}"),
    )
}

fn missing_binaries(detail: &str) -> Error {
    fail(format!(
        "{detail}; install the postgresql package (apt-get install postgresql) or set DATABASE_URL"
    ))
}

fn has_server_binaries(dir: &Path) -> bool {
    ["pg_ctl", "initdb", "postgres"]
        .iter()
        .all(|p| dir.join(p).is_file())
}

/// `$BERTH_PG_BIN`, else the highest `/usr/lib/postgresql/*/bin` (the
/// cluster's own major version first, if it is installed), else
/// `pg_config --bindir`.
fn find_bin_dir(cluster_version: Option<&str>) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BERTH_PG_BIN").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        return Err(missing_binaries(&format!(
            "BERTH_PG_BIN={} has no pg_ctl, initdb and postgres",
            dir.display()
        )));
    }
    let root = Path::new("/usr/lib/postgresql");
    if let Some(v) = cluster_version {
        let dir = root.join(v).join("bin");
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let dir = entry.path().join("bin");
            has_server_binaries(&dir).then_some((key, dir))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Ok(out) = StdCommand::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    Err(missing_binaries(
        "no PostgreSQL server binaries found (looked at $BERTH_PG_BIN, /usr/lib/postgresql/*/bin and pg_config --bindir)",
    ))
}

/// The major version of an initialised cluster (`PG_VERSION`).
fn cluster_version(cluster: &Path) -> Option<String> {
    std::fs::read_to_string(cluster.join("PG_VERSION"))
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `<data_dir>/run`, or `/tmp/berth-pg-<hash of data_dir>` when the socket
/// path inside it would exceed the Unix socket limit.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    let socket_len = preferred.as_os_str().len() + format!("/.s.PGSQL.{PORT}").len();
    if socket_len <= SOCKET_PATH_MAX {
        return preferred;
    }
    Path::new("/tmp").join(format!(
        "berth-pg-{:016x}",
        crate::stable_hash::fnv1a(data_dir.as_os_str().as_encoded_bytes())
    ))
}

/// Creates `dir` (if missing) with mode 0700, owned by the server's OS user
/// (`server_uid`, as root) or by us. An existing directory must be a real
/// directory owned by one of them (the socket dir may live in /tmp).
async fn prepare_private_dir(dir: &Path, server_uid: Option<u32>) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => {
            if !meta.file_type().is_dir() {
                return Err(fail(format!(
                    "{} exists and is not a directory",
                    dir.display()
                )));
            }
            let own_uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
            if Some(meta.uid()) != own_uid && Some(meta.uid()) != server_uid {
                return Err(fail(format!(
                    "{} belongs to another user (uid {}); remove it or choose another BERTH_DATA_DIR",
                    dir.display(),
                    meta.uid()
                )));
            }
        }
        Err(_) => std::fs::create_dir(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?,
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| fail(format!("cannot set mode 0700 on {}: {e}", dir.display())))?;
    if server_uid.is_some() {
        let owner = format!("{SERVER_OS_USER}:{SERVER_OS_USER}");
        let out = run(
            StdCommand::new("chown").arg("-R").arg(owner).arg(dir),
            "chown",
        )
        .await?;
        if !out.status.success() {
            return Err(fail(format!(
                "chown -R {SERVER_OS_USER} {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// As root: the server's OS user must be able to enter the cluster directory
/// (a parent such as /root with mode 0700 stops it).
async fn check_reachable(user: &str, dir: &Path) -> Result<()> {
    let out = run(
        StdCommand::new("runuser")
            .args(["-u", user, "--", "test", "-w"])
            .arg(dir),
        "runuser",
    )
    .await?;
    if out.status.success() {
        return Ok(());
    }
    Err(fail(format!(
        "the server runs as the '{user}' OS user (PostgreSQL refuses root), which cannot reach {}: \
         a parent directory is closed to it (e.g. /root is 0700). Set BERTH_DATA_DIR to a directory \
         it can reach (e.g. /var/lib/berth) or set DATABASE_URL",
        dir.display()
    )))
}

/// The uid of an OS user (`id -u <user>`).
async fn os_user_uid(user: &str) -> Result<u32> {
    let out = run(StdCommand::new("id").args(["-u", user]), "id").await?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|_| out.status.success())
        .ok_or_else(|| {
            missing_binaries(&format!(
                "running as root, but there is no '{user}' OS user to run the server as"
            ))
        })
}

fn is_root() -> bool {
    match std::fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => StdCommand::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

fn clean_env(cmd: &mut StdCommand) {
    for var in PG_ENV {
        cmd.env_remove(var);
    }
}

/// Runs a command to completion, capturing its output.
async fn run(cmd: &mut StdCommand, what: &str) -> Result<Output> {
    clean_env(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut cmd = Command::from(std::mem::replace(cmd, StdCommand::new(&program)));
    cmd.kill_on_drop(true);
    cmd.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            missing_binaries(&format!("{what}: {program} not found"))
        } else {
            fail(format!("cannot run {what} ({program}): {e}"))
        }
    })
}

/// Single-quotes `s` for the shell `pg_ctl` passes `-o` through.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Percent-encodes a URL query value (keeps `/` readable).
fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a log file (reads at most its last 16 KiB).
fn log_tail(path: &Path, n: usize) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)))
        .ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let tail = last_lines(text.trim_end(), n);
    (!tail.is_empty()).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Removes a test directory when dropped (after the cluster in it stopped).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir =
                std::env::temp_dir().join(format!("berth-{tag}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// True (and says why) when this machine has no PostgreSQL server binaries.
    fn no_postgres() -> bool {
        match find_bin_dir(None) {
            Ok(_) => false,
            Err(e) => {
                eprintln!("skipping: no PostgreSQL server binaries on this machine ({e})");
                true
            }
        }
    }

    fn socket_file(pg: &EmbeddedPostgres) -> PathBuf {
        pg.socket_dir.join(format!(".s.PGSQL.{}", pg.port))
    }

    #[tokio::test]
    async fn starts_connects_over_the_socket_only_attaches_and_stops() {
        if no_postgres() {
            return;
        }
        let dir = TempDir::new("embedded");
        let mut pg = EmbeddedPostgres::start(&dir.0).await.expect("start");
        assert!(pg.owns_server());
        assert_eq!(pg.socket_dir, dir.0.join("run"));
        let url = pg.url();
        assert!(url.starts_with("postgres:///berth?host=/"), "{url}");

        let db = sqlx::PgPool::connect(&url).await.expect("connect");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
        assert_eq!(one, 1);
        let listen: String = sqlx::query_scalar("SHOW listen_addresses")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(listen, "", "the embedded server must not listen on TCP");
        let name: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(name, "berth");
        assert!(socket_file(&pg).exists());

        // A second start attaches to the running server (its owner lives)
        // and does not stop it.
        let mut attached = EmbeddedPostgres::start(&dir.0).await.expect("attach");
        assert!(!attached.owns_server());
        assert_eq!(attached.url(), url);
        let db2 = sqlx::PgPool::connect(&attached.url())
            .await
            .expect("connect attached");
        db2.close().await;
        attached.stop().await.expect("stop attached (no-op)");
        drop(attached);
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
        assert_eq!(one, 1, "the server survives the attached instance");
        db.close().await;

        // Closed connections leave pg_stat_activity a moment after the
        // client hangs up; until then they count as other clients, for
        // whom `stop` would rightly leave the server running.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pg.other_clients().await.expect("count clients") > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the test's connections never closed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await; // polling interval
        }
        pg.stop().await.expect("stop");
        assert!(!socket_file(&pg).exists(), "socket file gone after stop");
        assert!(!pg.is_running().await.unwrap());
        pg.stop().await.expect("stop is idempotent");

        // Restart on the existing cluster (no initdb) and stop by dropping.
        let pg = EmbeddedPostgres::start(&dir.0).await.expect("restart");
        assert!(pg.owns_server());
        let db = sqlx::PgPool::connect(&pg.url()).await.expect("reconnect");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
        assert_eq!(one, 1);
        db.close().await;
        let socket = socket_file(&pg);
        drop(pg);
        assert!(!socket.exists(), "dropping the starter stops the server");
    }

    #[tokio::test]
    async fn stopping_leaves_the_server_to_other_connected_clients() {
        if no_postgres() {
            return;
        }
        let dir = TempDir::new("embedded-shared");
        let first = EmbeddedPostgres::start(&dir.0).await.expect("start");
        assert!(first.owns_server());
        let other = sqlx::PgPool::connect(&first.url())
            .await
            .expect("another client");
        // Dropping the instance that started it leaves it to the other client...
        drop(first);
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&other)
            .await
            .expect("served after drop");
        assert_eq!(one, 1);
        // ...without an owner now, so the next start adopts it, and an
        // explicit stop by an owner leaves it to the other client too.
        let mut second = EmbeddedPostgres::start(&dir.0).await.expect("adopt");
        assert!(second.owns_server(), "an ownerless server is adopted");
        second.stop().await.expect("stop");
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&other)
            .await
            .expect("served after stop");
        assert_eq!(one, 1);
        other.close().await;
        // Alone now: the stop is real.
        let mut last = EmbeddedPostgres::start(&dir.0).await.expect("adopt");
        assert!(last.owns_server());
        last.stop().await.expect("stop");
        assert!(
            !last.is_running().await.unwrap_or(true),
            "stopped once no client is left"
        );
    }

    /// Issue 11, item 23: a process that attached while the owner ran, and
    /// outlives it, stops the server at its own clean exit.
    #[tokio::test]
    async fn the_last_client_to_exit_stops_a_server_its_owner_left() {
        if no_postgres() {
            return;
        }
        let dir = TempDir::new("embedded-last");
        let mut owner = EmbeddedPostgres::start(&dir.0).await.expect("start");
        let mut attached = EmbeddedPostgres::start(&dir.0).await.expect("attach");
        assert!(owner.owns_server() && !attached.owns_server());
        attached.set_own_application("the attached instance");
        let opts: sqlx::postgres::PgConnectOptions = attached.url().parse().unwrap();
        let its_pool = sqlx::PgPool::connect_with(opts.application_name("the attached instance"))
            .await
            .expect("the attached instance connects");
        // The owner exits first: the attached instance still uses the server.
        owner.stop().await.expect("owner stops");
        assert!(
            owner.is_running().await.unwrap(),
            "left to the attached instance"
        );
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&its_pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
        // Its clean exit (its own connections do not count) stops it.
        its_pool.close().await;
        attached.stop().await.expect("stop");
        assert!(
            !attached.is_running().await.unwrap_or(true),
            "the last Berth process out stops the server its owner left"
        );
        assert!(!attached.owns_server());
    }

    #[tokio::test]
    async fn long_data_dir_uses_a_short_socket_dir_under_tmp() {
        if no_postgres() {
            return;
        }
        let dir = TempDir::new("embedded-long");
        let data_dir = dir.0.join("a-rather-long-directory-name-".repeat(4));
        // Removed after the server stopped, even if an assertion fails.
        let _socket_dir = TempDir(socket_dir_for(&data_dir));
        let mut pg = EmbeddedPostgres::start(&data_dir).await.expect("start");
        assert_eq!(pg.socket_dir, _socket_dir.0);
        assert!(
            pg.socket_dir
                .to_string_lossy()
                .starts_with("/tmp/berth-pg-"),
            "{:?}",
            pg.socket_dir
        );
        assert!(socket_file(&pg).as_os_str().len() <= SOCKET_PATH_MAX);
        let mode = std::fs::metadata(&pg.socket_dir)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);

        let db = sqlx::PgPool::connect(&pg.url()).await.expect("connect");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&db).await.unwrap();
        assert_eq!(one, 1);
        db.close().await;

        pg.stop().await.expect("stop");
        assert!(!socket_file(&pg).exists());
    }

    #[tokio::test]
    async fn as_root_a_data_dir_closed_to_postgres_is_a_clear_error() {
        if no_postgres() || !is_root() {
            return;
        }
        let dir = TempDir::new("embedded-closed");
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = EmbeddedPostgres::start(&dir.0.join("data"))
            .await
            .expect_err("postgres cannot enter a root-only directory");
        assert_eq!(err.code(), ErrorCode::EmbeddedDatabase);
        let msg = err.to_string();
        assert!(msg.contains("BERTH_DATA_DIR"), "{msg}");
        assert!(msg.contains("DATABASE_URL"), "{msg}");
    }

    #[tokio::test]
    async fn a_server_that_does_not_start_is_reported_with_its_log() {
        if no_postgres() {
            return;
        }
        let dir = TempDir::new("embedded-broken");
        let mut pg = EmbeddedPostgres::start(&dir.0).await.expect("start");
        pg.stop().await.expect("stop");
        let conf = pg.cluster.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nshared_buffers = 'not a size'\n");
        std::fs::write(&conf, text).unwrap();

        let err = EmbeddedPostgres::start(&dir.0)
            .await
            .expect_err("a broken configuration does not start");
        assert_eq!(err.code(), ErrorCode::EmbeddedDatabase);
        let msg = err.to_string();
        assert!(msg.contains("server.log"), "{msg}");
        assert!(msg.contains("shared_buffers"), "{msg}");
    }

    #[test]
    fn default_data_dir_order() {
        fn env<'a>(
            pairs: &'a [(&'a str, &'a str)],
        ) -> impl Fn(&str) -> Option<std::ffi::OsString> + 'a {
            move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        }
        let all = [
            ("BERTH_DATA_DIR", "/srv/berth"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(data_dir_from(env(&all)), PathBuf::from("/srv/berth"));
        assert_eq!(
            data_dir_from(env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")])),
            PathBuf::from("/xdg/berth")
        );
        assert_eq!(
            data_dir_from(env(&[("BERTH_DATA_DIR", ""), ("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/berth")
        );
        let default = default_data_dir();
        assert!(default.ends_with("berth") || std::env::var_os("BERTH_DATA_DIR").is_some());
    }

    #[test]
    fn url_parses_as_a_unix_socket() {
        let pg = EmbeddedPostgres {
            bin: PathBuf::new(),
            cluster: PathBuf::new(),
            socket_dir: PathBuf::from("/tmp/odd dir&x=1"),
            port: PORT,
            run_as: None,
            owner: None,
            lock: PathBuf::new(),
            own_application: None,
        };
        let options: sqlx::postgres::PgConnectOptions =
            pg.url().parse().expect("sqlx parses the url");
        assert_eq!(
            options.get_socket().map(|p| p.as_path()),
            Some(Path::new("/tmp/odd dir&x=1"))
        );
        assert_eq!(options.get_port(), PORT);
        assert_eq!(options.get_username(), DB_USER);
        assert_eq!(options.get_database(), Some(DB_NAME));
    }

    #[test]
    fn socket_dir_is_short_and_stable() {
        let short = socket_dir_for(Path::new("/var/lib/berth"));
        assert_eq!(short, PathBuf::from("/var/lib/berth/run"));
        let long_dir = PathBuf::from(format!("/{}", "x".repeat(120)));
        let a = socket_dir_for(&long_dir);
        assert_eq!(a, socket_dir_for(&long_dir));
        assert!(a.starts_with("/tmp"));
        assert_ne!(a, socket_dir_for(&long_dir.join("other")));
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
