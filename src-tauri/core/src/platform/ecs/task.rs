//! One task per assignment: the `RunTask` request's parts (network, tags,
//! container overrides, capacity) and the mapping of a task's status.

use aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    KeyValuePair, LaunchType, NetworkConfiguration, PropagateTags, Tag, TaskOverride,
};

use super::settings::{tags, Capacity, EcsSettings};
use crate::meeting::PlatformKind;
use crate::platform::call::Fault;
use crate::platform::{BotSpec, FailureKind, PlatformError, SlotRef, WorkloadState};

/// The parts of a `RunTask` call that do not change between retries.
#[derive(Clone)]
pub(super) struct TaskRequest {
    task_definition: String,
    vpc: AwsVpcConfiguration,
    overrides: TaskOverride,
    tags: Vec<Tag>,
}

fn rejected(message: String) -> PlatformError {
    PlatformError {
        platform: PlatformKind::Aws,
        operation: "start",
        kind: FailureKind::Rejected,
        message,
    }
}

impl TaskRequest {
    /// Builds the request for `bot` in `slot`; refused when the meeting
    /// platform has no task definition or the network settings are invalid.
    pub(super) fn new(
        settings: &EcsSettings,
        slot: &SlotRef,
        bot: &BotSpec,
    ) -> Result<Self, PlatformError> {
        let Some(task_definition) = settings.task_definitions.get(&bot.meeting_platform) else {
            return Err(rejected(format!(
                "no task definition for {}",
                bot.meeting_platform.as_str()
            )));
        };
        let env = crate::platform::bot_env(slot, bot)
            .into_iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect::<Vec<_>>();
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(settings.subnets.clone()))
            .set_security_groups(
                (!settings.security_groups.is_empty()).then(|| settings.security_groups.clone()),
            )
            .assign_public_ip(if settings.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| rejected(format!("network configuration: {e}")))?;
        let tags = vec![
            tag(tags::MANAGED_BY, "berth"),
            tag(tags::POOL, tag_value(&slot.pool)),
            tag(tags::SLOT, tag_value(&slot.slot_name)),
            tag(tags::BOT, bot.bot_id.to_string()),
            tag(tags::EPOCH, slot.epoch.to_string()),
        ];
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(&settings.container_name)
                    .set_environment(Some(env))
                    .build(),
            )
            .build();
        Ok(TaskRequest {
            task_definition: task_definition.clone(),
            vpc,
            overrides,
            tags,
        })
    }

    /// The task definition the task runs.
    pub(super) fn task_definition(&self) -> &str {
        &self.task_definition
    }

    /// Runs `definition` instead (a revision with the pool's image).
    pub(super) fn set_task_definition(&mut self, definition: String) {
        self.task_definition = definition;
    }

    /// Fills `req` (a `RunTask` call) for one task started (and deduplicated)
    /// by `token`, with the settings' capacity.
    pub(super) fn fill(
        &self,
        req: RunTaskFluentBuilder,
        settings: &EcsSettings,
        token: &str,
    ) -> Result<RunTaskFluentBuilder, Fault> {
        let req = req
            .cluster(&settings.cluster)
            .task_definition(&self.task_definition)
            .count(1)
            .started_by(token)
            .client_token(token)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(self.vpc.clone())
                    .build(),
            )
            .overrides(self.overrides.clone())
            .set_tags(Some(self.tags.clone()))
            .propagate_tags(PropagateTags::TaskDefinition);
        Ok(match &settings.capacity {
            Capacity::LaunchType(lt) => req.launch_type(LaunchType::from(lt.as_str())),
            Capacity::Strategy(items) => req.set_capacity_provider_strategy(Some(
                items
                    .iter()
                    .map(|(name, weight, base)| {
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider(name)
                            .weight(*weight)
                            .base(*base)
                            .build()
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Fault::Rejected(e.to_string()))?,
            )),
        })
    }
}

pub(super) fn tag(key: &str, value: impl Into<String>) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// ECS tag values allow letters, digits, spaces and `_ . : / = + - @`, up to
/// 256 characters; anything else becomes a space.
pub(super) fn tag_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                ' '
            }
        })
        .take(256)
        .collect()
}

/// Maps a task's status (and its containers' exit codes) to a [`WorkloadState`].
pub fn map_state(
    last_status: &str,
    stop_code: Option<&str>,
    exit_codes: &[Option<i32>],
) -> WorkloadState {
    match last_status {
        "STOPPED" | "DELETED" => {
            if stop_code == Some("UserInitiated") {
                WorkloadState::Stopped
            } else if !exit_codes.is_empty() && exit_codes.iter().all(|c| *c == Some(0)) {
                WorkloadState::Succeeded
            } else {
                WorkloadState::Failed
            }
        }
        // PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING,
        // STOPPING, DEPROVISIONING: the task still holds its capacity.
        _ => WorkloadState::Running,
    }
}
