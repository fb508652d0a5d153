//! The Coolify adapter's settings (`COOLIFY_*` variables).

use super::invalid;
use super::var::{text, Lookup};
use crate::error::{Error, ErrorCode, Result};
use crate::platform::secret::TokenSource;

/// Where and how the Coolify adapter works. Holds no secret: the API token
/// is read from its [`TokenSource`] when the adapter is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoolifyConfig {
    /// API base URL, without a trailing slash (`https://coolify.example.com/api/v1`).
    pub api_url: String,
    /// Project the pool's applications are created in.
    pub project_uuid: String,
    /// Server they run on.
    pub server_uuid: String,
    /// Docker network destination on that server, if the server has several.
    pub destination_uuid: Option<String>,
    /// Environment of the project, by name...
    pub environment_name: Option<String>,
    /// ...or by UUID (at least one of the two is set).
    pub environment_uuid: Option<String>,
    /// Where the API token comes from.
    pub token_source: TokenSource,
    /// Owner marker: Berth's applications are named `<prefix><slot name>`;
    /// only applications with this prefix are listed, adopted or removed.
    pub app_prefix: String,
}

/// Default owner-marker prefix of Berth's Coolify applications.
pub const DEFAULT_COOLIFY_APP_PREFIX: &str = "berth-";

impl CoolifyConfig {
    /// Reads Coolify's settings from `get` (a variable lookup). Called at
    /// start-up only when Coolify is an enabled platform outside development
    /// mode; a platform that is not enabled needs none of these. Every
    /// missing required variable is named at once; the error's variable is
    /// the first of them.
    pub fn parse(get: &Lookup<'_>) -> Result<CoolifyConfig> {
        parse_coolify(get)
    }
}

fn parse_coolify(get: &Lookup<'_>) -> Result<CoolifyConfig> {
    let mut missing = Vec::new();
    let mut need = |var: &'static str| {
        let v = text(get, var);
        if v.is_none() {
            missing.push(var);
        }
        v.unwrap_or_default()
    };
    let api_url = need("COOLIFY_API_URL");
    let project_uuid = need("COOLIFY_PROJECT_UUID");
    let server_uuid = need("COOLIFY_SERVER_UUID");
    let environment_name = text(get, "COOLIFY_ENVIRONMENT_NAME");
    let environment_uuid = text(get, "COOLIFY_ENVIRONMENT_UUID");
    if environment_name.is_none() && environment_uuid.is_none() {
        missing.push("COOLIFY_ENVIRONMENT_NAME (or COOLIFY_ENVIRONMENT_UUID)");
    }
    if let Some(first) = missing.first() {
        let var = first.split(' ').next().unwrap_or(first);
        return Err(Error::config(
            ErrorCode::ConfigMissing,
            var,
            format!(
                "coolify is an enabled platform (in PLATFORM_PRIORITY with COOLIFY_BOT_LIMIT) but its configuration is incomplete; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    let url = api_url_of(&api_url)?;
    let token_source = token_source(get)?;
    let app_prefix = app_prefix(get)?;
    Ok(CoolifyConfig {
        api_url: url,
        project_uuid,
        server_uuid,
        destination_uuid: text(get, "COOLIFY_DESTINATION_UUID"),
        environment_name,
        environment_uuid,
        token_source,
        app_prefix,
    })
}

/// `COOLIFY_API_URL` without its trailing slash: an http(s) URL with a
/// host and no credentials.
fn api_url_of(api_url: &str) -> Result<String> {
    let url = api_url.trim_end_matches('/').to_string();
    let parsed = reqwest::Url::parse(&url).map_err(|e| {
        invalid(
            "COOLIFY_API_URL",
            format!("is not a URL ({e}): {api_url:?}"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(
            "COOLIFY_API_URL",
            format!("must be an http(s) URL such as https://coolify.example.com/api/v1, got {api_url:?}"),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "COOLIFY_API_URL",
            "must not carry credentials; the API token comes from COOLIFY_TOKEN_SOURCE".into(),
        ));
    }
    Ok(url)
}

/// Where the API token comes from (`COOLIFY_TOKEN_SOURCE`), consistent
/// with whether `COOLIFY_API_TOKEN` is set.
fn token_source(get: &Lookup<'_>) -> Result<TokenSource> {
    let token_source = match text(get, "COOLIFY_TOKEN_SOURCE").as_deref() {
        None | Some("keychain") => TokenSource::Keychain,
        Some("env") => TokenSource::Env,
        Some(other) => {
            return Err(invalid(
                "COOLIFY_TOKEN_SOURCE",
                format!("must be keychain or env, got {other:?}"),
            ))
        }
    };
    let token_set = text(get, "COOLIFY_API_TOKEN").is_some();
    match token_source {
        TokenSource::Env if !token_set => {
            return Err(Error::config(
                ErrorCode::ConfigMissing,
                "COOLIFY_API_TOKEN",
                "is required when COOLIFY_TOKEN_SOURCE=env",
            ))
        }
        TokenSource::Keychain if token_set => {
            // Never pick a plain-text token over the keychain silently.
            return Err(invalid(
                "COOLIFY_API_TOKEN",
                "is set, but the token is read from the OS keychain (COOLIFY_TOKEN_SOURCE unset or keychain); set COOLIFY_TOKEN_SOURCE=env to use the variable, or unset it".into(),
            ));
        }
        _ => {}
    }
    Ok(token_source)
}

/// `COOLIFY_APP_PREFIX` (letters, digits, `-`, `_`), else the default.
fn app_prefix(get: &Lookup<'_>) -> Result<String> {
    let app_prefix =
        text(get, "COOLIFY_APP_PREFIX").unwrap_or_else(|| DEFAULT_COOLIFY_APP_PREFIX.to_string());
    if !app_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "COOLIFY_APP_PREFIX",
            format!("may hold only letters, digits, '-' and '_', got {app_prefix:?}"),
        ));
    }
    Ok(app_prefix)
}
