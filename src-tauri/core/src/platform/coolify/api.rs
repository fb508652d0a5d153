//! Coolify's REST API: authenticated requests, one attempt's answer
//! classified as a [`Fault`], and the application lookups.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::SystemTime;

use super::app::Application;
use super::CoolifyPlatform;
use crate::meeting::PlatformKind;
use crate::platform::call::{parse_retry_after, Fault};
use crate::platform::{FailureKind, PlatformError, SlotRef};

impl CoolifyPlatform {
    pub(super) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose_secret())
    }

    /// Sends one attempt and classifies the answer.
    pub(super) async fn send(&self, req: RequestBuilder) -> Result<Response, Fault> {
        let req = req
            .build()
            .map_err(|e| Fault::Rejected(format!("bad request: {e}")))?;
        let (method, path) = (req.method().clone(), req.url().path().to_string());
        let resp = self.http.execute(req).await.map_err(|e| {
            // reqwest's messages name the URL (no credentials in it), never headers.
            Fault::transient(format!("{method} {path}: {}", e.without_url()))
        })?;
        if let Some(o) = &self.observer {
            o(&method, &path, resp.headers());
        }
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = resp.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let message = format!(
            "{method} {path}: HTTP {} {}",
            status.as_u16(),
            detail.trim()
        );
        Err(match status {
            StatusCode::UNAUTHORIZED => Fault::Unauthenticated(message),
            StatusCode::FORBIDDEN => Fault::Forbidden(message),
            StatusCode::NOT_FOUND => Fault::NotFound(message),
            StatusCode::CONFLICT => Fault::Conflict(message),
            StatusCode::TOO_MANY_REQUESTS => Fault::Transient {
                message,
                retry_after,
            },
            s if s.is_server_error() => Fault::Transient {
                message,
                retry_after,
            },
            _ => Fault::Rejected(message),
        })
    }

    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<T, Fault> {
        let resp = self.send(req).await?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| Fault::transient(format!("reading the answer: {}", e.without_url())))?;
        serde_json::from_slice(&body)
            .map_err(|e| Fault::Rejected(format!("unexpected answer from Coolify: {e}")))
    }

    pub(super) fn uuid<'a>(
        &self,
        operation: &'static str,
        slot: &'a SlotRef,
    ) -> Result<&'a str, PlatformError> {
        slot.platform_ref.as_deref().ok_or_else(|| PlatformError {
            platform: PlatformKind::Coolify,
            operation,
            kind: FailureKind::Rejected,
            message: format!("slot {} has no Coolify application yet", slot.slot_name),
        })
    }

    pub(super) async fn applications(&self) -> Result<Vec<Application>, Fault> {
        self.json(self.request(Method::GET, "/applications")).await
    }

    pub(super) async fn find(&self, name: &str) -> Result<Option<Application>, Fault> {
        Ok(self
            .applications()
            .await?
            .into_iter()
            .find(|a| a.name.as_deref() == Some(name)))
    }

    /// Patches slot `slot`'s application with `body` under `operation`
    /// (through the caller: retries, breaker, metrics). A slot with no
    /// application yet is `Rejected`.
    pub(super) async fn patch_application(
        &self,
        operation: &'static str,
        slot: &SlotRef,
        body: &serde_json::Value,
    ) -> Result<(), PlatformError> {
        let uuid = self.uuid(operation, slot)?;
        self.caller
            .run(operation, Some(&slot.slot_name), move || async move {
                self.send(
                    self.request(Method::PATCH, &format!("/applications/{uuid}"))
                        .json(body),
                )
                .await
                .map(drop)
            })
            .await
    }
}
