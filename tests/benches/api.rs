//! The HTTP API's throughput beside one-shot CLI processes doing the same
//! work, in one run (a benchmark, not a test: `harness = false`).
//!
//! ```text
//! cargo build --release -p berth            # the CLI compared against
//! DATABASE_URL=postgres://... cargo bench -p berth-tests --bench api [-- --quick]
//! ```
//!
//! A fresh database `berth_apibench_<random>` gets an instance (simulated
//! platforms with no latency, one platform with room for 200 bots) serving
//! the API on 127.0.0.1:0. For 1, 8 and 32 concurrent clients, 200 bots are
//! created through `POST /v1/bots` (each takes a free slot; every bot is
//! then ended, outside the measurement, to free them again), and the
//! creates per second and p50/p99 latency are printed; then 200 status
//! reports (`POST /v1/bots/{id}/status` with each bot's own token) at 8
//! clients; then the same creates through `berth --dev bots create`, one
//! process after another. The target: the API's best creates per second
//! at least 10× the CLI's. A missed target is a warning (shared machines
//! are noisy); errors exit non-zero.

use berth_core::actor::Actor;
use berth_core::lifecycle;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::sim;
use berth_core::token::{self, Scope};
use berth_tests::database::with_database;
use berth_tests::{database_url_of, harness};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

const BOTS: usize = 200;
const CLIENTS: [usize; 3] = [1, 8, 32];
const TARGET_OVER_CLI: f64 = 10.0;

/// Latencies of one run, and its rate.
struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn summarise(mut ms: Vec<f64>, took: Duration) -> Run {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Run {
        per_second: ms.len() as f64 / took.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

fn print(what: &str, r: &Run) {
    println!(
        "{what:<34} {:>9.1}/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        r.per_second, r.p50_ms, r.p99_ms
    );
}

/// `n` requests shared by `clients` tasks started together; `request(i)`
/// makes the i-th and returns when it is answered.
async fn load<F, Fut>(clients: usize, n: usize, request: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let request = Arc::new(request);
    let barrier = Arc::new(Barrier::new(clients + 1));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (request, barrier, next) = (request.clone(), barrier.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut ms = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    return ms;
                }
                let t = Instant::now();
                request(i).await;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    summarise(all, started.elapsed())
}

fn berth_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BERTH_BIN") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("berth"))
        .find(|p| p.exists())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let admin_url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let name = format!("berth_apibench_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let result = bench(&admin_url, &name, quick).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    result
}

async fn bench(admin_url: &str, name: &str, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut url = with_database(admin_url, name);
    let db = PgPoolOptions::new()
        .max_connections(48)
        .connect(&url)
        .await?;
    sqlx::migrate!("../migrations").run(&db).await?;
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "200"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("POOL_ZOOM_MAX_SIZE", "200"),
    ];
    let h = harness(db.clone(), &env, false).await;
    url = database_url_of(&db);
    let api = berth_api::Api::bind(
        berth_api::ApiState::new(h.router.clone()),
        "127.0.0.1:0".parse()?,
        None,
    )
    .await?;
    let base = format!("http://{}", api.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(api.run(async move {
        let _ = stopped.await;
    }));
    let product = token::create(&db, "bench", Scope::BotsWrite, &Actor::cli())
        .await?
        .token;
    // reqwest is built without a TLS provider (the core's choice): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let n = if quick { BOTS / 4 } else { BOTS };

    let create = {
        let (http, base, product) = (http.clone(), base.clone(), product.clone());
        move |i: usize| {
            let (http, base, product) = (http.clone(), base.clone(), product.clone());
            async move {
                let r = http
                    .post(format!("{base}/v1/bots"))
                    .bearer_auth(&product)
                    .json(&json!({"meetingPlatform": "zoom", "meetingUrl": format!("https://zoom.us/j/{i}")}))
                    .send()
                    .await
                    .expect("answered");
                assert_eq!(
                    r.status(),
                    reqwest::StatusCode::CREATED,
                    "{}",
                    r.text().await.unwrap_or_default()
                );
            }
        }
    };
    let end_all = |db: sqlx::PgPool, router: berth_core::router::Router| async move {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM bots WHERE status NOT IN ('DONE', 'FATAL')")
                .fetch_all(&db)
                .await
                .expect("bots");
        for id in ids {
            lifecycle::report(&router, &Actor::system("bench"), id, BotStatus::Done, None)
                .await
                .expect("ended");
        }
    };

    println!("berth API vs one-shot CLI: {n} creates per run, one platform with room for 200");
    // Warm-up: the first run creates the slots; later runs reuse them.
    load(8, n, create.clone()).await;
    end_all(db.clone(), h.router.clone()).await;
    let mut best = 0.0_f64;
    for clients in CLIENTS {
        let r = load(clients, n, create.clone()).await;
        print(&format!("API creates, {clients:>2} clients"), &r);
        best = best.max(r.per_second);
        if clients != *CLIENTS.last().unwrap() {
            end_all(db.clone(), h.router.clone()).await;
        }
    }

    // Status reports, each with its bot's own token.
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM bots WHERE status = 'DEPLOYING' OR status = 'JOINING_CALL' ORDER BY id",
    )
    .fetch_all(&db)
    .await?;
    let mut tokens = Vec::new();
    for id in &ids {
        let env = sim::workload_env(&db, PlatformKind::K8s, *id)
            .await?
            .ok_or("a running workload")?;
        tokens.push((*id, env["BERTH_BOT_TOKEN"].clone()));
    }
    let tokens = Arc::new(tokens);
    let report = {
        let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
        move |i: usize| {
            let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
            async move {
                let (id, token) = &tokens[i];
                let r = http
                    .post(format!("{base}/v1/bots/{id}/status"))
                    .bearer_auth(token)
                    .json(&json!({"status": "IN_CALL"}))
                    .send()
                    .await
                    .expect("answered");
                assert!(
                    r.status().is_success(),
                    "{}",
                    r.text().await.unwrap_or_default()
                );
            }
        }
    };
    print(
        "API status reports, 8 clients",
        &load(8, tokens.len(), report).await,
    );
    end_all(db.clone(), h.router.clone()).await;

    // The same creates through one-shot CLI processes, one after another.
    let Some(berth) = berth_binary() else {
        println!("no berth binary (cargo build --release -p berth, or BERTH_BIN): CLI comparison skipped");
        return stop_serving(stop, serving).await;
    };
    let cli_n = (n / 5).max(10);
    let mut ms = Vec::new();
    let started = Instant::now();
    for i in 0..cli_n {
        let t = Instant::now();
        let out = tokio::process::Command::new(&berth)
            .args([
                "--dev",
                "bots",
                "create",
                "--meeting-platform",
                "zoom",
                "--meeting-url",
            ])
            .arg(format!("https://zoom.us/j/cli{i}"))
            .env("DATABASE_URL", &url)
            .output()
            .await?;
        if !out.status.success() {
            return Err(format!(
                "berth bots create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cli = summarise(ms, started.elapsed());
    print(
        &format!("CLI creates ({}), 1 process at a time", berth.display()),
        &cli,
    );
    let ratio = best / cli.per_second;
    println!("API best / CLI: {ratio:.1}x (target at least {TARGET_OVER_CLI}x)");
    if ratio < TARGET_OVER_CLI {
        println!("WARN: below the target");
    }
    stop_serving(stop, serving).await
}

async fn stop_serving(
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<berth_core::Result<()>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let _ = stop.send(());
    serving.await??;
    Ok(())
}
