//! The deployment files: `deploy/kubernetes/berth.yaml` parsed into
//! k8s-openapi types (a field the types do not know fails: the document
//! must survive the round trip unchanged), checked for what `berth serve`
//! needs, applied to the kmock emulator and read back; and the `Dockerfile`
//! checked to run the same command on the same port as the same user.
//!
//! No container engine or real cluster is involved: kmock stores what it is
//! given without validating it, so the typed parse is the schema check.

use berth_tests::emulators;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::serde::de::DeserializeOwned;
use k8s_openapi::serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

fn repo_file(path: &str) -> String {
    let at = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&at).unwrap_or_else(|e| panic!("{}: {e}", at.display()))
}

/// Every document of the manifest file, as written.
fn documents() -> Vec<Value> {
    serde_saphyr::from_multiple(&repo_file("deploy/kubernetes/berth.yaml"))
        .expect("deploy/kubernetes/berth.yaml is YAML")
}

/// `doc` as `K`, refused unless it serialises back to exactly `doc` (a
/// misspelt or misplaced field would be dropped by the type).
fn typed<K: DeserializeOwned + Serialize>(doc: &Value) -> K {
    let what = format!("{} {}", doc["kind"], doc["metadata"]["name"]);
    let k: K = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        &serde_json::to_value(&k).unwrap(),
        doc,
        "{what}: a field its Kubernetes type does not have (misspelt or misplaced?)"
    );
    k
}

/// The manifests, typed.
#[derive(Default)]
struct Manifests {
    accounts: Vec<ServiceAccount>,
    roles: Vec<Role>,
    bindings: Vec<RoleBinding>,
    deployments: Vec<Deployment>,
    services: Vec<Service>,
}

fn manifests() -> Manifests {
    let mut m = Manifests::default();
    for doc in documents() {
        match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
            (Some("v1"), Some("ServiceAccount")) => m.accounts.push(typed(&doc)),
            (Some("rbac.authorization.k8s.io/v1"), Some("Role")) => m.roles.push(typed(&doc)),
            (Some("rbac.authorization.k8s.io/v1"), Some("RoleBinding")) => {
                m.bindings.push(typed(&doc))
            }
            (Some("apps/v1"), Some("Deployment")) => m.deployments.push(typed(&doc)),
            (Some("v1"), Some("Service")) => m.services.push(typed(&doc)),
            other => panic!("unexpected document {other:?}"),
        }
    }
    m
}

/// The one Deployment's `berth` container.
fn container(d: &Deployment) -> &Container {
    let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.containers.len(), 1, "one container");
    &pod.containers[0]
}

/// The port of `berth serve --listen HOST:PORT` in `args`.
fn listen_port(args: &[String]) -> i32 {
    let at = args
        .iter()
        .position(|a| a == "--listen")
        .unwrap_or_else(|| panic!("no --listen in {args:?}"));
    assert_eq!(args.first().map(String::as_str), Some("serve"), "{args:?}");
    let addr = &args[at + 1];
    let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
    assert_eq!(host, "0.0.0.0", "reachable from outside the pod: {addr}");
    port.parse().expect("a port number")
}

/// The container port a probe or Service names (by name or number).
fn resolve(c: &Container, port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => {
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("no container port named {name}"))
                .container_port
        }
    }
}

