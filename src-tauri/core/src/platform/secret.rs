//! Platform API tokens: from the OS keychain (`keyring`) or, on headless
//! servers, from an environment variable the operator chose explicitly.
//!
//! A token lives in a [`SecretString`] (its `Debug` prints `[REDACTED]`,
//! its memory is zeroed on drop) from the moment it is read until it goes
//! into an `Authorization` header. It is never written to the database,
//! never returned to the UI, never logged. A missing or locked keychain is
//! a typed error naming the fix — never a silent fallback to plain text.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorCode};
use crate::meeting::PlatformKind;

/// The keychain service under which Berth keeps tokens; the entry (user)
/// is the platform's name (`coolify`).
pub const KEYCHAIN_SERVICE: &str = "berth";

/// Where a platform's API token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The OS keychain (service `berth`, entry = platform name).
    Keychain,
    /// An environment variable (`COOLIFY_API_TOKEN`), for headless servers.
    Env,
}

impl TokenSource {
    /// The text form used in `*_TOKEN_SOURCE`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Keychain => "keychain",
            TokenSource::Env => "env",
        }
    }
}

/// Why a token could not be had. Messages never contain the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The keychain holds no token for the platform.
    #[error("no {platform} API token in the OS keychain (service \"berth\", entry \"{platform}\"); store one with `berth secret set {platform}`, or set {prefix}_TOKEN_SOURCE=env and {prefix}_API_TOKEN on a headless server")]
    Missing {
        /// Platform name.
        platform: String,
        /// Its variable prefix.
        prefix: String,
    },
    /// The keychain could not be used (locked, no keyring service, denied).
    #[error("the OS keychain is not available ({detail}); unlock it, or set {prefix}_TOKEN_SOURCE=env and {prefix}_API_TOKEN on a headless server")]
    Unavailable {
        /// The keychain's own explanation.
        detail: String,
        /// The platform's variable prefix.
        prefix: String,
    },
    /// The environment variable is unset or empty.
    #[error(
        "{var} is not set or empty, but {prefix}_TOKEN_SOURCE=env says the token comes from it"
    )]
    EnvMissing {
        /// The variable.
        var: String,
        /// The platform's variable prefix.
        prefix: String,
    },
    /// The token given to store is empty.
    #[error("the token is empty")]
    Empty,
}

impl From<SecretError> for Error {
    fn from(e: SecretError) -> Self {
        let var = match &e {
            SecretError::Missing { prefix, .. } | SecretError::Unavailable { prefix, .. } => {
                format!("{prefix}_TOKEN_SOURCE")
            }
            SecretError::EnvMissing { var, .. } => var.clone(),
            SecretError::Empty => "token".to_string(),
        };
        let code = match &e {
            SecretError::Empty => ErrorCode::InvalidInput,
            _ => ErrorCode::ConfigMissing,
        };
        Error::config(code, var, e.to_string())
    }
}

fn entry(platform: PlatformKind) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(KEYCHAIN_SERVICE, platform.as_str()).map_err(|e| unavailable(platform, &e))
}

fn unavailable(platform: PlatformKind, e: &keyring::Error) -> SecretError {
    SecretError::Unavailable {
        detail: e.to_string(),
        prefix: platform.env_prefix().to_string(),
    }
}

/// Reads `platform`'s token from `entry`.
pub fn read_entry(
    platform: PlatformKind,
    entry: &keyring::Entry,
) -> Result<SecretString, SecretError> {
    match entry.get_password() {
        Ok(t) if !t.trim().is_empty() => Ok(SecretString::from(t.trim().to_string())),
        Ok(_) | Err(keyring::Error::NoEntry) => Err(SecretError::Missing {
            platform: platform.as_str().to_string(),
            prefix: platform.env_prefix().to_string(),
        }),
        Err(e) => Err(unavailable(platform, &e)),
    }
}

