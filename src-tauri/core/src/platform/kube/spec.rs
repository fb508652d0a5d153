//! The objects Berth sends: a slot's ConfigMap metadata and the Job of one
//! assignment (pod, container, resources, shared-memory volume).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, LocalObjectReference, PodSpec, PodTemplateSpec,
    ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::settings::{labels, KubeSettings};
use crate::platform::{naming, BotSpec, SlotRef};

pub(super) fn meta(name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(labels),
        ..Default::default()
    }
}

pub(super) fn owner_labels(slot: &SlotRef) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.to_string(), "berth".to_string()),
        (labels::POOL.to_string(), naming::dns_label(&slot.pool, 63)),
        (
            labels::SLOT.to_string(),
            naming::slot_identity(&slot.slot_name),
        ),
    ])
}

/// The Job `name` of one assignment of `bot` to `slot` (whose identity is
/// `identity`), as it is sent.
pub(super) fn job(
    settings: &KubeSettings,
    slot: &SlotRef,
    bot: &BotSpec,
    identity: String,
    name: &str,
) -> Job {
    let mut labels = owner_labels(slot);
    labels.insert(labels::SLOT.into(), identity);
    labels.insert(labels::BOT.into(), bot.bot_id.to_string());
    labels.insert(labels::EPOCH.into(), slot.epoch.to_string());
    let shm_size = bot
        .resources
        .shm_size
        .as_deref()
        .unwrap_or(&settings.shm_size);
    Job {
        metadata: meta(name, labels.clone()),
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(settings.ttl_seconds),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    image_pull_secrets: (!settings.pull_secrets.is_empty()).then(|| {
                        settings
                            .pull_secrets
                            .iter()
                            .map(|n| LocalObjectReference { name: n.clone() })
                            .collect()
                    }),
                    containers: vec![container(settings, slot, bot)],
                    volumes: Some(vec![Volume {
                        name: "dshm".into(),
                        empty_dir: Some(EmptyDirVolumeSource {
                            medium: Some("Memory".into()),
                            size_limit: Some(Quantity(shm_size.to_string())),
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// The bot's container: its image, environment, resources and the
/// shared-memory mount.
fn container(settings: &KubeSettings, slot: &SlotRef, bot: &BotSpec) -> Container {
    let env = crate::platform::bot_env(slot, bot)
        .into_iter()
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value),
            ..Default::default()
        })
        .collect();
    Container {
        name: "bot".into(),
        image: Some(settings.image(&bot.image)),
        env: Some(env),
        resources: Some(resources(settings, bot)),
        volume_mounts: Some(vec![VolumeMount {
            name: "dshm".into(),
            mount_path: "/dev/shm".into(),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// The pool definition's requests win over the platform's defaults. A
/// memory request from the definition is also the limit (a limit below the
/// request would be refused by the API server).
fn resources(settings: &KubeSettings, bot: &BotSpec) -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_string());
    let wanted = &bot.resources;
    let cpu_request = wanted.cpu.as_deref().unwrap_or(&settings.cpu_request);
    let memory_request = wanted.memory.as_deref().unwrap_or(&settings.memory_request);
    let memory_limit = wanted.memory.as_deref().unwrap_or(&settings.memory_limit);
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), q(cpu_request)),
            ("memory".into(), q(memory_request)),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".into(), q(&settings.cpu_limit)),
            ("memory".into(), q(memory_limit)),
        ])),
        ..Default::default()
    }
}
