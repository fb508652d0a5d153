//! The Kubernetes adapter's settings (`K8S_*` variables) and label keys.

use crate::error::{Error, ErrorCode, Result};
use crate::platform::naming;

/// Label keys Berth puts on its objects.
pub mod labels {
    /// Owner marker; value `berth`.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// The slot's pool.
    pub const POOL: &str = "berth.dev/pool";
    /// The slot identity (= the ConfigMap's name = `platform_ref`).
    pub const SLOT: &str = "berth.dev/slot";
    /// The bot's id.
    pub const BOT: &str = "berth.dev/bot";
    /// The lease epoch.
    pub const EPOCH: &str = "berth.dev/epoch";
    /// Annotation holding the slot description.
    pub const DESCRIPTION: &str = "berth.dev/description";
    /// Annotation naming the image the slot's next Job runs.
    pub const IMAGE: &str = "berth.dev/image";
}

/// Where the client configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeSource {
    /// The service account of the pod Berth runs in (`K8S_IN_CLUSTER=true`).
    InCluster,
    /// A kubeconfig file (`K8S_KUBECONFIG`), optionally a context in it.
    File {
        /// Path of the kubeconfig.
        path: String,
        /// Context name (`K8S_CONTEXT`); `None`: the current context.
        context: Option<String>,
    },
    /// `KUBECONFIG` / `~/.kube/config`, else in-cluster (kube's inference);
    /// with a context name when `K8S_CONTEXT` is set.
    Infer {
        /// Context name.
        context: Option<String>,
    },
}

/// Kubernetes configuration (environment variables `K8S_*`, see README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Client configuration source.
    pub source: KubeSource,
    /// Namespace of the Jobs and ConfigMaps (`K8S_NAMESPACE`, default `berth`).
    pub namespace: String,
    /// Registry prefixed to the pool image (`K8S_IMAGE_REGISTRY`).
    pub image_registry: Option<String>,
    /// Tag replacing the pool image's (`K8S_IMAGE_TAG`).
    pub image_tag: Option<String>,
    /// CPU request / limit (`K8S_CPU_REQUEST`, `K8S_CPU_LIMIT`).
    pub cpu_request: String,
    /// CPU limit.
    pub cpu_limit: String,
    /// Memory request / limit (`K8S_MEMORY_REQUEST`, `K8S_MEMORY_LIMIT`).
    pub memory_request: String,
    /// Memory limit.
    pub memory_limit: String,
    /// Size of the in-memory `/dev/shm` (`K8S_SHM_SIZE`).
    pub shm_size: String,
    /// Image pull secrets (`K8S_IMAGE_PULL_SECRETS`, comma-separated).
    pub pull_secrets: Vec<String>,
    /// Seconds a finished Job is kept (`K8S_JOB_TTL_SECONDS`).
    pub ttl_seconds: i32,
}

use crate::config::var::{flag, text as set};

fn invalid(var: &str, message: impl Into<String>) -> Error {
    Error::config(ErrorCode::ConfigInvalid, var, message)
}

/// A Kubernetes quantity: digits (with an optional fraction) and a known suffix.
fn quantity(get: &dyn Fn(&str) -> Option<String>, var: &str, default: &str) -> Result<String> {
    let Some(v) = set(get, var) else {
        return Ok(default.to_string());
    };
    if crate::quantity::is_valid(&v) {
        Ok(v)
    } else {
        Err(invalid(
            var,
            format!(
                "must be a positive Kubernetes quantity such as 500m, 2, 512Mi or 1Gi, got {v:?}"
            ),
        ))
    }
}

