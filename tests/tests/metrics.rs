//! Prometheus metrics (issue 13): a scrape, parsed with a Prometheus
//! text-format parser, agrees with the read models `berth status` and
//! `berth queue` print; dispatches, failures (by kind), deploy durations
//! and waits for capacity are counted where they happen; leadership and
//! the change feed's lag are this instance's own; the example Grafana
//! dashboard queries only names the code exports.

use berth_core::clock::Clock;
use berth_core::config::EnvConfig;
use berth_core::feed::{ChangeEvent, Topic};
use berth_core::meeting::{BotStatus, MeetingPlatform, PlatformKind};
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::{
    BotSpec, FailureKind, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload,
};
use berth_core::router::{DeployOutcome, NewBot};
use berth_core::{metrics, overview, pool, slot, Berth, Database};
use berth_tests::{eventually, harness, harness_on, Harness};
use chrono::Duration;
use prometheus_parse::{Sample, Scrape, Value};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One scrape, as text and parsed.
struct Scraped {
    text: String,
    parsed: Scrape,
}

async fn scrape(berth: &Berth) -> Scraped {
    let text = metrics::render(berth).await.expect("a scrape");
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parsable");
    Scraped { text, parsed }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        other => panic!("not a single number: {other:?}"),
    }
}

impl Scraped {
    /// The samples of `name` whose labels include `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.parsed.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The sum of `name`'s samples whose labels include `labels` (0 when none).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| number(&s.value)).sum()
    }

    /// The one sample of `name` with `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        number(&found[0].value)
    }

    /// Every family name with its type, as the `# TYPE` lines declare them.
    fn families(&self) -> BTreeMap<String, String> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| {
                let (name, kind) = l.split_once(' ').expect("name and type");
                (name.to_string(), kind.to_string())
            })
            .collect()
    }

    /// Every series name a query may use: the families, and for a
    /// histogram its `_bucket`, `_sum` and `_count`.
    fn series_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for (name, kind) in self.families() {
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            names.insert(name);
        }
        names
    }
}

fn zoom(n: u32) -> NewBot {
    NewBot {
        meeting_platform: MeetingPlatform::Zoom,
        meeting_url: format!("https://zoom.us/j/{n}"),
        priority: None,
        queue_timeout_ms: Some(600_000),
        pool: None,
    }
}

fn meet() -> NewBot {
    NewBot {
        meeting_platform: MeetingPlatform::GoogleMeet,
        meeting_url: "https://meet.google.com/abc-defg-hij".into(),
        priority: None,
        queue_timeout_ms: Some(600_000),
        pool: None,
    }
}

fn failing() -> SimKnobs {
    SimKnobs {
        failure_rate: 1.0,
        ..SimKnobs::default()
    }
}

fn deployed(o: &DeployOutcome) -> i64 {
    match o {
        DeployOutcome::Deployed { bot_id, .. } => *bot_id,
        other => panic!("not deployed: {other:?}"),
    }
}

fn queued(o: &DeployOutcome) {
    assert!(
        matches!(o, DeployOutcome::Queued { .. }),
        "not queued: {o:?}"
    );
}

/// k8s (limit 2) then aws (limit 2), no platform waits.
fn two_platforms() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PLATFORM_PRIORITY", "k8s,aws"),
        ("K8S_BOT_LIMIT", "2"),
        ("AWS_BOT_LIMIT", "2"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("AWS_QUEUE_TIMEOUT_MS", "0"),
    ]
}

