//! Request parts read with coded refusals: axum's own rejections answer in
//! plain text, these answer like every other refusal.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use berth_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body (`Content-Type: application/json`, at most
/// [`crate::MAX_BODY_BYTES`]): a body that is not JSON is
/// `malformed_request` (400), one that does not fit the type (an unknown
/// field, a wrong value) `invalid_input` (422), another content type
/// `unsupported_media_type` (415), a larger body `payload_too_large` (413).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(json_refusal(rejection)),
        }
    }
}

/// An optional JSON body: a request with no body at all (no
/// `Content-Type`, no length or length 0) is `None`; any other is read as
/// a [`Body`], with its refusals.
pub struct OptionalBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let empty = !headers.contains_key(axum::http::header::CONTENT_TYPE)
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|l| l.as_bytes() == b"0");
        if empty {
            return Ok(OptionalBody(None));
        }
        Body::<T>::from_request(req, state)
            .await
            .map(|Body(v)| OptionalBody(Some(v)))
    }
}

fn json_refusal(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidInput, text),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(ErrorCode::MalformedRequest, text),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
            )
        }
        _ => ApiError::new(ErrorCode::MalformedRequest, text),
    }
}

/// A query string; one that does not fit (an unknown parameter, a bad
/// value) is `invalid_input`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r: QueryRejection| ApiError::new(ErrorCode::InvalidInput, r.body_text()))
    }
}

/// Path parameters; one that does not parse (a bot id that is not a
/// number) is `invalid_input`.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r: PathRejection| ApiError::new(ErrorCode::InvalidInput, r.body_text()))
    }
}
