//! AWS ECS adapter: one task per assignment (`RunTask`), through the
//! official SDK.
//!
//! Model: a slot has no long-lived ECS resource. `create_resource` returns a
//! logical identity (`ecs-slot/<identity>`); `start` runs a task and returns
//! its **task ARN**, which the router stores as the slot's platform
//! reference (it is the bot's identifier). Every task carries
//! `startedBy = berth-<slot>-s<slot id>-e<epoch>` and tags naming owner,
//! pool, slot, bot and epoch, and is run with the same value as its
//! `clientToken`.
//!
//! Idempotency: ECS itself dedupes `RunTask` calls with the same
//! `clientToken`. Emulators may not (moto ignores it), and a reply can be
//! lost after the task started, so `start` first looks for a running task
//! started for the same slot and epoch and adopts it: a retried start never
//! runs two tasks.
//!
//! The SDK's own retries are off: [`Caller`] retries (once per attempt, under
//! the platform's policy), and double retry loops would multiply attempts.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    DesiredStatus, KeyValuePair, LaunchType, NetworkConfiguration, PropagateTags, Tag, TaskField,
    TaskOverride,
};

use super::call::{Caller, Fault, Policy};
use super::naming;
use super::{
    BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload, WorkloadState,
};
use crate::error::{Error, ErrorCode, Result};
use crate::meeting::{MeetingPlatform, PlatformKind};

/// Tag keys Berth puts on its tasks.
pub mod tags {
    /// Owner marker: `berth`.
    pub const MANAGED_BY: &str = "berth:managed-by";
    /// The slot's pool.
    pub const POOL: &str = "berth:pool";
    /// The slot's name.
    pub const SLOT: &str = "berth:slot";
    /// The bot's id.
    pub const BOT: &str = "berth:bot";
    /// The lease epoch.
    pub const EPOCH: &str = "berth:epoch";
    /// The slot description (reference 003).
    pub const DESCRIPTION: &str = "berth:description";
}

/// How tasks get capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capacity {
    /// A launch type (`FARGATE`, `EC2`, `EXTERNAL`).
    LaunchType(String),
    /// A capacity provider strategy: (provider, weight, base).
    Strategy(Vec<(String, i32, i32)>),
}

/// ECS configuration (environment variables `ECS_*`, see README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsSettings {
    /// Region (`ECS_REGION`, else `AWS_REGION` / `AWS_DEFAULT_REGION`).
    pub region: String,
    /// Named profile (`ECS_PROFILE`); `None`: the standard credential chain.
    pub profile: Option<String>,
    /// Endpoint override (`ECS_ENDPOINT_URL`), e.g. an emulator.
    pub endpoint_url: Option<String>,
    /// Cluster name or ARN (`ECS_CLUSTER`).
    pub cluster: String,
    /// awsvpc subnets (`ECS_SUBNETS`, comma-separated).
    pub subnets: Vec<String>,
    /// awsvpc security groups (`ECS_SECURITY_GROUPS`).
    pub security_groups: Vec<String>,
    /// Assign a public IP (`ECS_ASSIGN_PUBLIC_IP`).
    pub assign_public_ip: bool,
    /// Task definition per meeting platform (`ECS_TASK_DEFINITION_<MEETING>`,
    /// else `ECS_TASK_DEFINITION`).
    pub task_definitions: HashMap<MeetingPlatform, String>,
    /// The container the bot's environment goes to (`ECS_CONTAINER_NAME`).
    pub container_name: String,
    /// Launch type or capacity provider strategy.
    pub capacity: Capacity,
}

fn missing(var: &str, message: impl Into<String>) -> Error {
    Error::config(ErrorCode::ConfigMissing, var, message)
}

fn invalid(var: &str, message: impl Into<String>) -> Error {
    Error::config(ErrorCode::ConfigInvalid, var, message)
}

use crate::config::var::{flag, list, text as set};