#[sqlx::test(migrations = "../migrations")]
async fn a_scrape_counts_slots_queue_and_platforms_as_berth_status_does(db: PgPool) {
    let h = harness(db, &two_platforms(), false).await;
    // Two zoom bots run on k8s; aws fails every start: the meet bot's slot
    // there ends in error and the bot queues, as does a third zoom bot.
    deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    deployed(&h.router.create_bot(&zoom(2)).await.unwrap());
    sim::set_knobs(&h.db, PlatformKind::Aws, &failing())
        .await
        .unwrap();
    queued(&h.router.create_bot(&meet()).await.unwrap());
    queued(&h.router.create_bot(&zoom(3)).await.unwrap());

    let m = scrape(&h.instance).await;
    let now = h.clock.now();
    let status = overview::status(&h.db, now, None).await.unwrap();
    let queue = overview::queue(&h.db, now).await.unwrap();

    // Pools: every state, as berth status' Pools table counts it.
    assert!(status.pools.len() >= 2, "{:?}", status.pools);
    for p in &status.pools {
        let pool = p.pool.as_str();
        for (state, n) in [
            ("idle", p.idle),
            ("deploying", p.deploying),
            ("busy", p.busy),
            ("error", p.error),
        ] {
            let got = m.sum("berth_slots", &[("pool", pool), ("state", state)]);
            assert_eq!(got, n as f64, "pool {pool} {state}");
        }
        assert_eq!(m.sum("berth_slots", &[("pool", pool)]), p.total as f64);
        assert_eq!(
            m.value("berth_pool_max_slots", &[("pool", pool)]),
            p.max_size as f64
        );
    }
    // Platforms: slots, used capacity, limit and health.
    for o in &status.platforms.platforms {
        let platform = o.settings.platform.as_str();
        for (state, n) in [
            ("idle", o.slots.idle),
            ("deploying", o.slots.deploying),
            ("busy", o.slots.busy),
            ("error", o.slots.error),
        ] {
            let got = m.sum("berth_slots", &[("platform", platform), ("state", state)]);
            assert_eq!(got, n as f64, "platform {platform} {state}");
        }
        let used = m.value("berth_platform_active_bots", &[("platform", platform)]);
        assert_eq!(used, o.used as f64, "{platform}");
        if let Some(limit) = o.settings.bot_limit {
            let got = m.value("berth_platform_bot_limit", &[("platform", platform)]);
            assert_eq!(got, f64::from(limit));
        }
        let health = [("platform", platform), ("state", o.health.as_str())];
        assert_eq!(m.value("berth_platform_health", &health), 1.0);
        assert_eq!(
            m.sum("berth_platform_health", &[("platform", platform)]),
            1.0
        );
    }
    // The queue, as berth status' length and berth queue's entries.
    assert_eq!(m.sum("berth_queue_depth", &[]), status.queue.length as f64);
    let mut per_pool: HashMap<&str, f64> = HashMap::new();
    for w in &queue.entries {
        *per_pool.entry(w.entry.pool.as_str()).or_default() += 1.0;
    }
    for p in &status.pools {
        let want = per_pool.get(p.pool.as_str()).copied().unwrap_or(0.0);
        let got = m.value("berth_queue_depth", &[("pool", &p.pool)]);
        assert_eq!(got, want, "queue of {}", p.pool);
    }

    // And the numbers this scenario makes, so both sides cannot agree on nonsense.
    let zoom_pool = pool::for_meeting_platform(&h.db, MeetingPlatform::Zoom)
        .await
        .unwrap()
        .name;
    let meet_pool = pool::for_meeting_platform(&h.db, MeetingPlatform::GoogleMeet)
        .await
        .unwrap()
        .name;
    let busy = [
        ("pool", zoom_pool.as_str()),
        ("platform", "k8s"),
        ("state", "busy"),
    ];
    assert_eq!(m.value("berth_slots", &busy), 2.0);
    let error = [
        ("pool", meet_pool.as_str()),
        ("platform", "aws"),
        ("state", "error"),
    ];
    assert_eq!(m.value("berth_slots", &error), 1.0);
    let idle = [
        ("pool", meet_pool.as_str()),
        ("platform", "k8s"),
        ("state", "idle"),
    ];
    assert_eq!(m.value("berth_slots", &idle), 0.0, "zeros are exported");
    assert_eq!(m.sum("berth_queue_depth", &[]), 2.0);
    assert_eq!(m.value("berth_queue_depth", &[("pool", &zoom_pool)]), 1.0);
    assert_eq!(m.value("berth_queue_depth", &[("pool", &meet_pool)]), 1.0);
    assert_eq!(
        m.value("berth_platform_active_bots", &[("platform", "k8s")]),
        2.0
    );
    assert_eq!(
        m.value("berth_leader", &[]),
        0.0,
        "no background: not leading"
    );
    let id = h.instance.id.to_string();
    assert_eq!(
        m.value("berth_instance_info", &[("instance_id", id.as_str())]),
        1.0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn dispatches_failures_deploy_durations_and_waits_are_counted(db: PgPool) {
    let env = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "1"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
    ];
    let h = harness(db, &env, false).await;
    let m = scrape(&h.instance).await;
    let families = m.families();
    for (name, kind) in [
        ("berth_dispatches_total", "counter"),
        ("berth_dispatch_failures_total", "counter"),
        ("berth_deploy_duration_seconds", "histogram"),
        ("berth_queue_wait_seconds", "histogram"),
    ] {
        assert_eq!(families.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert_eq!(m.sum("berth_dispatches_total", &[]), 0.0);
    let pool = pool::for_meeting_platform(&h.db, MeetingPlatform::Zoom)
        .await
        .unwrap()
        .name;
    let k8s = [("platform", "k8s")];
    let in_pool = [("pool", pool.as_str())];

    // Deployed at once: one dispatch, one start, a wait of 0.
    let first = deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    let m = scrape(&h.instance).await;
    assert_eq!(m.value("berth_dispatches_total", &k8s), 1.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 1.0);
    assert_eq!(m.value("berth_queue_wait_seconds_count", &in_pool), 1.0);
    assert_eq!(m.value("berth_queue_wait_seconds_sum", &in_pool), 0.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 0.0);

    // Queued for 30 s (on the test's clock) until the first one ends.
    queued(&h.router.create_bot(&zoom(2)).await.unwrap());
    h.clock.advance(Duration::seconds(30));
    h.router.finish(first, BotStatus::Done, None).await.unwrap();
    assert_eq!(h.dispatcher.drain().await.unwrap().deployed, 1);
    let m = scrape(&h.instance).await;
    assert_eq!(m.value("berth_dispatches_total", &k8s), 2.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 2.0);
    assert_eq!(m.value("berth_queue_wait_seconds_count", &in_pool), 2.0);
    assert_eq!(m.value("berth_queue_wait_seconds_sum", &in_pool), 30.0);
    let buckets = m
        .matching("berth_queue_wait_seconds", &in_pool)
        .map(|s| match &s.value {
            Value::Histogram(b) => b.clone(),
            other => panic!("{other:?}"),
        })
        .next()
        .expect("the pool's histogram");
    let le = |bound: f64| buckets.iter().find(|c| c.less_than == bound).unwrap().count;
    assert_eq!(
        (le(0.01), le(10.0), le(30.0)),
        (1.0, 1.0, 2.0),
        "{buckets:?}"
    );

    // A failed start: counted by its kind (the simulator's is `other`),
    // not observed as a deploy duration.
    let running = slot::list(&h.db, &slot::SlotFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find_map(|s| s.assigned_bot_id)
        .expect("the second bot runs");
    h.router
        .finish(running, BotStatus::Done, None)
        .await
        .unwrap();
    sim::set_knobs(&h.db, PlatformKind::K8s, &failing())
        .await
        .unwrap();
    let before = scrape(&h.instance).await;
    let _ = h.router.create_bot(&zoom(3)).await.unwrap();
    let m = scrape(&h.instance).await;
    assert_eq!(
        m.value("berth_dispatches_total", &k8s),
        before.value("berth_dispatches_total", &k8s) + 1.0
    );
    let other = [("platform", "k8s"), ("kind", "other")];
    assert_eq!(m.value("berth_dispatch_failures_total", &other), 1.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 1.0);
    assert_eq!(m.value("berth_deploy_duration_seconds_count", &k8s), 2.0);
}

/// The simulator, except that every start is refused as an unauthenticated
/// call and, once one was, the breaker reads open (as a real adapter's
/// would after its threshold).
struct Refusing {
    inner: Arc<dyn Platform>,
    refused: AtomicBool,
}

#[async_trait::async_trait]
impl Platform for Refusing {
    fn kind(&self) -> PlatformKind {
        self.inner.kind()
    }
    async fn pull_image(&self, image: &str) -> Result<(), PlatformError> {
        self.inner.pull_image(image).await
    }
    async fn create_resource(
        &self,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        self.inner.create_resource(slot, spec).await
    }
    async fn start(&self, _: &SlotRef, _: &BotSpec) -> Result<Option<String>, PlatformError> {
        self.refused.store(true, Ordering::SeqCst);
        Err(PlatformError {
            platform: self.kind(),
            operation: "start",
            kind: FailureKind::Unauthenticated,
            message: "401: the token was refused".into(),
        })
    }
    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        self.inner.stop(slot).await
    }
    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        self.inner.delete_resource(slot).await
    }
    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        self.inner.describe(slot, description).await
    }
    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        self.inner.list().await
    }
    async fn health(&self) -> Health {
        self.inner.health().await
    }
    fn unavailable(&self) -> Option<String> {
        self.refused
            .load(Ordering::SeqCst)
            .then(|| "401: the token was refused".to_string())
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_platform_failure_is_counted_by_its_kind_and_its_breaker_shows(db: PgPool) {
    let refusing = Arc::new(Refusing {
        inner: Arc::new(SimPlatform::new(
            PlatformKind::Aws,
            db.clone(),
            berth_core::clock::ManualClock::starting_now(),
        )),
        refused: AtomicBool::new(false),
    });
    let adapter: Arc<dyn Platform> = refusing.clone();
    let h: Harness = harness_on(db, &two_platforms(), false, |kind| {
        (kind == PlatformKind::Aws).then(|| adapter.clone())
    })
    .await;
    let m = scrape(&h.instance).await;
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "aws")]),
        0.0
    );
    // k8s is full: the third bot goes to aws, which refuses it.
    deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    deployed(&h.router.create_bot(&zoom(2)).await.unwrap());
    queued(&h.router.create_bot(&zoom(3)).await.unwrap());

    let m = scrape(&h.instance).await;
    let refused = [("platform", "aws"), ("kind", "unauthenticated")];
    assert_eq!(m.value("berth_dispatch_failures_total", &refused), 1.0);
    assert_eq!(m.sum("berth_dispatch_failures_total", &[]), 1.0);
    assert_eq!(
        m.value("berth_dispatches_total", &[("platform", "aws")]),
        1.0
    );
    assert_eq!(
        m.value("berth_dispatches_total", &[("platform", "k8s")]),
        2.0
    );
    assert_eq!(
        m.sum(
            "berth_deploy_duration_seconds_count",
            &[("platform", "aws")]
        ),
        0.0
    );
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "aws")]),
        1.0
    );
    assert_eq!(
        m.value("berth_platform_breaker_open", &[("platform", "k8s")]),
        0.0
    );
    // The open breaker was recorded for every instance: aws reads down.
    let down = [("platform", "aws"), ("state", "down")];
    assert_eq!(m.value("berth_platform_health", &down), 1.0);
}

