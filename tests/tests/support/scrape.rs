#![allow(dead_code)] // shared by several test files; each uses part of it
//! A `/metrics` scrape of an instance, as text and parsed with a
//! Prometheus text-format parser (prometheus-parse: independent of the
//! client that wrote it). Shared by the metrics and dashboard tests.

use berth_core::{metrics, Berth};
use prometheus_parse::{Sample, Scrape, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One scrape, as text and parsed.
pub struct Scraped {
    /// The text.
    pub text: String,
    /// Parsed.
    pub parsed: Scrape,
}

/// Scrapes `berth` (its `/metrics` body).
pub async fn scrape(berth: &Berth) -> Scraped {
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
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.parsed.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The sum of `name`'s samples whose labels include `labels` (0 when none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| number(&s.value)).sum()
    }

    /// The one sample of `name` with `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        number(&found[0].value)
    }

    /// Every family name with its type, as the `# TYPE` lines declare them.
    pub fn families(&self) -> BTreeMap<String, String> {
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
    pub fn series_names(&self) -> BTreeSet<String> {
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
