//! Request shapes against a mock tower service (`tower_test::mock::pair`,
//! kube's documented unit-test approach): no API server runs here; the
//! behaviour against a stateful one is tested with kmock in
//! `tests/tests/cloud.rs`.
use super::*;
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::MeetingPlatform;
use crate::platform::WorkloadState;
use http::{Request, Response};
use kube::client::Body;
use std::collections::HashMap;

fn settings(env: &[(&str, &str)]) -> Result<KubeSettings> {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    KubeSettings::parse(&|k| vars.get(k).cloned())
}

fn slot() -> SlotRef {
    SlotRef {
        slot_id: 1,
        slot_name: "pool-zoom-001".into(),
        pool: "zoom".into(),
        epoch: 7,
        platform_ref: Some("berth-pool-zoom-001".into()),
    }
}

fn bot() -> BotSpec {
    BotSpec {
        bot_id: 42,
        meeting_platform: MeetingPlatform::Zoom,
        meeting_url: "https://zoom.example/j/1".into(),
        image: "bots/zoom:1.0".into(),
        resources: Default::default(),
        account: None,
        token: crate::bot_lease::BotToken::generate(),
    }
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn platform(env: &[(&str, &str)]) -> (KubePlatform, Handle) {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, "default");
    let policy = Policy {
        max_attempts: 1,
        ..Policy::default()
    };
    (
        KubePlatform::new(client, settings(env).unwrap(), policy),
        handle,
    )
}

async fn next(
    handle: &mut Handle,
) -> (
    http::Method,
    String,
    serde_json::Value,
    tower_test::mock::SendResponse<Response<Body>>,
) {
    let (req, send) = handle.next_request().await.expect("a request");
    let method = req.method().clone();
    let uri = req.uri().to_string();
    let bytes = req.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (method, uri, body, send)
}

fn reply(send: tower_test::mock::SendResponse<Response<Body>>, code: u16, body: serde_json::Value) {
    send.send_response(
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
    );
}

#[tokio::test]
async fn start_sends_one_job_per_assignment_with_its_limits_and_configuration() {
    let (p, mut handle) = platform(&[
        ("K8S_NAMESPACE", "bots"),
        ("K8S_IMAGE_REGISTRY", "registry.example/"),
        ("K8S_IMAGE_TAG", "2.0"),
        ("K8S_CPU_REQUEST", "250m"),
        ("K8S_MEMORY_LIMIT", "3Gi"),
        ("K8S_SHM_SIZE", "512Mi"),
        ("K8S_IMAGE_PULL_SECRETS", "regcred, other"),
        ("K8S_JOB_TTL_SECONDS", "60"),
    ]);
    let server = tokio::spawn(async move {
        let (method, uri, body, send) = next(&mut handle).await;
        reply(send, 201, body.clone());
        (method, uri, body)
    });
    assert_eq!(p.start(&slot(), &bot()).await.unwrap(), None);
    let (method, uri, job) = server.await.unwrap();
    assert_eq!(method, http::Method::POST);
    assert_eq!(uri, "/apis/batch/v1/namespaces/bots/jobs?");
    assert_eq!(job["metadata"]["name"], "berth-pool-zoom-001-e7");
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "berth");
    assert_eq!(labels["berth.dev/pool"], "zoom");
    assert_eq!(labels["berth.dev/slot"], "berth-pool-zoom-001");
    assert_eq!(labels["berth.dev/bot"], "42");
    assert_eq!(labels["berth.dev/epoch"], "7");
    let spec = &job["spec"];
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(spec["ttlSecondsAfterFinished"], 60);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        pod["imagePullSecrets"],
        serde_json::json!([{"name": "regcred"}, {"name": "other"}])
    );
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/bots/zoom:2.0");
    assert_eq!(c["resources"]["requests"]["cpu"], "250m");
    assert_eq!(c["resources"]["requests"]["memory"], "1Gi");
    assert_eq!(c["resources"]["limits"]["cpu"], "2");
    assert_eq!(c["resources"]["limits"]["memory"], "3Gi");
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/dev/shm");
    assert_eq!(
        pod["volumes"][0]["emptyDir"],
        serde_json::json!({"medium": "Memory", "sizeLimit": "512Mi"})
    );
    let env: HashMap<String, String> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(env["BERTH_BOT_ID"], "42");
    assert_eq!(env["BERTH_MEETING_URL"], "https://zoom.example/j/1");
    assert_eq!(env["BERTH_MEETING_PLATFORM"], "zoom");
    assert_eq!(env["BERTH_EPOCH"], "7");
    assert!(crate::bot_lease::token::well_formed(
        &env["BERTH_BOT_TOKEN"]
    ));
}

