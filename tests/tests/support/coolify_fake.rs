#![allow(dead_code)] // shared by several test files; each uses part of it
//! A stateful fake of Coolify's v1 API on `wiremock`, for the adapter's
//! flows and fault injection (Prism, used by the contract tests, keeps no
//! state). It keeps applications (name, description, status, envs),
//! answers the endpoints the adapter uses, checks the bearer token, and
//! can be told to fail.

use berth_core::config::{CoolifyConfig, DEFAULT_COOLIFY_APP_PREFIX};
use berth_core::platform::secret::TokenSource;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::{Request, Respond, ResponseTemplate};

/// One fake application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeApp {
    /// Its uuid.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Coolify's status text.
    pub status: String,
    /// Image name and tag.
    pub image: String,
    /// Environment variables.
    pub envs: BTreeMap<String, String>,
}

/// Faults to inject.
#[derive(Debug, Default)]
pub struct Faults {
    /// Every request gets this status (e.g. 503, 401, 403).
    pub all: Option<u16>,
    /// Only `GET /applications` gets this status.
    pub list: Option<u16>,
    /// Only `POST /applications/{uuid}/start` gets this status.
    pub start: Option<u16>,
    /// The next answers (any request), each a status and `Retry-After` value.
    pub next: VecDeque<(u16, Option<String>)>,
    /// The first create is applied but answered after this delay.
    pub slow_create: Option<Duration>,
}

/// The fake's state.
#[derive(Debug, Default)]
pub struct State {
    /// Applications by uuid.
    pub apps: BTreeMap<String, FakeApp>,
    /// Faults to inject.
    pub faults: Faults,
    /// Delete requests' query strings.
    pub deletes: Vec<String>,
    next_id: u32,
}

/// The responder; clone it to inspect the state.
#[derive(Clone)]
pub struct FakeCoolify {
    /// Shared state.
    pub state: Arc<Mutex<State>>,
    token: String,
}

impl FakeCoolify {
    /// A fake accepting `token`.
    pub fn new(token: &str) -> Self {
        FakeCoolify {
            state: Arc::new(Mutex::new(State::default())),
            token: token.to_string(),
        }
    }

    /// Locks the state.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Adds an application directly (as if created outside this test's calls).
    pub fn add(&self, name: &str, description: &str, status: &str) -> String {
        let mut st = self.lock();
        st.next_id += 1;
        let uuid = format!("app{:04}", st.next_id);
        st.apps.insert(
            uuid.clone(),
            FakeApp {
                uuid: uuid.clone(),
                name: name.to_string(),
                description: description.to_string(),
                status: status.to_string(),
                image: "img:1".into(),
                envs: BTreeMap::new(),
            },
        );
        uuid
    }

    fn app_json(a: &FakeApp) -> Value {
        json!({ "uuid": a.uuid, "name": a.name, "description": a.description, "status": a.status })
    }
}

fn msg(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
}

