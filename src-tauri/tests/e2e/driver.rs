//! The WebDriver harness shared by the desktop tests that drive a real
//! app (`e2e.rs`: the workspace's build; `package.rs`: the installed
//! package): a private Xvfb display, `tauri-driver` over Debian's
//! `WebKitWebDriver`, a session with the app, waiting, screenshots.
//! Each test binary uses part of it.
#![allow(dead_code)]

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// tauri-driver's fixed ports: one driven app at a time on a machine.
pub const DRIVER_PORT: u16 = 4444;
pub const NATIVE_PORT: u16 = 4445;

pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

pub fn require(tool: &str, hint: &str) -> PathBuf {
    which(tool).unwrap_or_else(|| panic!("{tool} not found on PATH: {hint}"))
}

/// The workspace's target profile directory (`target/debug`), from this
/// test binary's own path (`target/debug/deps/e2e-…`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// A child process group killed (SIGTERM, then SIGKILL) on drop, so
/// WebKitWebDriver and the app it started never outlive the test.
pub struct Group {
    pub child: Child,
    name: &'static str,
}

impl Group {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Group {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Group { child, name }
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("e2e: {} did not stop on SIGTERM; killing", self.name);
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

/// A private X display: the one in `DISPLAY`, or a new Xvfb.
pub fn display() -> (String, Option<Group>) {
    if let Ok(d) = std::env::var("DISPLAY") {
        if !d.is_empty() {
            return (d, None);
        }
    }
    let xvfb = require("Xvfb", "apt-get install xvfb (scripts/setup.sh does)");
    for n in 140..240 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists()
            || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        {
            continue;
        }
        let mut cmd = Command::new(&xvfb);
        cmd.args([
            format!(":{n}"),
            "-screen".into(),
            "0".into(),
            "1280x800x24".into(),
            "-nolisten".into(),
            "tcp".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let mut group = Group::spawn("Xvfb", &mut cmd);
        let socket = format!("/tmp/.X11-unix/X{n}");
        let ready = poll(Duration::from_secs(10), || {
            Path::new(&socket).exists() || matches!(group.child.try_wait(), Ok(Some(_)))
        });
        if ready && Path::new(&socket).exists() {
            return (format!(":{n}"), Some(group));
        }
        // Another server took the number first: try the next one.
        group.signal("-KILL");
    }
    panic!("no free X display number for Xvfb in :140-:239");
}

/// Polls `f` every 50 ms until it holds or `limit` passes.
pub fn poll(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
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

pub async fn wait_find(
    client: &Client,
    css: &str,
    limit: Duration,
) -> fantoccini::elements::Element {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            return el;
        }
        if Instant::now() >= deadline {
            let page = client
                .execute(
                    "return location.href + ' | ' + document.documentElement.outerHTML.slice(0, 1500)",
                    Vec::new(),
                )
                .await;
            eprintln!("e2e: page at failure: {page:?}");
            let shot = capture(client).await.ok();
            if let Some(png) = shot {
                let path = screenshot_dir().join("failure.png");
                let _ = std::fs::write(&path, png);
                eprintln!("e2e: screenshot at failure: {}", path.display());
            }
            panic!("no element matches {css} within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn screenshot_dir() -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("target dir")
        .join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// Keeps the page painting while WebKit takes a screenshot (run by
/// [`capture`], stopped by `window.__e2ePaintStop`, or by itself after
/// 5 s): a 1-pixel mark in the bottom-right corner that
/// alternates between two almost transparent greys every 50 ms.
///
/// Why: with accelerated compositing off (the app's default), WebKitGTK
/// 2.50 answers WebDriver's screenshot only after the web process paints
/// its next frame, and the repaint it asks for does not always make one: on
/// a page that has settled (just after a view switch) the screenshot waited
/// until a live update painted something, or for ever (measured: without
/// the mark the third view's screenshot hung past 30 s, with it 18 views
/// in a row took 0.07-0.4 s each).
const PAINT_SCRIPT: &str = "
    const mark = document.createElement('div');
    mark.setAttribute('aria-hidden', 'true');
    mark.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;'
        + 'pointer-events:none;z-index:2147483647';
    document.body.appendChild(mark);
    let n = 0;
    const tick = setInterval(() => {
        n += 1;
        mark.style.background = n % 2 ? 'rgba(0,0,0,0.02)' : 'rgba(0,0,0,0.01)';
        if (n >= 100) window.__e2ePaintStop();
    }, 50);
    window.__e2ePaintStop = () => { clearInterval(tick); mark.remove(); };";

/// A screenshot of the window as WebKit painted it (see [`PAINT_SCRIPT`]).
pub async fn capture(client: &Client) -> Result<Vec<u8>, fantoccini::error::CmdError> {
    client.execute(PAINT_SCRIPT, Vec::new()).await?;
    let png = client.screenshot().await;
    let _ = client
        .execute(
            "window.__e2ePaintStop && window.__e2ePaintStop()",
            Vec::new(),
        )
        .await;
    png
}

pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    // The DOM is current, but the picture is what WebKit last painted: let
    // two animation frames pass so the screenshot shows what was checked.
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            Vec::new(),
        )
        .await
        .expect("animation frames");
    let png = capture(client).await.expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{name}: the screenshot is not a real picture ({} bytes)",
        png.len()
    );
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("screenshot written");
    eprintln!("e2e: screenshot {}", path.display());
    path
}

/// The `tauri-driver` command on `display`, before the app's environment
/// is added (the app inherits it). Fails the test when the driver, the
/// native driver is missing, or another tauri-driver holds the port.
pub fn driver_command(display: &str) -> Command {
    let driver = require(
        "tauri-driver",
        "cargo install tauri-driver --locked --version '^2' (scripts/setup.sh does)",
    );
    let native = require(
        "WebKitWebDriver",
        "apt-get install webkit2gtk-driver (scripts/setup.sh does)",
    );
    assert!(
        TcpStream::connect(("127.0.0.1", DRIVER_PORT)).is_err(),
        "port {DRIVER_PORT} is taken: is another tauri-driver running?"
    );
    let mut cmd = Command::new(driver);
    cmd.args([
        "--port",
        &DRIVER_PORT.to_string(),
        "--native-port",
        &NATIVE_PORT.to_string(),
        "--native-driver",
    ])
    .arg(native)
    .env("DISPLAY", display);
    cmd
}

/// Starts `tauri-driver` (from [`driver_command`]) and waits until it listens.
pub fn spawn_driver(cmd: &mut Command) -> Group {
    let group = Group::spawn("tauri-driver", cmd);
    assert!(
        poll(Duration::from_secs(20), || TcpStream::connect((
            "127.0.0.1",
            DRIVER_PORT
        ))
        .is_ok()),
        "tauri-driver did not listen on {DRIVER_PORT}"
    );
    group
}

/// A WebDriver session that starts `app` with `args`.
pub async fn session(app: &Path, args: &[&str]) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app, "args": args }),
    );
    // tauri-driver listens before WebKitWebDriver does; until then a new
    // session fails with a dropped connection, so try again for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("e2e: no WebDriver session yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("no WebDriver session with the app: {e}"),
        }
    }
}

