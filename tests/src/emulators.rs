//! Real platform emulators for the adapter tests: moto (AWS) and kmock
//! (Kubernetes), started on free ports and killed on drop.
//!
//! They are found in the virtualenv `scripts/setup.sh` installs:
//! `BERTH_EMULATORS` (which `scripts/test.sh` exports), else
//! `/opt/berth-emulators`. A missing emulator fails the test with what to
//! run; it is never skipped silently.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The emulators' virtualenv.
pub fn venv() -> PathBuf {
    let dir = std::env::var("BERTH_EMULATORS").unwrap_or_else(|_| "/opt/berth-emulators".into());
    PathBuf::from(dir)
}

fn tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (it installs moto and kmock into {}; set BERTH_EMULATORS to use another virtualenv)",
        path.display(),
        venv().display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running emulator process; killed on drop.
pub struct Emulator {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its port.
    pub port: u16,
}

impl Emulator {
    /// Kills the emulator now (to simulate a platform going away).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Waits until something accepts connections on `port` (or the process died).
async fn wait_listening(child: &mut Child, port: u16, what: &str) {
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        // Polling a process we do not control: nothing to wait on instead.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not listen on {port} within 15 s");
}

/// Starts `moto_server` and sets ECS tasks to advance only when told
/// (moto otherwise moves a task towards STOPPED on every DescribeTasks).
pub async fn moto() -> Emulator {
    moto_at(free_port()).await
}

/// [`moto`] on a given port: a platform that comes back where it was
/// (with none of its former state).
pub async fn moto_at(port: u16) -> Emulator {
    let mut child = Command::new(tool("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("moto_server starts");
    wait_listening(&mut child, port, "moto_server").await;
    let url = format!("http://127.0.0.1:{port}");
    let (status, body) = http(
        port,
        "POST",
        "/moto-api/state-manager/set-transition",
        "application/json",
        r#"{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000}}"#,
    )
    .await;
    assert!(status < 300, "moto transition not set: {status} {body}");
    Emulator { child, url, port }
}

/// Starts kmock's Kubernetes emulator with `namespaces` created.
pub async fn kmock(namespaces: &[&str]) -> Emulator {
    kmock_at(0, namespaces).await
}

/// [`kmock`] on a given port (0: any free one): an API server that comes
/// back where it was (with none of its former objects).
pub async fn kmock_at(port: u16, namespaces: &[&str]) -> Emulator {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("emulators/kmock_server.py");
    let mut child = Command::new(tool("python"))
        .arg(&script)
        .arg(port.to_string())
        .args(namespaces)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kmock starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("kmock prints its port within 30 s")
        .expect("kmock output")
        .expect("kmock printed a line");
    let port: u16 = first
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected kmock output {first:?}"));
    Emulator {
        child,
        url: format!("http://127.0.0.1:{port}"),
        port,
    }
}

/// A minimal HTTP/1.1 request (for emulator set-up calls no SDK covers).
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    http_with(port, method, path, content_type, "", body).await
}

async fn http_with(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    extra_headers: &str,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Creates a VPC and a subnet in moto's EC2 (awsvpc tasks need one that
/// exists); returns the subnet id.
pub async fn moto_subnet(port: u16) -> String {
    let form = "application/x-www-form-urlencoded";
    // moto routes a request to a service by the credential scope of its
    // Authorization header; it does not check the signature.
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n";
    let auth_free = |action: &str| format!("Action={action}&Version=2016-11-15");
    let (_, vpc) = http_with(
        port,
        "POST",
        "/",
        form,
        auth,
        &format!("{}&CidrBlock=10.0.0.0/16", auth_free("CreateVpc")),
    )
    .await;
    let vpc_id = between(&vpc, "<vpcId>", "</vpcId>").expect("vpc id");
    // moto 5.2 fails RunTask (HTML 500, `NetworkInterface` has no
    // `private_dns_name`) unless the VPC has DNS host names enabled.
    let (status, body) = http_with(
        port,
        "POST",
        "/",
        form,
        auth,
        &format!(
            "{}&VpcId={vpc_id}&EnableDnsHostnames.Value=true",
            auth_free("ModifyVpcAttribute")
        ),
    )
    .await;
    assert!(status < 300, "VPC attribute not set: {status} {body}");
    let (_, subnet) = http_with(
        port,
        "POST",
        "/",
        form,
        auth,
        &format!(
            "{}&VpcId={vpc_id}&CidrBlock=10.0.1.0/24",
            auth_free("CreateSubnet")
        ),
    )
    .await;
    between(&subnet, "<subnetId>", "</subnetId>")
        .expect("subnet id")
        .to_string()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}
