//! A served HTTP API over a harness instance, with a real client: what
//! the API's tests share.

#![allow(dead_code)]

use berth_api::{Api, ApiState};
use berth_core::actor::Actor;
use berth_core::token::{self, Scope};
use berth_tests::{harness, three_platforms, Harness};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::net::SocketAddr;

/// A served API over a harness, with a client.
pub struct Served {
    pub h: Harness,
    pub base: String,
    pub http: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<berth_core::Result<()>>>,
}

impl Served {
    pub async fn start(db: PgPool, env: &[(&str, &str)]) -> Served {
        let h = harness(db, env, false).await;
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let api = Api::bind(ApiState::new(h.router.clone()), any, None)
            .await
            .expect("bound");
        let base = format!("http://{}", api.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(api.run(async move {
            let _ = stopped.await;
        }));
        let _ = rustls::crypto::ring::default_provider().install_default();
        Served {
            h,
            base,
            http: Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A new token of `scope` named `name`.
    pub async fn token(&self, name: &str, scope: Scope) -> String {
        token::create(&self.h.db, name, scope, &Actor::cli())
            .await
            .expect("token created")
            .token
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        read(
            self.req(Method::GET, path, Some(token))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        read(
            self.req(Method::POST, path, Some(token))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn create(&self, token: &str, body: &Value) -> Value {
        let (status, bot) = self.post("/v1/bots", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{bot}");
        bot
    }

    pub async fn bots(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bots")
            .fetch_one(&self.h.db)
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task
            .take()
            .unwrap()
            .await
            .unwrap()
            .expect("stopped cleanly");
    }
}

pub async fn read(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// The refusal's code, checking the body is exactly `{"error":{"code","message"}}`.
pub fn code(body: &Value) -> &str {
    let e = &body["error"];
    assert!(
        body.as_object().is_some_and(|o| o.len() == 1)
            && e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a refusal body: {body}"
    );
    e["code"].as_str().expect("a code")
}

pub fn zoom(n: u32) -> Value {
    json!({"meetingPlatform": "zoom", "meetingUrl": format!("https://zoom.us/j/{n}")})
}

/// One bot per platform, no platform waits: the fourth bot queues.
pub fn small() -> Vec<(&'static str, &'static str)> {
    three_platforms("1", ["0", "0", "0"])
}
