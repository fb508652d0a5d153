//! How ECS and SDK failures map onto the caller's [`Fault`]s.

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::platform::call::Fault;

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
pub(super) fn classify(status: u16, code: &str, text: &str, message: String) -> Fault {
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
