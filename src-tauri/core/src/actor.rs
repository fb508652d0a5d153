//! Who made a change: one format for every face.
//!
//! Every use case that changes something (settings, pool definitions, a bot,
//! a slot) takes an [`Actor`] and records it as [`Actor::record`] in the
//! history tables (`settings_history.changed_by`, `pool_definitions.applied_by`,
//! traces). The format is `<face>:<name>` — `desktop:alice`, `cli:alice`,
//! `api:<token name>`, `bot:<id>`, `system:<job>` — or `environment` for values pinned by
//! the environment at start-up; faces never build the string themselves.

use std::fmt;

/// The face (or the engine itself) a change came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The desktop app, on behalf of the OS user running it.
    Desktop,
    /// The `berth` command line, on behalf of the OS user running it.
    Cli,
    /// The HTTP API, on behalf of a named API token.
    Api,
    /// A running bot, through its own lease's token.
    Bot,
    /// The environment at start-up (pinned settings).
    Environment,
    /// A background job of the engine itself.
    System,
}

impl Face {
    fn as_str(self) -> &'static str {
        match self {
            Face::Desktop => "desktop",
            Face::Cli => "cli",
            Face::Api => "api",
            Face::Bot => "bot",
            Face::Environment => "environment",
            Face::System => "system",
        }
    }
}

/// Who made a change. Cheap to clone; displayed as [`Actor::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    face: Face,
    name: String,
}

impl Actor {
    /// The desktop app's user (the OS user running it).
    pub fn desktop() -> Actor {
        Actor {
            face: Face::Desktop,
            name: os_user(),
        }
    }

    /// The command line's user (the OS user running it).
    pub fn cli() -> Actor {
        Actor {
            face: Face::Cli,
            name: os_user(),
        }
    }

    /// A caller of the HTTP API, named by its token's name.
    pub fn api(token_name: &str) -> Actor {
        Actor {
            face: Face::Api,
            name: token_name.to_string(),
        }
    }

    /// A running bot acting through its lease's token (`bot:<id>`).
    pub fn bot(bot_id: i64) -> Actor {
        Actor {
            face: Face::Bot,
            name: bot_id.to_string(),
        }
    }

    /// Values pinned by the environment at start-up.
    pub fn environment() -> Actor {
        Actor {
            face: Face::Environment,
            name: String::new(),
        }
    }

    /// A background job of the engine (`job` names it: `refresh`, `sweep`, ...).
    pub fn system(job: &str) -> Actor {
        Actor {
            face: Face::System,
            name: job.to_string(),
        }
    }

    /// The face the change came through.
    pub fn face(&self) -> Face {
        self.face
    }

    /// The API token's name, for a caller of the HTTP API; `None` otherwise.
    pub fn api_token(&self) -> Option<&str> {
        (self.face == Face::Api).then_some(self.name.as_str())
    }

    /// The string written to the history tables: `<face>:<name>`, or the
    /// face alone when it has no name (`environment`).
    pub fn record(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(self.face.as_str())
        } else {
            write!(f, "{}:{}", self.face.as_str(), self.name)
        }
    }
}

/// The OS user running this process: `USER`, `LOGNAME` or `USERNAME`, else
/// the home directory's name (services and `su` shells may lack `USER`),
/// else `unknown`.
fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(|| {
            std::env::var_os("HOME")
                .as_deref()
                .and_then(|h| std::path::Path::new(h).file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_records_in_one_format() {
        assert_eq!(Actor::api("billing").record(), "api:billing");
        assert_eq!(Actor::system("refresh").record(), "system:refresh");
        assert_eq!(Actor::environment().record(), "environment");
        assert_eq!(Actor::bot(42).record(), "bot:42");
        let d = Actor::desktop().record();
        let c = Actor::cli().record();
        assert!(
            d.starts_with("desktop:") && d.len() > "desktop:".len(),
            "{d}"
        );
        assert!(c.starts_with("cli:") && c.len() > "cli:".len(), "{c}");
        assert_eq!(
            d["desktop:".len()..],
            c["cli:".len()..],
            "both faces name the same OS user"
        );
    }
}
