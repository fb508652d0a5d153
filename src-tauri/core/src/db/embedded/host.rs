//! The machine around the cluster: data and socket directories, the
//! server binaries, the server's OS user, and running programs.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};

use tokio::process::Command;

use super::{PG_ENV, PORT, SERVER_OS_USER, SOCKET_PATH_MAX};
use crate::error::{Error, ErrorCode, Result};

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

pub(super) fn data_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
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

pub(super) fn fail(msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::EmbeddedDatabase,
        format!("embedded PostgreSQL: {msg}"),
    )
}

pub(super) fn missing_binaries(detail: &str) -> Error {
    fail(format!(
        "{detail}; install the postgresql package (apt-get install postgresql) or set DATABASE_URL"
    ))
}

pub(super) fn has_server_binaries(dir: &Path) -> bool {
    ["pg_ctl", "initdb", "postgres"]
        .iter()
        .all(|p| dir.join(p).is_file())
}

/// `$BERTH_PG_BIN`, else the highest `/usr/lib/postgresql/*/bin` (the
/// cluster's own major version first, if it is installed), else
/// `pg_config --bindir`.
pub(super) fn find_bin_dir(cluster_version: Option<&str>) -> Result<PathBuf> {
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
pub(super) fn cluster_version(cluster: &Path) -> Option<String> {
    std::fs::read_to_string(cluster.join("PG_VERSION"))
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `<data_dir>/run`, or `/tmp/berth-pg-<hash of data_dir>` when the socket
/// path inside it would exceed the Unix socket limit.
pub(super) fn socket_dir_for(data_dir: &Path) -> PathBuf {
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
pub(super) async fn prepare_private_dir(dir: &Path, server_uid: Option<u32>) -> Result<()> {
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
pub(super) async fn check_reachable(user: &str, dir: &Path) -> Result<()> {
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
pub(super) async fn os_user_uid(user: &str) -> Result<u32> {
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

pub(super) fn is_root() -> bool {
    match std::fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => StdCommand::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

pub(super) fn clean_env(cmd: &mut StdCommand) {
    for var in PG_ENV {
        cmd.env_remove(var);
    }
}

/// Runs a command to completion, capturing its output.
pub(super) async fn run(cmd: &mut StdCommand, what: &str) -> Result<Output> {
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
pub(super) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Percent-encodes a URL query value (keeps `/` readable).
pub(super) fn encode_query_value(s: &str) -> String {
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

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a log file (reads at most its last 16 KiB).
pub(super) fn log_tail(path: &Path, n: usize) -> Option<String> {
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
