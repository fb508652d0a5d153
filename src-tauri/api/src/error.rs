//! Refusals: every 4xx and 5xx answer is `{"error":{"code","message"}}`
//! with the core's [`ErrorCode`], and [`status_of`] is the one place that
//! decides each code's HTTP status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_core::{Error, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

/// The HTTP status of each code. Exhaustive on purpose: a new code must
/// be given a status here before the API builds.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidInput | DefinitionInvalid | QueryRefused | IdempotencyKeyReused => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        MalformedRequest => StatusCode::BAD_REQUEST,
        Unauthorized => StatusCode::UNAUTHORIZED,
        Forbidden => StatusCode::FORBIDDEN,
        // The bot's lease is over for good: the workload should exit.
        LeaseEnded => StatusCode::GONE,
        NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        StaleTransition | Conflict | PoolExhausted | QueueTimeout | PlatformRefused | SlotBusy
        | NotApplicable | WindowFull => StatusCode::CONFLICT,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        PlatformFailed => StatusCode::BAD_GATEWAY,
        DatabaseUnavailable | SchemaOutdated | EmbeddedDatabase => StatusCode::SERVICE_UNAVAILABLE,
        ConfigInvalid | ConfigMissing | MigrationFailed | Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The body of every refusal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A refusal's code and message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: switch on this, never on the message.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

/// A refusal: the core's error, answered with its code's status.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl ApiError {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(Error::new(code, message))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = status_of(code);
        if status.is_server_error() {
            tracing::warn!(%code, error = %self.0, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.0.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if code == ErrorCode::Unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What a handler returns.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