#[test]
fn the_deployment_runs_two_probed_replicas_of_serve_with_secrets_from_secrets() {
    let m = manifests();
    assert_eq!(m.deployments.len(), 1);
    let d = &m.deployments[0];
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.as_ref().unwrap();
    let c = container(d);
    let port = listen_port(c.args.as_deref().expect("args"));
    let ports: Vec<i32> = c.ports.iter().flatten().map(|p| p.container_port).collect();
    assert_eq!(ports, [port], "the container port is the --listen port");

    for (probe, path) in [
        (c.readiness_probe.as_ref(), "/readyz"),
        (c.liveness_probe.as_ref(), "/healthz"),
    ] {
        let get = probe
            .and_then(|p| p.http_get.as_ref())
            .unwrap_or_else(|| panic!("an HTTP probe on {path}"));
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(resolve(c, &get.port), port, "{path} probed on the API port");
    }

    // The database URL and every credential come from a Secret.
    let env = c.env.as_deref().unwrap_or_default();
    let secret = |name: &str| {
        let var = env
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name} is set"));
        assert!(var.value.is_none(), "{name} has no literal value");
        var.value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
            .unwrap_or_else(|| panic!("{name} comes from a secretKeyRef"))
    };
    let db = secret("DATABASE_URL");
    assert_ne!(db.optional, Some(true), "the database URL is required");
    for v in env {
        let sensitive = v.name == "DATABASE_URL"
            || ["_TOKEN", "_PASSWORD", "_SECRET", "_KEY", "_KEY_ID"]
                .iter()
                .any(|s| v.name.ends_with(s));
        if sensitive {
            secret(&v.name);
        }
        let literal = v.value.as_deref().unwrap_or_default();
        assert!(
            !literal.contains("://"),
            "{}: no URL in the manifest",
            v.name
        );
    }

    // Not root, not privileged, with requests the scheduler can use.
    let pod_sec = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(pod_sec.run_as_non_root, Some(true));
    assert!(pod_sec.run_as_user.is_some_and(|u| u != 0));
    let sec = c
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(sec.allow_privilege_escalation, Some(false));
    let requests = c
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("resource requests");
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));

    // The Service reaches these pods on the API port.
    assert_eq!(m.services.len(), 1);
    let svc = m.services[0].spec.as_ref().unwrap();
    let labels = spec.template.metadata.as_ref().unwrap().labels.as_ref();
    for (k, v) in svc.selector.iter().flatten() {
        assert_eq!(labels.and_then(|l| l.get(k)), Some(v), "selector {k}={v}");
    }
    assert!(spec
        .selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)));
    for p in svc.ports.iter().flatten() {
        let target = p.target_port.as_ref().expect("targetPort");
        assert_eq!(resolve(c, target), port);
    }

    // The pod's account may run the Kubernetes adapter's Jobs and ConfigMaps
    // in K8S_NAMESPACE.
    let account = pod
        .service_account_name
        .as_deref()
        .expect("serviceAccountName");
    assert!(m
        .accounts
        .iter()
        .any(|a| a.metadata.name.as_deref() == Some(account)));
    let namespace = env
        .iter()
        .find(|v| v.name == "K8S_NAMESPACE")
        .and_then(|v| v.value.clone())
        .expect("K8S_NAMESPACE");
    let binding = m
        .bindings
        .iter()
        .find(|b| {
            b.subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "ServiceAccount" && s.name == account)
        })
        .expect("a RoleBinding for the pod's account");
    assert_eq!(binding.metadata.namespace.as_deref(), Some(&*namespace));
    let role = m
        .roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(&*binding.role_ref.name))
        .expect("the bound Role");
    for (group, resource) in [("batch", "jobs"), ("", "configmaps")] {
        let granted = role.rules.iter().flatten().any(|r| {
            r.api_groups.iter().flatten().any(|g| g == group)
                && r.resources.iter().flatten().any(|x| x == resource)
                && ["create", "delete", "get", "list", "patch"]
                    .iter()
                    .all(|verb| r.verbs.iter().any(|v| v == verb))
        });
        assert!(granted, "the Role grants {resource}");
    }
}

/// `obj` without what a server adds to metadata.
fn as_written<K: Serialize>(obj: &K) -> Value {
    let mut v = serde_json::to_value(obj).unwrap();
    if let Some(meta) = v["metadata"].as_object_mut() {
        meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels"));
    }
    v
}

/// Creates `obj` in its namespace on kmock, reads it back and compares.
async fn apply<K>(client: &kube::Client, obj: &K)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let meta = obj.meta();
    let ns = meta
        .namespace
        .as_deref()
        .expect("every object names its namespace");
    let name = meta.name.clone().expect("name");
    let api: kube::Api<K> = kube::Api::namespaced(client.clone(), ns);
    api.create(&kube::api::PostParams::default(), obj)
        .await
        .unwrap_or_else(|e| panic!("{name} applied: {e}"));
    let back = api.get(&name).await.expect("read back");
    assert_eq!(as_written(&back), as_written(obj), "{name} read back");
}