impl Respond for FakeCoolify {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != format!("Bearer {}", self.token) {
            return msg(401, "Unauthenticated.");
        }
        let mut st = self.lock();
        if let Some((status, retry_after)) = st.faults.next.pop_front() {
            let mut r = msg(status, "injected");
            if let Some(ra) = retry_after {
                r = r.insert_header("Retry-After", ra.as_str());
            }
            return r;
        }
        if let Some(status) = st.faults.all {
            return msg(status, "injected failure");
        }
        let path = req.url.path().to_string();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = req.method.as_str();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match (method, parts.as_slice()) {
            ("GET", ["version"]) => ResponseTemplate::new(200).set_body_string("v4.0.0"),
            ("GET", ["applications"]) => {
                if let Some(status) = st.faults.list {
                    return msg(status, "listing failed");
                }
                let list: Vec<Value> = st.apps.values().map(Self::app_json).collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("POST", ["applications", "dockerimage"]) => {
                for k in ["project_uuid", "server_uuid", "docker_registry_image_name"] {
                    if body.get(k).and_then(Value::as_str).is_none() {
                        return msg(422, &format!("{k} is required"));
                    }
                }
                st.next_id += 1;
                let uuid = format!("app{:04}", st.next_id);
                let name = body["name"].as_str().unwrap_or_default().to_string();
                st.apps.insert(
                    uuid.clone(),
                    FakeApp {
                        uuid: uuid.clone(),
                        name,
                        description: body["description"].as_str().unwrap_or_default().into(),
                        status: "exited".into(),
                        image: format!(
                            "{}:{}",
                            body["docker_registry_image_name"]
                                .as_str()
                                .unwrap_or_default(),
                            body["docker_registry_image_tag"]
                                .as_str()
                                .unwrap_or_default()
                        ),
                        envs: BTreeMap::new(),
                    },
                );
                let r = ResponseTemplate::new(201).set_body_json(json!({ "uuid": uuid }));
                match st.faults.slow_create.take() {
                    Some(d) => r.set_delay(d),
                    None => r,
                }
            }
            (_, ["applications", uuid, rest @ ..]) => {
                let uuid = uuid.to_string();
                if !st.apps.contains_key(&uuid) {
                    return msg(404, "Resource not found.");
                }
                match (method, rest) {
                    ("GET", []) => {
                        ResponseTemplate::new(200).set_body_json(Self::app_json(&st.apps[&uuid]))
                    }
                    ("PATCH", []) => {
                        let app = st.apps.get_mut(&uuid).unwrap();
                        if let Some(d) = body.get("description").and_then(Value::as_str) {
                            app.description = d.to_string();
                        }
                        if let Some(name) = body
                            .get("docker_registry_image_name")
                            .and_then(Value::as_str)
                        {
                            let tag = body["docker_registry_image_tag"]
                                .as_str()
                                .unwrap_or("latest");
                            app.image = format!("{name}:{tag}");
                        }
                        ResponseTemplate::new(200).set_body_json(json!({ "uuid": uuid }))
                    }
                    ("DELETE", []) => {
                        st.apps.remove(&uuid);
                        st.deletes
                            .push(req.url.query().unwrap_or_default().to_string());
                        msg(200, "Application deleted.")
                    }
                    ("GET", ["envs"]) => {
                        let list: Vec<Value> = st.apps[&uuid]
                            .envs
                            .iter()
                            .map(|(k, v)| json!({ "key": k, "value": v, "is_preview": false }))
                            .collect();
                        ResponseTemplate::new(200).set_body_json(list)
                    }
                    ("PATCH", ["envs", "bulk"]) => {
                        let app = st.apps.get_mut(&uuid).unwrap();
                        for item in body["data"].as_array().cloned().unwrap_or_default() {
                            app.envs.insert(
                                item["key"].as_str().unwrap_or_default().into(),
                                item["value"].as_str().unwrap_or_default().into(),
                            );
                        }
                        ResponseTemplate::new(201).set_body_json(json!([]))
                    }
                    ("POST", ["start"]) => {
                        if let Some(status) = st.faults.start {
                            return msg(status, "start failed");
                        }
                        st.apps.get_mut(&uuid).unwrap().status = "running:healthy".into();
                        ResponseTemplate::new(200).set_body_json(
                            json!({ "message": "Deployment request queued.", "deployment_uuid": format!("dep-{uuid}") }),
                        )
                    }
                    ("POST", ["stop"]) => {
                        st.apps.get_mut(&uuid).unwrap().status = "exited".into();
                        msg(200, "Application stopping request queued.")
                    }
                    _ => msg(400, "unexpected request"),
                }
            }
            ("GET", ["deployments", uuid]) => ResponseTemplate::new(200)
                .set_body_json(json!({ "deployment_uuid": uuid, "status": "finished" })),
            _ => msg(400, "unexpected request"),
        }
    }
}

/// The adapter's configuration against a fake served at `url`: the
/// project, server and environment the tests' applications belong to.
pub fn config(url: &str) -> CoolifyConfig {
    CoolifyConfig {
        api_url: url.to_string(),
        project_uuid: "proj-1".into(),
        server_uuid: "srv-1".into(),
        destination_uuid: None,
        environment_name: Some("production".into()),
        environment_uuid: None,
        token_source: TokenSource::Env,
        app_prefix: DEFAULT_COOLIFY_APP_PREFIX.into(),
    }
}
