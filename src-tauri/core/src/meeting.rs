//! Shared vocabulary: meeting platforms, deployment platforms, slot and bot states.
//!
//! Each enum has one text form, used in the database, the CLI and JSON (and,
//! with the `specta` feature, a string-literal union in the desktop's
//! TypeScript bindings).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorCode};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        // By hand, not derived: utoipa's derive does not see a `serde(rename)`
        // given through a macro, and would document the variants' Rust names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description(Some(concat!("A ", $what, ".")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text form used in the database, the CLI and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::new(
                        ErrorCode::InvalidInput,
                        format!(
                            "unknown {} {other:?}; expected one of: {}",
                            $what,
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }

        /// A value equals its text form (`SlotStatus::Idle == "idle"`).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }
    };
}

text_enum!(
    /// The video-conference product a bot joins; every pool serves exactly one.
    MeetingPlatform, "meeting platform" {
        GoogleMeet => "google-meet",
        MicrosoftTeams => "microsoft-teams",
        Zoom => "zoom",
    }
);

text_enum!(
    /// Where slots run. `Local` is the simulator and is refused outside development mode.
    PlatformKind, "deployment platform" {
        K8s => "k8s",
        Aws => "aws",
        Coolify => "coolify",
        Local => "local",
    }
);

text_enum!(
    /// A slot's state: `idle` → `deploying` → `busy` → `idle`, and `error` from anywhere.
    SlotStatus, "slot status" {
        Idle => "idle",
        Deploying => "deploying",
        Busy => "busy",
        Error => "error",
    }
);

text_enum!(
    /// A bot's lifecycle; `Done` and `Fatal` are final; `Scheduled` comes
    /// before `Queued` for a bot asked for a later time.
    BotStatus, "bot status" {
        /// Waiting for its start time (a request with `joinAt`, or a
        /// staggered batch's later bots): holds no slot and no queue entry.
        Scheduled => "SCHEDULED",
        Queued => "QUEUED",
        Deploying => "DEPLOYING",
        JoiningCall => "JOINING_CALL",
        InWaitingRoom => "IN_WAITING_ROOM",
        InCall => "IN_CALL",
        Leaving => "LEAVING",
        /// Left the meeting; may still be finishing (an upload). Holds its
        /// slot until `DONE`/`FATAL`, but no longer its platform's capacity.
        CallEnded => "CALL_ENDED",
        Done => "DONE",
        Fatal => "FATAL",
    }
);

impl PlatformKind {
    /// Prefix of this platform's environment variables (`K8S`, `AWS`, ...).
    pub fn env_prefix(self) -> &'static str {
        match self {
            PlatformKind::K8s => "K8S",
            PlatformKind::Aws => "AWS",
            PlatformKind::Coolify => "COOLIFY",
            PlatformKind::Local => "LOCAL",
        }
    }

    /// Reference 004's default queue timeout for the platform.
    pub fn default_queue_timeout_ms(self) -> u32 {
        match self {
            PlatformKind::K8s => 60_000,
            PlatformKind::Aws => 30_000,
            PlatformKind::Coolify => 300_000,
            PlatformKind::Local => 30_000,
        }
    }

    /// Display label used in capacity badges (`K8s 25/30`).
    pub fn label(self) -> &'static str {
        match self {
            PlatformKind::K8s => "K8s",
            PlatformKind::Aws => "AWS",
            PlatformKind::Coolify => "Coolify",
            PlatformKind::Local => "Local",
        }
    }
}

impl MeetingPlatform {
    /// The bot image of the reference design for this meeting platform.
    pub fn default_image(self) -> String {
        format!("ghcr.io/payme-works/meeboter-{}-bot:latest", self.as_str())
    }
}

impl BotStatus {
    /// States that hold capacity on a deployment platform (counted against
    /// its limit). `CallEnded` does not: the bot left its meeting, so the
    /// platform may take another one while it finishes.
    pub const ACTIVE: &'static [BotStatus] = &[
        BotStatus::Deploying,
        BotStatus::JoiningCall,
        BotStatus::InWaitingRoom,
        BotStatus::InCall,
        BotStatus::Leaving,
    ];

    /// `Done` or `Fatal`.
    pub fn is_final(self) -> bool {
        matches!(self, BotStatus::Done | BotStatus::Fatal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_unknowns_are_refused() {
        for p in PlatformKind::ALL {
            assert_eq!(p.as_str().parse::<PlatformKind>().unwrap(), *p);
        }
        for s in BotStatus::ALL {
            assert_eq!(s.as_str().parse::<BotStatus>().unwrap(), *s);
        }
        let err = "teams".parse::<MeetingPlatform>().unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err
            .to_string()
            .contains("google-meet, microsoft-teams, zoom"));
    }
}