/// An instance with its background services (leadership) and feed, on
/// the simulator with starts that always succeed.
async fn serving(url: &str) -> Berth {
    let vars: HashMap<&str, &str> = [
        ("PLATFORM_PRIORITY", "k8s"),
        ("K8S_BOT_LIMIT", "5"),
        ("K8S_QUEUE_TIMEOUT_MS", "0"),
        ("POOL_PREWARM_COUNT", "0"),
        ("BERTH_LEADER_LEASE_MS", "3000"),
    ]
    .into_iter()
    .collect();
    let config = EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), true).unwrap();
    Berth::builder(config)
        .database(Database::Url(url.to_string()))
        .background(true)
        .max_connections(8)
        .start()
        .await
        .unwrap()
}

/// Waits for the feed event of `origin`'s notice on `rx` (the listener
/// observes a notice's lag before it delivers its event).
async fn delivered(rx: &mut tokio::sync::broadcast::Receiver<ChangeEvent>, origin: uuid::Uuid) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(ChangeEvent::Changed { origin: o, topics }) if o == origin => {
                    if topics.contains(&Topic::Queue) {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("feed closed: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), wait)
        .await
        .expect("the notice arrives");
}

#[sqlx::test(migrations = "../migrations")]
async fn leadership_feed_lag_and_counts_are_each_instances_own(db: PgPool) {
    let url = berth_tests::database_url_of(&db);
    sim::set_knobs(&db, PlatformKind::K8s, &SimKnobs::default())
        .await
        .unwrap();
    let a = serving(&url).await;
    let b = serving(&url).await;
    let (mut on_a, mut on_b) = (a.router().feed().subscribe(), b.router().feed().subscribe());
    eventually(
        "one instance leads",
        std::time::Duration::from_secs(15),
        || async { a.is_leader() || b.is_leader() },
    )
    .await;
    let (leader, other) = if a.is_leader() { (&a, &b) } else { (&b, &a) };
    assert_eq!(scrape(leader).await.value("berth_leader", &[]), 1.0);
    assert_eq!(scrape(other).await.value("berth_leader", &[]), 0.0);

    // A deploy through one instance's router counts there only.
    deployed(&a.router().create_bot(&zoom(1)).await.unwrap());
    let (ma, mb) = (scrape(&a).await, scrape(&b).await);
    assert_eq!(
        ma.value("berth_dispatches_total", &[("platform", "k8s")]),
        1.0
    );
    assert_eq!(mb.sum("berth_dispatches_total", &[]), 0.0);
    let id_a = a.id.to_string();
    assert_eq!(
        ma.value("berth_instance_info", &[("instance_id", id_a.as_str())]),
        1.0
    );
    assert_eq!(
        mb.sum("berth_instance_info", &[("instance_id", &id_a)]),
        0.0
    );

    // A's notice: local lag on A, peer lag on B.
    let lag =
        |m: &Scraped, origin: &str| m.sum("berth_feed_lag_seconds_count", &[("origin", origin)]);
    let (local_before, peer_before) = (lag(&ma, "local"), lag(&mb, "peer"));
    a.router().feed().publish(&[Topic::Queue]);
    delivered(&mut on_a, a.id).await;
    delivered(&mut on_b, a.id).await;
    let (ma, mb) = (scrape(&a).await, scrape(&b).await);
    assert!(lag(&ma, "local") > local_before, "{}", ma.text);
    assert!(lag(&mb, "peer") > peer_before, "{}", mb.text);

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// The metric names a PromQL expression uses: identifiers outside label
/// matchers (`{...}`), ranges (`[...]`) and strings that are not
/// functions, aggregations, keywords or the label lists of `by`,
/// `without`, `on`, `ignoring`, `group_left` and `group_right`.
fn metric_names(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    // Skips from an opening bracket to its closing one (strings inside included).
    let skip = |mut i: usize, open: char, close: char| -> usize {
        let mut depth = 0;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some(_) if c == '\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                None => {}
            }
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i = skip(i, '{', '}');
        } else if c == '[' {
            i = skip(i, '[', ']');
        } else if c == '"' || c == '\'' || c == '`' {
            let end = chars[i + 1..].iter().position(|x| *x == c).unwrap_or(0);
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            // `sum by (...)`, `max without (...)`: an aggregation.
            let rest: String = chars[next..].iter().collect();
            let aggregation = ["by", "without"].iter().any(|g| {
                rest.strip_prefix(g)
                    .is_some_and(|r| r.trim_start().starts_with('('))
            });
            if GROUPING.contains(&word.as_str()) {
                if call {
                    i = skip(next, '(', ')');
                }
            } else if !call && !aggregation && !KEYWORDS.contains(&word.as_str()) {
                names.push(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn promql_metric_names_are_read_out_of_expressions() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.95, sum by (le, platform) (rate(berth_a_bucket{pool=~"$pool", x="y}"}[$__rate_interval])))"#
        ),
        ["berth_a_bucket"]
    );
    assert_eq!(
        metric_names(
            "sum by (p) (rate(a_total[5m])) / on (p) group_left () max(b) > 0.5 and c offset 5m"
        ),
        ["a_total", "b", "c"]
    );
    assert_eq!(
        metric_names("berth_x * on (instance) (berth_y == 1)"),
        ["berth_x", "berth_y"]
    );
}

/// Every query string of a Grafana dashboard: panel targets' `expr` and
/// query variables' `definition` (`label_values(metric, label)` names its
/// metric first).
fn queries(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("definition", serde_json::Value::String(s)) => {
                        let metric = s
                            .strip_prefix("label_values(")
                            .and_then(|r| r.split(',').next())
                            .unwrap_or(s);
                        out.push(metric.trim().to_string());
                    }
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| queries(i, out)),
        _ => {}
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_grafana_dashboard_queries_only_metrics_the_code_exports(db: PgPool) {
    let h = harness(db, &two_platforms(), false).await;
    let exported = scrape(&h.instance).await.series_names();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/grafana/berth-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).expect("JSON");
    let mut all = Vec::new();
    queries(&dashboard, &mut all);
    assert!(all.len() >= 10, "the dashboard's queries: {all:?}");
    let mut used = BTreeSet::new();
    for q in &all {
        let names = metric_names(q);
        assert!(!names.is_empty(), "a query with no metric: {q}");
        for n in names {
            assert!(
                exported.contains(&n),
                "{q}: {n} is not exported (exported: {exported:?})"
            );
            used.insert(n);
        }
    }
    // The issue's list of metrics is on the dashboard.
    for must in [
        "berth_slots",
        "berth_queue_depth",
        "berth_queue_wait_seconds_bucket",
        "berth_deploy_duration_seconds_bucket",
        "berth_dispatches_total",
        "berth_dispatch_failures_total",
        "berth_platform_breaker_open",
        "berth_platform_health",
        "berth_feed_lag_seconds_bucket",
        "berth_leader",
    ] {
        assert!(used.contains(must), "the dashboard shows no {must}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn exported_names_follow_prometheus_conventions(db: PgPool) {
    let h = harness(db, &two_platforms(), false).await;
    deployed(&h.router.create_bot(&zoom(1)).await.unwrap());
    let m = scrape(&h.instance).await;
    let families = m.families();
    assert!(families.len() >= 15, "{families:?}");
    let snake = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    for (name, kind) in &families {
        assert!(name.starts_with("berth_") && snake(name), "{name}");
        assert!(
            m.parsed.docs.contains_key(name.as_str()),
            "{name} has no HELP"
        );
        match kind.as_str() {
            "counter" => assert!(name.ends_with("_total"), "{name}"),
            "histogram" => assert!(name.ends_with("_seconds"), "{name}: base unit"),
            "gauge" => assert!(!name.ends_with("_total"), "{name}"),
            other => panic!("{name}: unexpected type {other}"),
        }
    }
    for s in &m.parsed.samples {
        for label in s.labels.keys() {
            assert!(snake(label), "{}: label {label}", s.metric);
        }
    }
}