#[tokio::test]
async fn the_pool_definitions_resources_win_over_the_platform_defaults() {
    let (p, _handle) = platform(&[
        ("K8S_CPU_REQUEST", "250m"),
        ("K8S_MEMORY_LIMIT", "3Gi"),
        ("K8S_SHM_SIZE", "512Mi"),
    ]);
    let mut spec = bot();
    spec.resources = crate::definition::Resources {
        cpu: Some("750m".into()),
        memory: Some("4Gi".into()),
        shm_size: Some("2Gi".into()),
    };
    let job = serde_json::to_value(p.job(&slot(), &spec)).unwrap();
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["resources"]["requests"]["cpu"], "750m");
    assert_eq!(c["resources"]["requests"]["memory"], "4Gi");
    assert_eq!(c["resources"]["limits"]["memory"], "4Gi");
    assert_eq!(c["resources"]["limits"]["cpu"], "2");
    assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "2Gi");
    // Only memory given: the rest stays the platform's.
    spec.resources = crate::definition::Resources {
        memory: Some("1536Mi".into()),
        ..Default::default()
    };
    let job = serde_json::to_value(p.job(&slot(), &spec)).unwrap();
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["resources"]["requests"]["cpu"], "250m");
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "1536Mi"
    );
    assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "512Mi");
}

#[tokio::test]
async fn a_retried_start_adopts_the_existing_job() {
    let (p, mut handle) = platform(&[]);
    let server = tokio::spawn(async move {
        let (_, _, _, send) = next(&mut handle).await;
        reply(
            send,
            409,
            serde_json::json!({"kind": "Status", "status": "Failure", "code": 409, "reason": "AlreadyExists", "message": "exists"}),
        );
    });
    p.start(&slot(), &bot())
        .await
        .expect("409 on start is adoption");
    server.await.unwrap();
}

#[tokio::test]
async fn stop_deletes_the_job_with_background_propagation_and_a_missing_job_is_done() {
    let (p, mut handle) = platform(&[]);
    let server = tokio::spawn(async move {
        let (method, uri, body, send) = next(&mut handle).await;
        reply(
            send,
            404,
            serde_json::json!({"kind": "Status", "status": "Failure", "code": 404, "reason": "Object Not Found", "message": "gone"}),
        );
        (method, uri, body)
    });
    p.stop(&slot())
        .await
        .expect("a missing job counts as stopped");
    let (method, uri, body) = server.await.unwrap();
    assert_eq!(method, http::Method::DELETE);
    assert_eq!(
        uri,
        "/apis/batch/v1/namespaces/berth/jobs/berth-pool-zoom-001-e7?"
    );
    assert_eq!(body["propagationPolicy"], "Background");
}

#[tokio::test]
async fn errors_map_by_http_status() {
    for (code, kind) in [
        (401, crate::platform::FailureKind::Unauthenticated),
        (403, crate::platform::FailureKind::Forbidden),
        (422, crate::platform::FailureKind::Rejected),
        (503, crate::platform::FailureKind::Transient),
    ] {
        let (p, mut handle) = platform(&[]);
        let server = tokio::spawn(async move {
            let (_, _, _, send) = next(&mut handle).await;
            reply(
                send,
                code,
                serde_json::json!({"kind": "Status", "status": "Failure", "code": code, "reason": "Nonstandard", "message": "no"}),
            );
        });
        let err = p.start(&slot(), &bot()).await.unwrap_err();
        assert_eq!(err.kind, kind, "HTTP {code}");
        server.await.unwrap();
    }
}

#[tokio::test]
async fn list_selects_on_the_server_and_follows_continue_tokens() {
    let (p, mut handle) = platform(&[]);
    let job = |name: &str, epoch: i64| {
        serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {
                "app.kubernetes.io/managed-by": "berth",
                "berth.dev/slot": "berth-pool-zoom-001",
                "berth.dev/epoch": epoch.to_string(),
                "berth.dev/bot": "5"
            }},
            "status": {"active": 1}
        })
    };
    let (j2, j1) = (
        job("berth-pool-zoom-001-e2", 2),
        job("berth-pool-zoom-001-e1", 1),
    );
    let server = tokio::spawn(async move {
        let (_, first, _, send) = next(&mut handle).await;
        reply(
            send,
            200,
            serde_json::json!({"apiVersion": "batch/v1", "kind": "JobList",
                    "metadata": {"continue": "page-2"}, "items": [j2]}),
        );
        let (_, second, _, send) = next(&mut handle).await;
        reply(
            send,
            200,
            serde_json::json!({"apiVersion": "batch/v1", "kind": "JobList",
                    "metadata": {}, "items": [j1]}),
        );
        (first, second)
    });
    let listed = p.list().await.unwrap();
    let (first, second) = server.await.unwrap();
    assert!(
        first.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dberth")
            && first.contains("limit=200")
            && !first.contains("continue="),
        "{first}"
    );
    assert!(second.contains("continue=page-2"), "{second}");
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed.iter().map(|w| w.epoch).collect::<Vec<_>>(),
        [Some(1), Some(2)],
        "the newest assignment of a slot comes last"
    );
}