#[tokio::test]
async fn the_manifests_apply_to_the_kubernetes_emulator_and_read_back() {
    let m = manifests();
    let kmock = emulators::kmock(&["berth"]).await;
    let config = kube::Config::new(kmock.url.parse().expect("url"));
    let client = kube::Client::try_from(config).expect("client");
    for a in &m.accounts {
        apply(&client, a).await;
    }
    for r in &m.roles {
        apply(&client, r).await;
    }
    for b in &m.bindings {
        apply(&client, b).await;
    }
    for d in &m.deployments {
        apply(&client, d).await;
    }
    for s in &m.services {
        apply(&client, s).await;
    }
    let applied = m.accounts.len()
        + m.roles.len()
        + m.bindings.len()
        + m.deployments.len()
        + m.services.len();
    assert_eq!(applied, documents().len(), "every document applied");
}

/// The Dockerfile's instructions (continuation lines joined, comments
/// dropped), as (INSTRUCTION, rest).
fn dockerfile() -> Vec<(String, String)> {
    let text = repo_file("Dockerfile");
    let mut out = Vec::new();
    let mut line = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && line.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                line.push_str(part);
                line.push(' ');
            }
            None => {
                line.push_str(trimmed);
                let (op, rest) = line.split_once(' ').unwrap_or((&line, ""));
                out.push((op.to_uppercase(), rest.trim().to_string()));
                line.clear();
            }
        }
    }
    out
}

/// An exec-form (JSON array) argument list.
fn exec_form(op: &str, rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("{op} in exec form (JSON): {e}: {rest}"))
}

#[test]
fn the_dockerfile_runs_serve_on_the_manifests_port_as_the_manifests_user() {
    let all = dockerfile();
    let last_from = all
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .expect("a FROM");
    assert!(
        all[..last_from]
            .iter()
            .any(|(op, rest)| op == "RUN"
                && rest.contains("cargo build --release --locked -p berth")),
        "a build stage builds the berth CLI in release mode"
    );
    assert_eq!(all[last_from].1, "debian:12-slim");
    let last = &all[last_from..];
    let only = |name: &str| -> &str {
        let found: Vec<&str> = last
            .iter()
            .filter(|(op, _)| op == name)
            .map(|(_, r)| r.as_str())
            .collect();
        assert_eq!(found.len(), 1, "one {name} in the final stage");
        found[0]
    };
    let entrypoint = exec_form("ENTRYPOINT", only("ENTRYPOINT"));
    let cmd = exec_form("CMD", only("CMD"));
    assert_eq!(entrypoint, ["berth"]);

    let m = manifests();
    let d = &m.deployments[0];
    let c = container(d);
    let args = c.args.clone().expect("args");
    // Kubernetes' `args` replace CMD and keep ENTRYPOINT: both run the same.
    assert_eq!(cmd, args, "the image's CMD is the Deployment's args");
    assert!(c.command.is_none(), "the Deployment keeps the ENTRYPOINT");
    let port = listen_port(&cmd);
    let exposed: Vec<i32> = only("EXPOSE")
        .split_whitespace()
        .map(|p| p.trim_end_matches("/tcp").parse().expect("a port"))
        .collect();
    assert_eq!(exposed, [port], "EXPOSE is the --listen port");
    let healthcheck = only("HEALTHCHECK");
    assert!(
        healthcheck.contains(&format!("/dev/tcp/127.0.0.1/{port}"))
            && healthcheck.contains("GET /healthz"),
        "{healthcheck}"
    );

    let user = only("USER");
    let uid: i64 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("USER is numeric, so runAsNonRoot can check it");
    assert_ne!(uid, 0);
    let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let run_as = pod.security_context.as_ref().and_then(|s| s.run_as_user);
    assert_eq!(run_as, Some(uid), "the pod runs as the image's user");
}