impl KubeSettings {
    /// Reads the Kubernetes configuration; every error names its variable.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let in_cluster = flag(get, "K8S_IN_CLUSTER")?.unwrap_or(false);
        let context = set(get, "K8S_CONTEXT");
        let source = match (in_cluster, set(get, "K8S_KUBECONFIG")) {
            (true, Some(_)) => {
                return Err(invalid(
                    "K8S_IN_CLUSTER",
                    "is true but K8S_KUBECONFIG is set too; choose one",
                ))
            }
            (true, None) if context.is_some() => {
                return Err(invalid(
                    "K8S_CONTEXT",
                    "has no meaning with K8S_IN_CLUSTER=true",
                ))
            }
            (true, None) => KubeSource::InCluster,
            (false, Some(path)) => KubeSource::File { path, context },
            (false, None) => KubeSource::Infer { context },
        };
        let namespace = set(get, "K8S_NAMESPACE").unwrap_or_else(|| "berth".into());
        if naming::dns_label(&namespace, 63) != namespace {
            return Err(invalid(
                "K8S_NAMESPACE",
                format!("{namespace:?} is not a valid namespace name (lowercase letters, digits and '-')"),
            ));
        }
        let pull_secrets = match set(get, "K8S_IMAGE_PULL_SECRETS") {
            None => Vec::new(),
            Some(raw) => {
                let items: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).collect();
                if items.iter().any(String::is_empty) {
                    return Err(invalid(
                        "K8S_IMAGE_PULL_SECRETS",
                        format!("has an empty entry in {raw:?}"),
                    ));
                }
                items
            }
        };
        let ttl_seconds = match set(get, "K8S_JOB_TTL_SECONDS") {
            None => 300,
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=604_800).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "K8S_JOB_TTL_SECONDS",
                        format!("must be a whole number of seconds from 0 to 604800, got {v:?}"),
                    )
                })?,
        };
        Ok(KubeSettings {
            source,
            namespace,
            image_registry: set(get, "K8S_IMAGE_REGISTRY")
                .map(|r| r.trim_end_matches('/').to_string()),
            image_tag: set(get, "K8S_IMAGE_TAG"),
            cpu_request: quantity(get, "K8S_CPU_REQUEST", "500m")?,
            cpu_limit: quantity(get, "K8S_CPU_LIMIT", "2")?,
            memory_request: quantity(get, "K8S_MEMORY_REQUEST", "1Gi")?,
            memory_limit: quantity(get, "K8S_MEMORY_LIMIT", "2Gi")?,
            shm_size: quantity(get, "K8S_SHM_SIZE", "1Gi")?,
            pull_secrets,
            ttl_seconds,
        })
    }

    /// The image to run for a pool image (`registry/name:tag`).
    pub fn image(&self, pool_image: &str) -> String {
        let mut image = pool_image.to_string();
        if let Some(tag) = &self.image_tag {
            // The tag is after the last ':' that follows the last '/'.
            let name_start = image.rfind('/').map_or(0, |i| i + 1);
            if let Some(colon) = image[name_start..].rfind(':') {
                image.truncate(name_start + colon);
            }
            image = format!("{image}:{tag}");
        }
        match &self.image_registry {
            Some(r) => format!("{r}/{image}"),
            None => image,
        }
    }

    /// Builds a client configuration from the source.
    pub async fn client_config(&self) -> Result<kube::Config> {
        let fail = |var: &str, e: &dyn std::fmt::Display| {
            Error::config(
                ErrorCode::ConfigMissing,
                var,
                format!("no usable Kubernetes client configuration: {e}"),
            )
        };
        match &self.source {
            KubeSource::InCluster => {
                kube::Config::incluster().map_err(|e| fail("K8S_IN_CLUSTER", &e))
            }
            KubeSource::File { path, context } => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| fail("K8S_KUBECONFIG", &e))?;
                let opts = kube::config::KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kc, &opts)
                    .await
                    .map_err(|e| fail("K8S_KUBECONFIG", &e))
            }
            KubeSource::Infer { context: Some(c) } => {
                let opts = kube::config::KubeConfigOptions {
                    context: Some(c.clone()),
                    ..Default::default()
                };
                kube::Config::from_kubeconfig(&opts)
                    .await
                    .map_err(|e| fail("K8S_CONTEXT", &e))
            }
            KubeSource::Infer { context: None } => kube::Config::infer()
                .await
                .map_err(|e| fail("K8S_KUBECONFIG", &e)),
        }
    }
}