impl EcsSettings {
    /// Reads the ECS configuration; every error names its variable.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let region = set(get, "ECS_REGION")
            .or_else(|| set(get, "AWS_REGION"))
            .or_else(|| set(get, "AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                missing(
                    "ECS_REGION",
                    "is required for aws (or set AWS_REGION), e.g. ECS_REGION=eu-west-1",
                )
            })?;
        let cluster = set(get, "ECS_CLUSTER").ok_or_else(|| {
            missing(
                "ECS_CLUSTER",
                "is required for aws: the cluster name or ARN",
            )
        })?;
        let subnets = list(get, "ECS_SUBNETS")?;
        if subnets.is_empty() {
            return Err(missing(
                "ECS_SUBNETS",
                "is required for aws: comma-separated subnet ids for the tasks' awsvpc network",
            ));
        }
        let security_groups = list(get, "ECS_SECURITY_GROUPS")?;
        let assign_public_ip = flag(get, "ECS_ASSIGN_PUBLIC_IP")?.unwrap_or(false);
        let fallback = set(get, "ECS_TASK_DEFINITION");
        let mut task_definitions = HashMap::new();
        for mp in MeetingPlatform::ALL {
            let var = format!(
                "ECS_TASK_DEFINITION_{}",
                mp.as_str().replace('-', "_").to_ascii_uppercase()
            );
            let td = set(get, &var).or_else(|| fallback.clone()).ok_or_else(|| {
                missing(
                    &var,
                    format!(
                        "is required for aws (or ECS_TASK_DEFINITION for every meeting platform): the task definition that runs {} bots",
                        mp.as_str()
                    ),
                )
            })?;
            task_definitions.insert(*mp, td);
        }
        let launch_type = set(get, "ECS_LAUNCH_TYPE");
        let strategy = set(get, "ECS_CAPACITY_PROVIDER_STRATEGY");
        let capacity = match (launch_type, strategy) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "ECS_CAPACITY_PROVIDER_STRATEGY",
                    "set either ECS_LAUNCH_TYPE or ECS_CAPACITY_PROVIDER_STRATEGY, not both",
                ))
            }
            (_, Some(raw)) => Capacity::Strategy(parse_strategy(&raw)?),
            (Some(lt), None) => {
                let lt = lt.to_ascii_uppercase();
                if !["FARGATE", "EC2", "EXTERNAL"].contains(&lt.as_str()) {
                    return Err(invalid(
                        "ECS_LAUNCH_TYPE",
                        format!("must be FARGATE, EC2 or EXTERNAL, got {lt:?}"),
                    ));
                }
                Capacity::LaunchType(lt)
            }
            (None, None) => Capacity::LaunchType("FARGATE".into()),
        };
        Ok(EcsSettings {
            region,
            profile: set(get, "ECS_PROFILE"),
            endpoint_url: set(get, "ECS_ENDPOINT_URL"),
            cluster,
            subnets,
            security_groups,
            assign_public_ip,
            task_definitions,
            container_name: set(get, "ECS_CONTAINER_NAME").unwrap_or_else(|| "bot".into()),
            capacity,
        })
    }
}

/// `provider:weight[:base],...` e.g. `FARGATE_SPOT:3,FARGATE:1:1`.
fn parse_strategy(raw: &str) -> Result<Vec<(String, i32, i32)>> {
    const VAR: &str = "ECS_CAPACITY_PROVIDER_STRATEGY";
    let mut out = Vec::new();
    for item in raw.split(',') {
        let parts: Vec<&str> = item.trim().split(':').collect();
        let bad = || {
            invalid(
                VAR,
                format!("entry {item:?} must be provider:weight[:base] with whole numbers, e.g. FARGATE_SPOT:3,FARGATE:1:1"),
            )
        };
        let (name, weight, base) = match parts.as_slice() {
            [n, w] => (*n, w.parse().map_err(|_| bad())?, 0),
            [n, w, b] => (
                *n,
                w.parse().map_err(|_| bad())?,
                b.parse().map_err(|_| bad())?,
            ),
            _ => return Err(bad()),
        };
        if name.is_empty() || !(0..=1000).contains(&weight) || !(0..=100_000).contains(&base) {
            return Err(bad());
        }
        out.push((name.to_string(), weight, base));
    }
    Ok(out)
}

/// The ECS adapter.
pub struct EcsPlatform {
    client: aws_sdk_ecs::Client,
    settings: EcsSettings,
    caller: Arc<Caller>,
}

/// Static credentials for tests and emulators (never logged: the SDK's
/// `Credentials` redacts its secret in `Debug`).
pub use aws_sdk_ecs::config::Credentials;

