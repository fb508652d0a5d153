#![allow(dead_code)] // shared by several test files; each uses part of it
//! A webhook receiver for the tests: a real HTTP server (wiremock) that is
//! up (answers 204 and records the request), down (503) or hanging; the
//! Standard Webhooks signature check, written independently of the core;
//! and the per-bot order check.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One request the receiver acknowledged (answered 2xx).
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// A receiver that is up (answers 204 and records the request), down
/// (answers 503) or hanging (answers only after an hour).
#[derive(Clone, Default)]
pub struct Receiver {
    pub down: Arc<AtomicBool>,
    pub hang: Arc<AtomicBool>,
    pub acked: Arc<Mutex<Vec<Got>>>,
}

impl Respond for Receiver {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        if self.hang.load(Ordering::SeqCst) {
            return ResponseTemplate::new(204).set_delay(Duration::from_secs(3600));
        }
        if self.down.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503);
        }
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        self.acked.lock().unwrap().push(Got {
            path: r.url.path().to_string(),
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or(-1),
            signature: header("webhook-signature"),
            body: String::from_utf8_lossy(&r.body).into_owned(),
        });
        ResponseTemplate::new(204)
    }
}

impl Receiver {
    pub async fn start() -> (Receiver, MockServer) {
        let receiver = Receiver::default();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(receiver.clone())
            .mount(&server)
            .await;
        (receiver, server)
    }

    pub fn acked(&self) -> Vec<Got> {
        self.acked.lock().unwrap().clone()
    }
}

/// The Standard Webhooks check, written here independently of the core:
/// HMAC-SHA256 keyed with the base64 after `whsec_`, over `id.timestamp.body`.
pub fn signed_with(secret: &str, got: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.id, got.timestamp, got.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    got.signature.split(' ').any(|s| s == expected)
}

/// Per bot, its `bot.state_changed` events in the order they arrived, each
/// `from` the previous `to`, starting from creation (`from: null`).
pub fn assert_in_order_per_bot(acked: &[Got], bots: &[i64]) {
    let mut chains: HashMap<i64, Vec<(Value, Value)>> = HashMap::new();
    for g in acked {
        let j = g.json();
        if j["type"] == "bot.state_changed" {
            let d = &j["data"];
            chains
                .entry(d["botId"].as_i64().unwrap())
                .or_default()
                .push((d["from"].clone(), d["to"].clone()));
        }
    }
    for bot in bots {
        let chain = &chains[bot];
        assert_eq!(chain[0].0, Value::Null, "bot {bot} starts at its creation");
        for w in chain.windows(2) {
            assert_eq!(w[1].0, w[0].1, "bot {bot}: {chain:?}");
        }
        assert_eq!(chain.last().unwrap().1, "DONE", "bot {bot}: {chain:?}");
    }
}