#[test]
fn throttling_carries_the_servers_retry_after() {
    let status: kube::core::Status = serde_json::from_value(serde_json::json!({
        "status": "Failure", "code": 429, "reason": "TooManyRequests", "message": "slow down",
        "details": {"retryAfterSeconds": 3}
    }))
    .unwrap();
    assert_eq!(
        fault(kube::Error::Api(Box::new(status))),
        Fault::Transient {
            message: "HTTP 429 TooManyRequests: slow down".into(),
            retry_after: Some(std::time::Duration::from_secs(3)),
        }
    );
}

#[test]
fn job_conditions_map_to_workload_states() {
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    let job = |status: JobStatus| Job {
        status: Some(status),
        ..Default::default()
    };
    let cond = |t: &str| JobCondition {
        type_: t.into(),
        status: "True".into(),
        ..Default::default()
    };
    let done = job(JobStatus {
        conditions: Some(vec![cond("Complete")]),
        succeeded: Some(1),
        ..Default::default()
    });
    assert_eq!(job_state(&done).0, WorkloadState::Succeeded);
    let failed = job(JobStatus {
        conditions: Some(vec![cond("Failed")]),
        failed: Some(1),
        ..Default::default()
    });
    assert_eq!(job_state(&failed).0, WorkloadState::Failed);
    assert!(job_state(&failed).1.contains("Failed"));
    let running = job(JobStatus {
        active: Some(1),
        ..Default::default()
    });
    assert_eq!(job_state(&running).0, WorkloadState::Running);
    assert_eq!(job_state(&Job::default()).0, WorkloadState::Running);
}

#[test]
fn bad_settings_name_their_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("K8S_CPU_LIMIT", "lots")], "K8S_CPU_LIMIT"),
        (&[("K8S_SHM_SIZE", "-1Gi")], "K8S_SHM_SIZE"),
        (&[("K8S_NAMESPACE", "Bad_NS")], "K8S_NAMESPACE"),
        (&[("K8S_JOB_TTL_SECONDS", "soon")], "K8S_JOB_TTL_SECONDS"),
        (
            &[("K8S_IMAGE_PULL_SECRETS", "a,,b")],
            "K8S_IMAGE_PULL_SECRETS",
        ),
        (&[("K8S_IN_CLUSTER", "maybe")], "K8S_IN_CLUSTER"),
        (
            &[("K8S_IN_CLUSTER", "true"), ("K8S_KUBECONFIG", "/x")],
            "K8S_IN_CLUSTER",
        ),
    ];
    for (env, var) in cases {
        match settings(env) {
            Err(Error::Config { variable, code, .. }) => {
                assert_eq!(variable, *var);
                assert_eq!(code, ErrorCode::ConfigInvalid);
            }
            other => panic!("{env:?}: {other:?}"),
        }
    }
    let s = settings(&[("K8S_CONTEXT", "staging")]).unwrap();
    assert_eq!(
        s.source,
        KubeSource::Infer {
            context: Some("staging".into())
        }
    );
    assert_eq!(s.namespace, "berth");
}

#[tokio::test]
async fn an_unreadable_kubeconfig_is_a_config_error_naming_the_variable() {
    let s = settings(&[("K8S_KUBECONFIG", "/nonexistent/kubeconfig")]).unwrap();
    match s.client_config().await {
        Err(Error::Config { variable, code, .. }) => {
            assert_eq!(variable, "K8S_KUBECONFIG");
            assert_eq!(code, ErrorCode::ConfigMissing);
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn image_registry_and_tag_apply_to_the_pool_image() {
    let s = settings(&[("K8S_IMAGE_REGISTRY", "reg:5000"), ("K8S_IMAGE_TAG", "v2")]).unwrap();
    assert_eq!(s.image("bot"), "reg:5000/bot:v2");
    assert_eq!(s.image("org/bot:v1"), "reg:5000/org/bot:v2");
    let plain = settings(&[]).unwrap();
    assert_eq!(plain.image("org/bot:v1"), "org/bot:v1");
}