impl EcsPlatform {
    /// Builds the SDK client: region, profile or the standard credential
    /// chain (or `credentials`), endpoint override; ring-based rustls as the
    /// only TLS provider; SDK retries off.
    pub async fn connect(
        settings: EcsSettings,
        credentials: Option<Credentials>,
        policy: Policy,
    ) -> Self {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(settings.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &settings.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        if let Some(c) = credentials {
            loader = loader.credentials_provider(c);
        }
        let shared = loader.load().await;
        EcsPlatform {
            client: aws_sdk_ecs::Client::new(&shared),
            settings,
            caller: Arc::new(Caller::new(PlatformKind::Aws, policy)),
        }
    }

    /// The same adapter with its breaker's cool-down on `clock` (the
    /// instance's clock; a manual one in tests).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        let policy = self.caller.policy().clone();
        self.caller = Arc::new(Caller::with_clock(PlatformKind::Aws, policy, clock));
        self
    }

    /// The SDK client (tests set emulators up through it).
    pub fn client(&self) -> &aws_sdk_ecs::Client {
        &self.client
    }

    /// The settings in force.
    pub fn settings(&self) -> &EcsSettings {
        &self.settings
    }

    /// The shared caller (breaker state, for health).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// `startedBy` and `clientToken` of one assignment (≤ 63 characters,
    /// letters, digits and hyphens: valid for both fields). The slot's
    /// database id is part of it: a slot deleted and created again under the
    /// same name starts its epochs over, and must not reuse (and so adopt)
    /// an earlier task's token within ECS's idempotency window.
    pub fn assignment_token(slot: &SlotRef) -> String {
        naming::dns_label(
            &format!("berth-{}-s{}-e{}", slot.slot_name, slot.slot_id, slot.epoch),
            63,
        )
    }

    async fn running_tasks_for(&self, token: &str) -> Result<Vec<String>, Fault> {
        let out = self
            .client
            .list_tasks()
            .cluster(&self.settings.cluster)
            .started_by(token)
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .map_err(fault)?;
        Ok(out.task_arns.unwrap_or_default())
    }

    async fn list_arns(&self, status: DesiredStatus) -> Result<Vec<String>, PlatformError> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let token = next.clone();
            let page = self
                .caller
                .run("list", None, || {
                    let req = self
                        .client
                        .list_tasks()
                        .cluster(&self.settings.cluster)
                        .desired_status(status.clone())
                        .max_results(100)
                        .set_next_token(token.clone());
                    async move { req.send().await.map_err(fault) }
                })
                .await;
            let page = page?;
            arns.extend(page.task_arns.unwrap_or_default());
            match page.next_token {
                Some(t) if !t.is_empty() => next = Some(t),
                _ => return Ok(arns),
            }
        }
    }
}

/// Maps an SDK failure onto a [`Fault`]: throttling, 5xx, timeouts and
/// connection failures are transient; 401/403/404/409 by status or error
/// code; anything else is a rejection.
pub fn fault<E>(e: SdkError<E, HttpResponse>) -> Fault
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::TimeoutError(_) => Fault::Transient {
            message: "request timed out".into(),
            retry_after: None,
        },
        SdkError::DispatchFailure(d) => Fault::Transient {
            message: format!("connection failed: {:?}", d.as_connector_error()),
            retry_after: None,
        },
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            let message = format!("unreadable reply (HTTP {status})");
            if status >= 500 || status == 429 {
                Fault::Transient {
                    message,
                    retry_after: None,
                }
            } else {
                Fault::Rejected(message)
            }
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let retry_after = s
                .raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(std::time::Duration::from_secs);
            let err = s.err();
            let code = err.code().unwrap_or("");
            let message = format!(
                "{} (HTTP {status}): {}",
                if code.is_empty() { "error" } else { code },
                err.message().unwrap_or("")
            );
            match classify(status, code, err.message().unwrap_or(""), message) {
                Fault::Transient { message, .. } => Fault::Transient {
                    message,
                    retry_after,
                },
                other => other,
            }
        }
        _ => Fault::Rejected(format!("request not sent: {}", error_chain(&e))),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Status codes and ECS error codes to a [`Fault`].
