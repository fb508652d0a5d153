//! What the cluster says, in Berth's terms: API errors as [`Fault`]s and a
//! Job's status as a [`WorkloadState`].

use k8s_openapi::api::batch::v1::Job;

use crate::platform::call::Fault;
use crate::platform::WorkloadState;

/// Maps a kube error onto a [`Fault`] by HTTP status (emulators and proxies
/// use non-standard reasons; the code is what can be trusted).
pub fn fault(e: kube::Error) -> Fault {
    match e {
        kube::Error::Api(s) => {
            let message = format!("HTTP {} {}: {}", s.code, s.reason, s.message);
            // The API server's Retry-After also comes in the Status body.
            let retry_after = s
                .details
                .as_ref()
                .map(|d| d.retry_after_seconds)
                .filter(|n| *n > 0)
                .map(|n| std::time::Duration::from_secs(n.into()));
            match s.code {
                429 | 500..=599 => Fault::Transient {
                    message,
                    retry_after,
                },
                401 => Fault::Unauthenticated(message),
                403 => Fault::Forbidden(message),
                404 => Fault::NotFound(message),
                409 => Fault::Conflict(message),
                _ => Fault::Rejected(message),
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => Fault::Transient {
            message: format!("connection failed: {e}"),
            retry_after: None,
        },
        // Credentials could not be obtained (token file, exec plugin).
        kube::Error::Auth(_) => Fault::Unauthenticated(e.to_string()),
        other => Fault::Rejected(other.to_string()),
    }
}

/// Maps a Job's status to a [`WorkloadState`] and a raw status text.
pub fn job_state(job: &Job) -> (WorkloadState, String) {
    let Some(st) = &job.status else {
        return (WorkloadState::Running, "pending (no status yet)".into());
    };
    let conditions: Vec<&str> = st
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.status == "True")
        .map(|c| c.type_.as_str())
        .collect();
    let raw = format!(
        "active={} succeeded={} failed={} conditions={conditions:?}",
        st.active.unwrap_or(0),
        st.succeeded.unwrap_or(0),
        st.failed.unwrap_or(0),
    );
    let state = if conditions.contains(&"Complete") || st.succeeded.unwrap_or(0) > 0 {
        WorkloadState::Succeeded
    } else if conditions.contains(&"Failed") || st.failed.unwrap_or(0) > 0 {
        WorkloadState::Failed
    } else if conditions.contains(&"Suspended") {
        WorkloadState::Stopped
    } else {
        WorkloadState::Running
    };
    (state, raw)
}