/// Loads `platform`'s API token from `source`; `get` looks up environment
/// variables (`<PREFIX>_API_TOKEN` for [`TokenSource::Env`]).
pub fn load(
    platform: PlatformKind,
    source: TokenSource,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, SecretError> {
    match source {
        TokenSource::Env => {
            let var = format!("{}_API_TOKEN", platform.env_prefix());
            match get(&var) {
                Some(t) if !t.trim().is_empty() => Ok(SecretString::from(t.trim().to_string())),
                _ => Err(SecretError::EnvMissing {
                    var,
                    prefix: platform.env_prefix().to_string(),
                }),
            }
        }
        TokenSource::Keychain => read_entry(platform, &entry(platform)?),
    }
}

/// Stores `token` as `platform`'s API token in the OS keychain.
pub fn store(platform: PlatformKind, token: &SecretString) -> Result<(), SecretError> {
    let t = token.expose_secret().trim();
    if t.is_empty() {
        return Err(SecretError::Empty);
    }
    entry(platform)?.set_password(t).map_err(|e| match e {
        // keyutils answers ENOKEY when the process has no session keyring
        // (no login session, e.g. a container or a bare `su`).
        keyring::Error::NoEntry => SecretError::Unavailable {
            detail: "no keyring for this session; on Linux run it from a login session (or under `keyctl session`)".into(),
            prefix: platform.env_prefix().to_string(),
        },
        e => unavailable(platform, &e),
    })
}

/// Reads a token from `input` (all of it, surrounding whitespace trimmed;
/// e.g. standard input, so it never appears in the shell history or the
/// process list) and stores it in the OS keychain for `platform`.
pub fn store_from(
    platform: PlatformKind,
    input: &mut dyn std::io::Read,
) -> Result<(), SecretError> {
    let mut raw = String::new();
    input
        .read_to_string(&mut raw)
        .map_err(|e| SecretError::Unavailable {
            detail: format!("cannot read the token: {e}"),
            prefix: platform.env_prefix().to_string(),
        })?;
    let token = SecretString::from(raw.trim().to_string());
    drop(raw);
    store(platform, &token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_source_needs_the_variable() {
        let none = |_: &str| None;
        let e = load(PlatformKind::Coolify, TokenSource::Env, &none).unwrap_err();
        assert!(e.to_string().contains("COOLIFY_API_TOKEN"), "{e}");
        let set = |k: &str| (k == "COOLIFY_API_TOKEN").then(|| " tok-123 ".to_string());
        let t = load(PlatformKind::Coolify, TokenSource::Env, &set).unwrap();
        assert_eq!(t.expose_secret(), "tok-123");
        assert!(!format!("{t:?}").contains("tok-123"));
    }

    // The OS keychain cannot be used inside CI containers (Docker's seccomp
    // profile blocks the keyutils calls), so the keychain's answers are
    // played by keyring's own mock credential.
    #[test]
    fn keychain_answers_map_to_typed_errors() {
        let cred = keyring::mock::MockCredential::default();
        let entry = keyring::Entry::new_with_credential(Box::new(cred));
        let e = read_entry(PlatformKind::Coolify, &entry).unwrap_err();
        assert!(matches!(e, SecretError::Missing { .. }));
        assert!(e.to_string().contains("berth secret set coolify"), "{e}");

        entry.set_password("s3cret-value").unwrap();
        let t = read_entry(PlatformKind::Coolify, &entry).unwrap();
        assert_eq!(t.expose_secret(), "s3cret-value");

        let mock: &keyring::mock::MockCredential = entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::NoStorageAccess("keychain is locked".into()));
        let e = read_entry(PlatformKind::Coolify, &entry).unwrap_err();
        assert!(matches!(e, SecretError::Unavailable { .. }));
        assert!(e.to_string().contains("locked"), "{e}");
        assert!(!e.to_string().contains("s3cret-value"));
        let err: Error = e.into();
        assert_eq!(err.code(), ErrorCode::ConfigMissing);
        assert!(
            err.to_string().starts_with("COOLIFY_TOKEN_SOURCE:"),
            "{err}"
        );
    }
}
