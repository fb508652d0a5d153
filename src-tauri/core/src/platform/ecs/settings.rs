//! The ECS adapter's settings (`ECS_*` variables) and its tag keys.

use std::collections::HashMap;

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::MeetingPlatform;

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