/// Polls the async `f` every 100 ms until it holds or `limit` passes.
pub async fn poll_async<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the pool dashboard: the app reopens on the view it was left on
/// (kept in the web view's storage, which outlives a run), so a test that
/// starts on the dashboard goes there first.
pub async fn open_dashboard(client: &Client, limit: Duration) {
    wait_find(client, "nav [role='tab']", limit).await;
    for tab in client
        .find_all(Locator::Css("nav [role='tab']"))
        .await
        .expect("tabs")
    {
        if tab.text().await.unwrap_or_default().trim() == "Pool dashboard" {
            tab.click().await.expect("tab click");
            return;
        }
    }
    panic!("no Pool dashboard tab");
}

/// Runs the workspace's `berth --dev <args>` against the app's database at
/// `url`, as an operator in a terminal would (without the variables the
/// app's environment pins), with `env` added; its standard output, or an
/// error carrying its standard error.
pub fn run_berth(url: &str, args: &[&str], env: &[(&str, &Path)]) -> Result<String, String> {
    let out = Command::new(profile_dir().join("berth"))
        .arg("--dev")
        .args(args)
        .env("DATABASE_URL", url)
        .env("BERTH_DEV", "1")
        .env_remove("AWS_BOT_LIMIT")
        .envs(env.iter().copied())
        .output()
        .map_err(|e| format!("berth CLI: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Presses `keys` in order (each down then up, 30 ms apart), as one
/// action sequence.
pub async fn press(client: &Client, keys: &[char]) -> Result<(), String> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut seq = KeyActions::new("keyboard".into());
    for &c in keys {
        seq = seq
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c })
            .then(KeyAction::Pause {
                duration: Duration::from_millis(30),
            });
    }
    client
        .perform_actions(seq)
        .await
        .map_err(|e| e.to_string())?;
    client.release_actions().await.map_err(|e| e.to_string())
}

/// Runs `js` in the app's window; its value, or null when it failed.
pub async fn script(client: &Client, js: &str) -> serde_json::Value {
    client
        .execute(js, Vec::new())
        .await
        .unwrap_or(serde_json::Value::Null)
}
