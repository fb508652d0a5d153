//! Which task definition runs an image: the configured one when its bot
//! container already runs that image, else a revision derived from it
//! (`DescribeTaskDefinition` → `RegisterTaskDefinition` with only the bot
//! container's image replaced).
//!
//! Where it is remembered: a per-(configured task definition, image) cache
//! in the adapter, nothing in the database. The image itself comes from the
//! database with every start (`BotSpec::image`, the pool's image), so every
//! instance runs the same image; the cache only saves registering again. An
//! instance that has not seen the image yet (a restart, another instance)
//! first describes the configured task definition (a family name resolves to
//! its newest revision, the one the rollout registered), then, when that
//! runs another image, the family's newest revision: when it is the
//! configured one with the image replaced, nothing new is registered. The slot's `platform_ref`
//! cannot hold it: ECS replaces it with the task ARN at every start.

use std::collections::HashMap;

use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinition, TaskDefinitionField};

use super::fault::fault;
use super::EcsPlatform;
use crate::platform::call::Fault;
use crate::platform::PlatformError;

/// Task definitions by (configured task definition, image), resolved once
/// per process. Holding its lock while resolving means concurrent starts
/// of a new image register one revision, not one each.
#[derive(Default)]
pub(super) struct Revisions {
    known: tokio::sync::Mutex<HashMap<(String, String), String>>,
}

/// Names the task definition in a fault's message (the SDK's says only
/// "Unable to describe task definition").
fn about(configured: &str, f: Fault) -> Fault {
    let name = |m: String| format!("task definition {configured}: {m}");
    match f {
        Fault::Transient {
            message,
            retry_after,
        } => Fault::Transient {
            message: name(message),
            retry_after,
        },
        Fault::Unauthenticated(m) => Fault::Unauthenticated(name(m)),
        Fault::Forbidden(m) => Fault::Forbidden(name(m)),
        Fault::NotFound(m) => Fault::NotFound(name(m)),
        Fault::Conflict(m) => Fault::Conflict(name(m)),
        Fault::Rejected(m) => Fault::Rejected(name(m)),
    }
}

impl EcsPlatform {
    /// The task definition that runs `image` in place of `configured`'s bot
    /// container image: `configured` itself when it already runs it, else a
    /// revision registered from it (once per process and image; a running
    /// task is never touched). Side effect: may register a task definition
    /// revision in `configured`'s family.
    pub(super) async fn revision_for(
        &self,
        operation: &'static str,
        configured: &str,
        image: &str,
    ) -> Result<String, PlatformError> {
        let key = (configured.to_string(), image.to_string());
        let mut known = self.revisions.known.lock().await;
        if let Some(found) = known.get(&key) {
            return Ok(found.clone());
        }
        let found = self
            .caller
            .run(operation, None, || async {
                let current = self
                    .client
                    .describe_task_definition()
                    .task_definition(configured)
                    .include(TaskDefinitionField::Tags)
                    .send()
                    .await
                    .map_err(|e| about(configured, fault(e)))?;
                self.register_with(configured, current, image)
                    .await
                    .map_err(|f| about(configured, f))
            })
            .await?;
        known.insert(key, found.clone());
        Ok(found)
    }

    /// `configured` when `current` (its description) runs `image` in the
    /// bot container; else the ARN of a new revision that does.
    async fn register_with(
        &self,
        configured: &str,
        current: DescribeTaskDefinitionOutput,
        image: &str,
    ) -> Result<String, Fault> {
        let name = &self.settings.container_name;
        let td = current
            .task_definition
            .ok_or_else(|| Fault::Rejected("not described".into()))?;
        let mut containers = td.container_definitions.clone().unwrap_or_default();
        let Some(bot) = containers.iter_mut().find(|c| c.name() == Some(name)) else {
            return Err(Fault::Rejected(format!("has no container named {name}")));
        };
        if bot.image() == Some(image) {
            return Ok(configured.to_string());
        }
        bot.image = Some(image.to_string());
        if let Some(arn) = self.latest_alike(&td, &containers).await? {
            return Ok(arn);
        }
        let tags = current.tags.filter(|t| !t.is_empty());
        let out = self
            .client
            .register_task_definition()
            .set_family(td.family)
            .set_task_role_arn(td.task_role_arn)
            .set_execution_role_arn(td.execution_role_arn)
            .set_network_mode(td.network_mode)
            .set_container_definitions(Some(containers))
            .set_volumes(td.volumes)
            .set_placement_constraints(td.placement_constraints)
            .set_requires_compatibilities(td.requires_compatibilities)
            .set_cpu(td.cpu)
            .set_memory(td.memory)
            .set_pid_mode(td.pid_mode)
            .set_ipc_mode(td.ipc_mode)
            .set_proxy_configuration(td.proxy_configuration)
            .set_ephemeral_storage(td.ephemeral_storage)
            .set_runtime_platform(td.runtime_platform)
            .set_enable_fault_injection(td.enable_fault_injection)
            .set_tags(tags)
            .send()
            .await
            .map_err(fault)?;
        out.task_definition
            .and_then(|t| t.task_definition_arn)
            .ok_or_else(|| Fault::Rejected("registered, but no ARN returned".into()))
    }

    /// The ARN of the family's newest revision when it is `td` with
    /// `containers` (the image already replaced): registered by an earlier
    /// rollout, from this instance before a restart or from another one,
    /// when the configuration pins a revision.
    async fn latest_alike(
        &self,
        td: &TaskDefinition,
        containers: &[ContainerDefinition],
    ) -> Result<Option<String>, Fault> {
        let Some(family) = td.family() else {
            return Ok(None);
        };
        let out = self
            .client
            .describe_task_definition()
            .task_definition(family)
            .send()
            .await
            .map_err(fault)?;
        Ok(out
            .task_definition
            .filter(|l| l.container_definitions() == containers && alike(l, td))
            .and_then(|l| l.task_definition_arn))
    }
}

/// Whether two revisions agree on everything but their containers.
fn alike(a: &TaskDefinition, b: &TaskDefinition) -> bool {
    a.task_role_arn == b.task_role_arn
        && a.execution_role_arn == b.execution_role_arn
        && a.network_mode == b.network_mode
        && a.volumes == b.volumes
        && a.placement_constraints == b.placement_constraints
        && a.requires_compatibilities == b.requires_compatibilities
        && (a.cpu.as_deref(), a.memory.as_deref()) == (b.cpu.as_deref(), b.memory.as_deref())
        && (a.pid_mode.as_ref(), a.ipc_mode.as_ref()) == (b.pid_mode.as_ref(), b.ipc_mode.as_ref())
        && a.proxy_configuration == b.proxy_configuration
        && a.ephemeral_storage == b.ephemeral_storage
        && a.runtime_platform == b.runtime_platform
}
