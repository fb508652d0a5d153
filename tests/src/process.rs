//! Berth instances as child processes (the `instance` binary), for tests
//! that kill them the way a crash or an operator's `kill -9` would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use uuid::Uuid;

/// A running instance. Dropping it kills the process.
pub struct Instance {
    /// The process.
    pub child: Child,
    /// The instance's id (its peer and leader id).
    pub id: Uuid,
}

impl Instance {
    /// Starts `bin` (pass `env!("CARGO_BIN_EXE_instance")`) on `url` with
    /// extra environment `env`, and returns once it printed `ready <id>`.
    /// `BERTH_TEST_INSTANCE_BIN` names another build of the binary to run
    /// instead: in a target directory shared by several worktrees,
    /// `target/debug/instance` is whichever worktree built it last.
    pub fn spawn(bin: &str, url: &str, env: &[(&str, &str)]) -> Instance {
        let bin = std::env::var("BERTH_TEST_INSTANCE_BIN").unwrap_or_else(|_| bin.to_string());
        let mut cmd = Command::new(bin);
        cmd.env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("instance starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("instance output");
        let id = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("instance said {line:?}"))
            .parse()
            .expect("instance id");
        Instance { child, id }
    }

    /// SIGKILL, then reap: the process writes nothing more.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
