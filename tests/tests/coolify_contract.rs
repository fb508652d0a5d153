//! Contract tests: every call the Coolify adapter makes is checked against
//! Coolify's published OpenAPI spec by Prism (`prism mock --errors`), which
//! answers a request that breaks the spec with an error and an
//! `sl-violations` header. The spec is `tests/contract/coolify-openapi.json`
//! with the one known mistake patched here (see its README).
//!
//! Prism comes from npm (`tests/contract/package.json`, installed by
//! `scripts/setup.sh`). Without it the test fails, saying so; set
//! `BERTH_SKIP_CONTRACT=1` to skip it deliberately.

use berth_core::config::{CoolifyConfig, EnvConfig, DEFAULT_COOLIFY_APP_PREFIX};
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::platform::call::Policy;
use berth_core::platform::coolify::{CoolifyPlatform, ResponseObserver};
use berth_core::platform::secret::TokenSource;
use berth_core::platform::{BotSpec, Health, Platform, ResourceSpec, SlotRef};
use berth_core::{pool, settings};
use berth_tests::slots;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contract/coolify-openapi.json");

/// A running `prism mock`; killed on drop.
struct Prism {
    child: Child,
    url: String,
    _spec: tempfile_path::TempPath,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tempfile_path {
    /// A file removed on drop.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn prism_bin() -> PathBuf {
    match std::env::var_os("BERTH_PRISM") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contract/node_modules/.bin/prism"
        )),
    }
}

/// The spec with its known mistake patched: `POST /applications/dockerimage`
/// requires only one of `environment_name` / `environment_uuid`.
fn patched_spec() -> tempfile_path::TempPath {
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(SPEC).expect("spec readable")).expect("spec is JSON");
    let required = spec["paths"]["/applications/dockerimage"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["required"]
        .as_array_mut()
        .expect("the dockerimage schema lists required fields");
    let before = required.len();
    required.retain(|v| v != "environment_name" && v != "environment_uuid");
    assert_eq!(
        before - required.len(),
        2,
        "the spec's known mistake is gone: drop this patch"
    );
    let path = std::env::temp_dir().join(format!(
        "berth-coolify-spec-{}-{}.json",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    tempfile_path::TempPath(path)
}

/// Starts Prism on a free loopback port and returns once it listens
/// (it says so on its output). `None` when skipping deliberately.
fn start_prism() -> Option<Prism> {
    let bin = prism_bin();
    if !bin.exists() {
        if std::env::var("BERTH_SKIP_CONTRACT").as_deref() == Ok("1") {
            eprintln!("BERTH_SKIP_CONTRACT=1: Coolify contract test skipped");
            return None;
        }
        panic!(
            "Prism is not installed at {} — run scripts/setup.sh (it runs `npm ci` in tests/contract), \
             or set BERTH_PRISM to a prism binary; set BERTH_SKIP_CONTRACT=1 to skip the contract tests deliberately",
            bin.display()
        );
    }
    let spec = patched_spec();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(&bin)
        .args([
            "mock",
            "--errors",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .arg(&spec.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    for stream in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(line) if line.contains("Prism is listening") => break,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "Prism did not start listening within 90 s:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Some(Prism {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _spec: spec,
    })
}

/// What the slots under test are made of (the router passes the pool's).
fn made_of() -> ResourceSpec {
    ResourceSpec {
        image: "ghcr.io/payme-works/meeboter-google-meet-bot:latest".into(),
        resources: Default::default(),
        meeting_platform: Some(MeetingPlatform::Zoom),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_adapter_call_matches_coolifys_openapi_spec(db: PgPool) {
    let Some(prism) = start_prism() else { return };
    let cfg = EnvConfig::parse(
        &|k| match k {
            "PLATFORM_PRIORITY" => Some("coolify".into()),
            "COOLIFY_BOT_LIMIT" => Some("3".into()),
            _ => None,
        },
        false,
    )
    .unwrap();
    settings::apply_env(&db, &cfg).await.unwrap();
    pool::ensure_defaults(&db, &cfg.pools).await.unwrap();

    type Seen = Vec<(String, String, Option<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let observer: ResponseObserver = Arc::new(move |method, path, headers| {
        log.lock().unwrap().push((
            method.to_string(),
            path.to_string(),
            headers
                .get("sl-violations")
                .map(|v| v.to_str().unwrap_or("<binary>").to_string()),
        ));
    });
    let adapter = CoolifyPlatform::new(
        CoolifyConfig {
            api_url: prism.url.clone(),
            project_uuid: "proj-1".into(),
            server_uuid: "srv-1".into(),
            destination_uuid: Some("dest-1".into()),
            environment_name: Some("production".into()),
            environment_uuid: None,
            token_source: TokenSource::Env,
            app_prefix: DEFAULT_COOLIFY_APP_PREFIX.into(),
        },
        SecretString::from("contract-test-token"),
        Policy {
            max_attempts: 1,
            ..Policy::default()
        },
    )
    .unwrap()
    .with_observer(observer);

    let mut r: SlotRef = slots::of("google-meet", PlatformKind::Coolify)
        .create(&db)
        .await
        .slot_ref();

    assert_eq!(adapter.health().await, Health::Healthy);
    let uuid = adapter
        .create_resource(&r, &made_of())
        .await
        .expect("create");
    r.platform_ref = Some(uuid);
    let bot = BotSpec {
        bot_id: 7,
        meeting_platform: MeetingPlatform::GoogleMeet,
        meeting_url: "https://meet.google.com/abc-defg-hij".into(),
        image: "ghcr.io/payme-works/meeboter-google-meet-bot:latest".into(),
        resources: Default::default(),
        account: None,
        token: berth_core::bot_lease::BotToken::generate(),
    };
    adapter.start(&r, &bot).await.expect("env + start");
    adapter.status(&r).await.expect("status");
    let dep = adapter
        .last_deployment(&r)
        .expect("start returned a deployment");
    adapter
        .deployment_status(&dep)
        .await
        .expect("deployment status");
    adapter
        .describe(&r, "[BUSY] Bot #7 - 2026-11-23T16:00:00Z")
        .await
        .expect("describe");
    adapter.list_owned().await.expect("list");
    adapter.stop(&r).await.expect("stop");
    adapter.delete_resource(&r).await.expect("delete");
    r.platform_ref = None;
    adapter.delete_resource(&r).await.expect("delete by name");

    let seen = seen.lock().unwrap().clone();
    let operations: std::collections::HashSet<(String, String)> = seen
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    for expected in [
        ("GET", "/version"),
        ("GET", "/applications"),
        ("POST", "/applications/dockerimage"),
        ("POST", "/applications/string/start"),
        ("POST", "/applications/string/stop"),
        ("PATCH", "/applications/string/envs/bulk"),
        ("PATCH", "/applications/string"),
        ("GET", "/applications/string"),
        ("DELETE", "/applications/string"),
    ] {
        assert!(
            operations.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} was not exercised: {operations:?}"
        );
    }
    let violations: Vec<_> = seen.iter().filter(|(_, _, v)| v.is_some()).collect();
    assert!(
        violations.is_empty(),
        "Prism found violations: {violations:#?}"
    );

    // The check itself works: a request that breaks the spec is flagged.
    let bad = reqwest::Client::new()
        .post(format!("{}/applications/dockerimage", prism.url))
        .json(&serde_json::json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert!(bad.headers().contains_key("sl-violations"));
}
