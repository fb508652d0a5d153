use std::collections::HashMap;

use super::fault::classify;
use super::task::tag_value;
use super::*;
use crate::error::{Error, ErrorCode};
use crate::meeting::MeetingPlatform;
use crate::platform::WorkloadState;

fn parse(env: &[(&str, &str)]) -> Result<EcsSettings> {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EcsSettings::parse(&|k| vars.get(k).cloned())
}

const MINIMAL: &[(&str, &str)] = &[
    ("ECS_REGION", "eu-west-1"),
    ("ECS_CLUSTER", "bots"),
    ("ECS_SUBNETS", "subnet-1,subnet-2"),
    ("ECS_TASK_DEFINITION", "bot:1"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = MINIMAL
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    v.extend(extra.iter().filter(|(_, val)| !val.is_empty()));
    v
}

fn error_var(env: &[(&str, &str)]) -> (String, ErrorCode) {
    match parse(env) {
        Err(Error::Config { variable, code, .. }) => (variable, code),
        other => panic!("{env:?}: {other:?}"),
    }
}

#[test]
fn minimal_settings_and_defaults() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.subnets, ["subnet-1", "subnet-2"]);
    assert_eq!(s.capacity, Capacity::LaunchType("FARGATE".into()));
    assert_eq!(s.container_name, "bot");
    assert!(!s.assign_public_ip);
    assert_eq!(s.task_definitions[&MeetingPlatform::Zoom], "bot:1");
    let s = parse(&with(&[("ECS_TASK_DEFINITION_ZOOM", "zoom-bot:3")])).unwrap();
    assert_eq!(s.task_definitions[&MeetingPlatform::Zoom], "zoom-bot:3");
    assert_eq!(s.task_definitions[&MeetingPlatform::GoogleMeet], "bot:1");
    let s = parse(&with(&[(
        "ECS_CAPACITY_PROVIDER_STRATEGY",
        "FARGATE_SPOT:3,FARGATE:1:1",
    )]))
    .unwrap();
    assert_eq!(
        s.capacity,
        Capacity::Strategy(vec![
            ("FARGATE_SPOT".into(), 3, 0),
            ("FARGATE".into(), 1, 1)
        ])
    );
}

#[test]
fn missing_and_invalid_settings_name_their_variable() {
    use ErrorCode::*;
    assert_eq!(
        error_var(&with(&[("ECS_REGION", "")])),
        ("ECS_REGION".into(), ConfigMissing)
    );
    assert_eq!(
        error_var(&with(&[("ECS_CLUSTER", "")])),
        ("ECS_CLUSTER".into(), ConfigMissing)
    );
    assert_eq!(
        error_var(&with(&[("ECS_SUBNETS", "")])),
        ("ECS_SUBNETS".into(), ConfigMissing)
    );
    assert_eq!(
        error_var(&with(&[
            ("ECS_TASK_DEFINITION", ""),
            ("ECS_TASK_DEFINITION_ZOOM", "z:1")
        ])),
        ("ECS_TASK_DEFINITION_GOOGLE_MEET".into(), ConfigMissing)
    );
    assert_eq!(
        error_var(&with(&[("ECS_SUBNETS", "a,,b")])),
        ("ECS_SUBNETS".into(), ConfigInvalid)
    );
    assert_eq!(
        error_var(&with(&[("ECS_LAUNCH_TYPE", "LAMBDA")])),
        ("ECS_LAUNCH_TYPE".into(), ConfigInvalid)
    );
    assert_eq!(
        error_var(&with(&[
            ("ECS_LAUNCH_TYPE", "EC2"),
            ("ECS_CAPACITY_PROVIDER_STRATEGY", "FARGATE:1")
        ])),
        ("ECS_CAPACITY_PROVIDER_STRATEGY".into(), ConfigInvalid)
    );
    assert_eq!(
        error_var(&with(&[("ECS_CAPACITY_PROVIDER_STRATEGY", "FARGATE:x")])),
        ("ECS_CAPACITY_PROVIDER_STRATEGY".into(), ConfigInvalid)
    );
    assert_eq!(
        error_var(&with(&[("ECS_ASSIGN_PUBLIC_IP", "sometimes")])),
        ("ECS_ASSIGN_PUBLIC_IP".into(), ConfigInvalid)
    );
    // AWS_REGION is a fallback for the region.
    let s = parse(&with(&[("ECS_REGION", ""), ("AWS_REGION", "us-east-2")])).unwrap();
    assert_eq!(s.region, "us-east-2");
}

#[test]
fn status_and_codes_map_to_faults() {
    let m = || "m".to_string();
    assert!(matches!(
        classify(400, "ThrottlingException", "", m()),
        Fault::Transient { .. }
    ));
    assert!(matches!(
        classify(429, "", "", m()),
        Fault::Transient { .. }
    ));
    assert!(matches!(
        classify(500, "ServerException", "", m()),
        Fault::Transient { .. }
    ));
    assert!(matches!(
        classify(400, "UnrecognizedClientException", "", m()),
        Fault::Unauthenticated(_)
    ));
    assert!(matches!(
        classify(400, "AccessDeniedException", "", m()),
        Fault::Forbidden(_)
    ));
    assert!(matches!(
        classify(400, "ClusterNotFoundException", "", m()),
        Fault::NotFound(_)
    ));
    assert!(matches!(
        classify(
            400,
            "InvalidParameterException",
            "The referenced task was not found.",
            m()
        ),
        Fault::NotFound(_)
    ));
    assert!(matches!(classify(409, "", "", m()), Fault::Conflict(_)));
    assert!(matches!(
        classify(400, "InvalidParameterException", "bad subnet", m()),
        Fault::Rejected(_)
    ));
}

#[test]
fn task_status_maps_to_workload_state() {
    assert_eq!(map_state("PROVISIONING", None, &[]), WorkloadState::Running);
    assert_eq!(map_state("PENDING", None, &[None]), WorkloadState::Running);
    assert_eq!(map_state("RUNNING", None, &[None]), WorkloadState::Running);
    assert_eq!(
        map_state("STOPPED", Some("EssentialContainerExited"), &[Some(0)]),
        WorkloadState::Succeeded
    );
    assert_eq!(
        map_state(
            "STOPPED",
            Some("EssentialContainerExited"),
            &[Some(0), Some(137)]
        ),
        WorkloadState::Failed
    );
    assert_eq!(
        map_state("STOPPED", Some("TaskFailedToStart"), &[None]),
        WorkloadState::Failed
    );
    assert_eq!(
        map_state("STOPPED", Some("UserInitiated"), &[Some(143)]),
        WorkloadState::Stopped
    );
}

#[test]
fn tag_values_keep_to_what_ecs_accepts() {
    assert_eq!(
        tag_value("[BUSY] Bot #12 - 2025-12-17T22:30:00Z"),
        " BUSY  Bot  12 - 2025-12-17T22:30:00Z"
    );
    assert_eq!(tag_value(&"x".repeat(300)).len(), 256);
}
