//! The server's programs (`initdb`, `pg_ctl`, `createdb`), how they are
//! run, and how their failures are reported.

use std::path::PathBuf;
use std::process::{Command as StdCommand, Output};

use super::host::{last_lines, log_tail, run, shell_quote};
use super::{EmbeddedPostgres, DB_NAME, DB_USER, LOG_ROTATE_BYTES, PG_CTL_TIMEOUT_SECS};
use crate::error::{Error, ErrorCode, Result};

impl EmbeddedPostgres {
    pub(super) async fn initdb(&self) -> Result<()> {
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

    pub(super) async fn pg_ctl_start(&self) -> Result<()> {
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
    pub(super) async fn ensure_database(&self) -> Result<()> {
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

    pub(super) fn stop_args(&self) -> Vec<std::ffi::OsString> {
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
    pub(super) fn server_command(&self, program: &str) -> StdCommand {
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
    pub(super) fn client_program(&self, program: &str) -> PathBuf {
        let p = self.bin.join(program);
        if p.exists() {
            p
        } else {
            PathBuf::from(program)
        }
    }

    pub(super) fn log_file(&self) -> PathBuf {
        self.cluster.join("server.log")
    }

    /// Keeps the server log from growing without bound across runs.
    pub(super) fn rotate_log(&self) {
        let log = self.log_file();
        if std::fs::metadata(&log).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
            let _ = std::fs::rename(&log, self.cluster.join("server.log.1"));
        }
    }

    /// An error for a failed command, with its output and the server log's tail.
    pub(super) fn failure(&self, what: &str, out: &Output) -> Error {
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