fn classify(status: u16, code: &str, text: &str, message: String) -> Fault {
    match (status, code) {
        (429, _) | (_, "ThrottlingException" | "Throttling" | "TooManyRequestsException") => {
            Fault::Transient {
                message,
                retry_after: None,
            }
        }
        (500..=599, _) | (_, "ServerException" | "ServiceUnavailable") => Fault::Transient {
            message,
            retry_after: None,
        },
        (401, _)
        | (
            _,
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "MissingAuthenticationToken",
        ) => Fault::Unauthenticated(message),
        (403, _) | (_, "AccessDeniedException" | "AccessDenied") => Fault::Forbidden(message),
        (404, _) | (_, "ClusterNotFoundException" | "ResourceNotFoundException") => {
            Fault::NotFound(message)
        }
        (409, _) | (_, "ConflictException" | "ResourceInUseException") => Fault::Conflict(message),
        // StopTask of a task ECS no longer knows: a 400 whose text says so.
        (_, "InvalidParameterException") if text.to_ascii_lowercase().contains("not found") => {
            Fault::NotFound(message)
        }
        _ => Fault::Rejected(message),
    }
}

fn tag(key: &str, value: impl Into<String>) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// ECS tag values allow letters, digits, spaces and `_ . : / = + - @`, up to
/// 256 characters; anything else becomes a space.
fn tag_value(text: &str) -> String {
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

#[async_trait::async_trait]
impl Platform for EcsPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Aws
    }

    /// ECS pulls images itself when a task starts; nothing to do ahead.
    async fn pull_image(&self, _image: &str) -> Result<(), PlatformError> {
        Ok(())
    }

    async fn create_resource(
        &self,
        slot: &SlotRef,
        _spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        Ok(format!(
            "ecs-slot/{}",
            naming::slot_identity(&slot.slot_name)
        ))
    }

    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        let token = Self::assignment_token(slot);
        let Some(task_definition) = self.settings.task_definitions.get(&bot.meeting_platform)
        else {
            return Err(PlatformError {
                platform: PlatformKind::Aws,
                operation: "start",
                kind: super::FailureKind::Rejected,
                message: format!("no task definition for {}", bot.meeting_platform.as_str()),
            });
        };
        let env = super::bot_env(slot, bot)
            .into_iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect::<Vec<_>>();
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(self.settings.subnets.clone()))
            .set_security_groups(
                (!self.settings.security_groups.is_empty())
                    .then(|| self.settings.security_groups.clone()),
            )
            .assign_public_ip(if self.settings.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| PlatformError {
                platform: PlatformKind::Aws,
                operation: "start",
                kind: super::FailureKind::Rejected,
                message: format!("network configuration: {e}"),
            })?;
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
                    .name(&self.settings.container_name)
                    .set_environment(Some(env))
                    .build(),
            )
            .build();
        let arn = self
            .caller
            .run("start", Some(&slot.slot_name), || async {
                // A retry after a lost reply must not start a second task.
                if let Some(arn) = self.running_tasks_for(&token).await?.into_iter().next() {
                    return Ok(arn);
                }
                let mut req = self
                    .client
                    .run_task()
                    .cluster(&self.settings.cluster)
                    .task_definition(task_definition)
                    .count(1)
                    .started_by(&token)
                    .client_token(&token)
                    .network_configuration(
                        NetworkConfiguration::builder()
                            .awsvpc_configuration(vpc.clone())
                            .build(),
                    )
                    .overrides(overrides.clone())
                    .set_tags(Some(tags.clone()))
                    .propagate_tags(PropagateTags::TaskDefinition);
                req = match &self.settings.capacity {
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
                };
                let out = req.send().await.map_err(fault)?;
                if let Some(f) = out.failures().first() {
                    return Err(Fault::Rejected(format!(
                        "task not started: {} {}",
                        f.reason().unwrap_or("unknown reason"),
                        f.detail().unwrap_or("")
                    )));
                }
                out.tasks()
                    .first()
                    .and_then(|t| t.task_arn().map(str::to_string))
                    .ok_or_else(|| Fault::Rejected("RunTask returned no task".into()))
            })
            .await?;
        Ok(Some(arn))
    }

    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        let token = Self::assignment_token(slot);
        let known = slot.platform_ref.clone().filter(|r| r.starts_with("arn:"));
        self.caller
            .run("stop", Some(&slot.slot_name), || async {
                // Before `start` recorded the ARN (a crash in between), the
                // task is found by the assignment's `startedBy`.
                let arns = match &known {
                    Some(arn) => vec![arn.clone()],
                    None => self.running_tasks_for(&token).await?,
                };
                for arn in arns {
                    match self
                        .client
                        .stop_task()
                        .cluster(&self.settings.cluster)
                        .task(&arn)
                        .reason("released by Berth")
                        .send()
                        .await
                        .map_err(fault)
                    {
                        Ok(_) | Err(Fault::NotFound(_)) => {}
                        Err(f) => return Err(f),
                    }
                }
                Ok(())
            })
            .await
    }

    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        // Nothing outlives a task; stopping it is all there is to delete.
        self.stop(slot).await
    }

    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        let Some(arn) = slot
            .platform_ref
            .as_deref()
            .filter(|r| r.starts_with("arn:"))
        else {
            // No task yet: ECS has nowhere to keep a slot's description.
            return Ok(());
        };
        let value = tag_value(description);
        self.caller
            .run("describe", Some(&slot.slot_name), || {
                let req = self
                    .client
                    .tag_resource()
                    .resource_arn(arn)
                    .tags(tag(tags::DESCRIPTION, value.clone()));
                async move { req.send().await.map(|_| ()).map_err(fault) }
            })
            .await
    }

    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        // STOPPED tasks too: that is where exits (and exit codes) show.
        let mut arns = self.list_arns(DesiredStatus::Running).await?;
        arns.extend(self.list_arns(DesiredStatus::Stopped).await?);
        arns.sort();
        arns.dedup();
        let mut out = Vec::new();
        // DescribeTasks takes at most 100 tasks per call.
        for batch in arns.chunks(100) {
            let tasks = self
                .caller
                .run("list", None, || {
                    let req = self
                        .client
                        .describe_tasks()
                        .cluster(&self.settings.cluster)
                        .set_tasks(Some(batch.to_vec()))
                        .include(TaskField::Tags);
                    async move { req.send().await.map_err(fault) }
                })
                .await?;
            for t in tasks.tasks() {
                let tag_of = |k: &str| {
                    t.tags()
                        .iter()
                        .find(|x| x.key() == Some(k))
                        .and_then(|x| x.value())
                };
                // Only Berth's tasks: the cluster may run anything else too.
                if tag_of(tags::MANAGED_BY) != Some("berth") {
                    continue;
                }
                let Some(arn) = t.task_arn() else { continue };
                let last = t.last_status().unwrap_or("UNKNOWN");
                let stop_code = t.stop_code().map(|c| c.as_str().to_string());
                let exit_codes: Vec<Option<i32>> =
                    t.containers().iter().map(|c| c.exit_code()).collect();
                let state = map_state(last, stop_code.as_deref(), &exit_codes);
                let mut raw = format!(
                    "lastStatus={last} desiredStatus={}",
                    t.desired_status().unwrap_or("?")
                );
                if let Some(c) = &stop_code {
                    raw.push_str(&format!(" stopCode={c}"));
                }
                if !exit_codes.is_empty() {
                    raw.push_str(&format!(" exitCodes={exit_codes:?}"));
                }
                out.push(Workload {
                    resource: arn.to_string(),
                    bot_id: tag_of(tags::BOT).and_then(|v| v.parse().ok()),
                    epoch: tag_of(tags::EPOCH).and_then(|v| v.parse().ok()),
                    state,
                    raw_status: raw,
                });
            }
        }
        Ok(out)
    }

    /// Healthy when `DescribeClusters` answers and the cluster is ACTIVE;
    /// down when it is missing or inactive, or the call fails. One probe
    /// through the breaker: while it is open and cooling down ECS is not
    /// called; after the cool-down a success closes it.
    async fn health(&self) -> Health {
        let answer = self
            .caller
            .probe("health", || {
                let req = self
                    .client
                    .describe_clusters()
                    .clusters(&self.settings.cluster);
                async move { req.send().await.map_err(fault) }
            })
            .await;
        match answer {
            Ok(out) => match out.clusters().first().and_then(|c| c.status()) {
                Some("ACTIVE") => Health::Healthy,
                _ => Health::Down,
            },
            Err(e) => {
                tracing::debug!(platform = "aws", kind = ?e.kind, error = %e.message, "health check failed");
                Health::Down
            }
        }
    }

    fn unavailable(&self) -> Option<String> {
        self.caller.breaker_reason()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
