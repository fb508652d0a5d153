//! The example Grafana dashboard (`packaging/grafana/berth-dashboard.json`)
//! queries only metric names the code exports (parsed out of its PromQL;
//! a histogram's `_bucket`, `_sum` and `_count` count), and the exported
//! names follow Prometheus' conventions.

#[path = "support/scrape.rs"]
mod scrape;

use berth_core::router::DeployOutcome;
use berth_tests::bots;
use berth_tests::harness;
use scrape::scrape;
use sqlx::PgPool;
use std::collections::BTreeSet;

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
    let bot = bots::zoom(1);
    let o = h.router.create_bot(&bot).await.unwrap();
    assert!(matches!(o, DeployOutcome::Deployed { .. }), "{o:?}");
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
