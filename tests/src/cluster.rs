//! A private PostgreSQL cluster that a fault test may stop, start and
//! restart at will — never the shared server the other tests use.
//!
//! Built from the machine's server binaries (`BERTH_PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin`), in a fresh directory under the system's
//! temporary directory, listening on a free port of 127.0.0.1 and trusting
//! the role `berth`. `initdb` and `postgres` refuse to run as root, so as root
//! they run as the `postgres` OS user (through `runuser`), which then owns
//! the directory. Dropping the cluster stops it at once and removes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running private cluster.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as: Option<&'static str>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn server_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (or set BERTH_PG_BIN)")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_string_lossy().parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop().expect("a PostgreSQL server version").1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Cluster {
    /// Creates and starts a cluster (about a second).
    pub fn start() -> Cluster {
        let run_as = is_root().then_some("postgres");
        let dir = std::env::temp_dir().join(format!("berth-fault-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("cluster directory");
        if let Some(user) = run_as {
            let ok = Command::new("chown")
                .arg(user)
                .arg(&dir)
                .status()
                .expect("chown runs")
                .success();
            assert!(ok, "chown {} to {user}", dir.display());
        }
        let cluster = Cluster {
            dir,
            bin: server_bin(),
            port: free_port(),
            run_as,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "berth",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Runs one of the server programs (as the server's OS user when root);
    /// panics with its output when it fails.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `postgres://berth@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://berth@127.0.0.1:{}/postgres", self.port)
    }

    /// Where the cluster lives (a data directory for instances that want one).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: every connection is cut).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-w", "-t", "60", "-m", "fast", "stop"],
        );
    }

    /// Restarts the server (fast shutdown, then start).
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let _ = cmd
            .args(["-D", &data, "-w", "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
