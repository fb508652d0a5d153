//! The installed package (issue 10): `scripts/package.sh --test` builds the
//! `.deb`, installs it with apt-get, then runs this test against the
//! installed `berth-desktop` (`BERTH_INSTALLED_APP`, e.g.
//! `/usr/bin/berth-desktop`). The app starts in development mode on the
//! embedded database (no `DATABASE_URL`: the server binaries come from the
//! package's PostgreSQL dependency) in a private Xvfb display and shows the
//! dashboard with its pre-warmed slots; the picture is saved as
//! `<target>/e2e-screenshots/installed-dashboard.png`.
//!
//! Ignored in the test command (it needs the package installed, and the
//! release build behind it takes longer than the rest of the run).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::Locator;

#[path = "e2e/driver.rs"]
mod driver;
use driver::*;

/// A data directory of the test's own, removed (its server stopped) on drop.
/// Under /tmp: as root the embedded server runs as `postgres`, which must
/// reach it.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            PathBuf::from("/tmp").join(format!("berth-installed-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("data dir");
        DataDir(dir)
    }

    /// The embedded server's pid, while its `postmaster.pid` is there.
    fn postmaster(&self) -> Option<u32> {
        std::fs::read_to_string(self.0.join("pg").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(self.0.join("pg").join("server.log")).unwrap_or_default()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        // A clean exit stops the server; a failed run may leave it behind.
        if let Some(pid) = self.postmaster() {
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            poll(Duration::from_secs(10), || self.postmaster().is_none());
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn number(client: &fantoccini::Client, test_id: &str) -> Option<i64> {
    let el = client
        .find(Locator::Css(&format!("[data-testid='{test_id}']")))
        .await
        .ok()?;
    el.text().await.ok()?.trim().replace(',', "").parse().ok()
}

#[tokio::test]
#[ignore = "needs the installed package: run scripts/package.sh --test"]
async fn the_installed_app_starts_in_development_mode_and_shows_the_dashboard() {
    let app = PathBuf::from(
        std::env::var_os("BERTH_INSTALLED_APP")
            .expect("BERTH_INSTALLED_APP names the installed berth-desktop"),
    );
    assert!(app.is_file(), "{} is not installed", app.display());
    assert!(
        !app.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()),
        "{} is a build in the checkout, not the installed app",
        app.display()
    );
    let data = DataDir::new();
    let (display, _xvfb) = display();
    let _driver = spawn_driver(
        driver_command(&display)
            .env_remove("DATABASE_URL")
            .env_remove("BERTH_QUERY_DATABASE_URL")
            .env_remove("BERTH_DEMO")
            .env("BERTH_DEV", "1")
            // As `scripts/run.sh` starts it: slots kept ready in every pool.
            .env("POOL_PREWARM_COUNT", "2")
            .env("BERTH_DATA_DIR", &data.0)
            .env("BERTH_POOLS_DIR", data.0.join("pools"))
            .env("RUST_LOG", "warn,berth_core=info")
            .stdout(Stdio::null()),
    );
    let client = session(&app, &["--dev"]).await;

    // The dashboard, with the pre-warmed slots the embedded database holds
    // (initdb and the first migration take a while on a fresh data dir).
    open_dashboard(&client, Duration::from_secs(120)).await;
    wait_find(
        &client,
        "[data-testid='stat-idle-value']",
        Duration::from_secs(120),
    )
    .await;
    let warmed = poll_async(Duration::from_secs(60), || async {
        number(&client, "stat-idle-value").await.unwrap_or(0) > 0
    })
    .await;
    let idle = number(&client, "stat-idle-value").await;
    assert!(
        warmed,
        "the dashboard shows no idle (pre-warmed) slot: {idle:?}\nserver log:\n{}",
        data.server_log()
    );
    assert!(
        data.postmaster().is_some(),
        "the app runs on its embedded database in {}",
        data.0.display()
    );
    let shot = screenshot(&client, "installed-dashboard").await;
    eprintln!(
        "package: the installed app shows {idle:?} idle slots ({})",
        shot.display()
    );
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
}
