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
use crate::error::Result;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

mod host;
mod server;

pub use host::default_data_dir;
use host::*;

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
        let (mut pg, data_dir, server_uid) = Self::prepare(data_dir).await?;
        // Free: no live process owns a server here (or is starting one).
        let ownership = owner::try_take(&pg.lock)?;

        if pg.cluster.join("postmaster.pid").exists() && pg.is_running().await? {
            return pg.join_running(ownership).await;
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

    /// The (not yet started or attached) cluster in `data_dir`, made
    /// absolute, with its directories created and closed to others, and the
    /// server's OS user id when server programs run as another user.
    async fn prepare(data_dir: &Path) -> Result<(EmbeddedPostgres, PathBuf, Option<u32>)> {
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

        let pg = EmbeddedPostgres {
            bin,
            cluster,
            socket_dir: PathBuf::new(),
            port: PORT,
            run_as,
            owner: None,
            lock: owner::lock_path(&data_dir),
            own_application: None,
        };
        Ok((pg, data_dir, server_uid))
    }

    /// Attaches to the server already running in the cluster, adopting it
    /// when `ownership` (no live owner) was taken.
    async fn join_running(mut self, ownership: Option<Ownership>) -> Result<EmbeddedPostgres> {
        self.attach()?;
        match ownership {
            Some(o) => {
                tracing::warn!(
                    socket = %self.socket_dir.display(),
                    "adopted the embedded PostgreSQL left running by a Berth process that is gone; \
                     it stops when this process exits, unless other clients are connected"
                );
                self.owner = Some(o);
            }
            None => {
                tracing::info!(socket = %self.socket_dir.display(), "attached to the running embedded PostgreSQL")
            }
        }
        // From here on, dropping an owning `self` on an error stops the server.
        self.ensure_database().await?;
        Ok(self)
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

#[cfg(test)]
mod tests;
