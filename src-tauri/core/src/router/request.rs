//! A request for a bot as the faces take it: the HTTP API's body
//! (`CreateBot`) and the CLI's arguments map onto it, and it maps onto a
//! [`NewBot`] in one place, so a face adds no default of its own.

use crate::meeting::MeetingPlatform;
use crate::schedule::IfFull;

use super::NewBot;

// Every option is as given (`None`: its default, see `NewBot`); nothing is
// checked here: the use case that takes the `NewBot` checks it
// (`Router::create_bot`). The doc line below is the OpenAPI schema's
// description.
/// A request for a bot (reference 001's `createBot`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateBot))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotRequest {
    /// The meeting's platform.
    pub meeting_platform: MeetingPlatform,
    /// The meeting link: http(s) on the meeting platform's own hosts.
    pub meeting_url: String,
    /// The bot's name in the meeting (1 to 100 characters).
    pub display_name: Option<String>,
    /// A priority tier by name (`critical`, `standard`, `batch` unless
    /// configured otherwise); give a tier or a priority, not both. Default:
    /// the token's default tier, else the pool's, else the default tier. A
    /// tier above the token's highest is refused (`tier_not_allowed`).
    pub tier: Option<String>,
    /// Lower goes first (instead of a tier; not above the token's highest tier).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub priority: Option<i32>,
    /// How long it may wait for capacity, 0 to 600000 ms (default: the pool's, else 300000).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 600000))]
    pub queue_timeout_ms: Option<i32>,
    /// The pool (it must serve the meeting platform; default: the platform's pool).
    pub pool: Option<String>,
    /// Your own data about the bot, returned as given: a JSON object of at most 16 KiB.
    pub metadata: Option<serde_json::Value>,
    /// This bot's own webhook URL (http or https): its `bot.*` events go
    /// there too, signed with the bot-URL secret (`berth webhooks bot-secret`).
    pub webhook_url: Option<String>,
    /// When the bot must be in the meeting (RFC 3339, in the future, at
    /// most 30 days ahead): it is `SCHEDULED` until Berth starts it, its
    /// observed deploy time ahead. Omitted: at once.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub join_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the bot is expected to stay, 60000 to 86400000 ms (default
    /// 3600000): its booking runs to `joinAt` plus this.
    #[cfg_attr(feature = "openapi", schema(minimum = 60000, maximum = 86400000))]
    pub expected_duration_ms: Option<i32>,
    /// With `joinAt`, when its window is fully booked: `refuse` (default,
    /// 409 `window_full`) or `queue` (accepted, started at its time and
    /// queued like any request).
    pub if_full: Option<IfFull>,
}

impl From<BotRequest> for NewBot {
    fn from(r: BotRequest) -> NewBot {
        let mut bot = NewBot::new(r.meeting_platform, r.meeting_url)
            .tier(r.tier)
            .priority(r.priority)
            .queue_timeout_ms(r.queue_timeout_ms)
            .webhook_url(r.webhook_url)
            .join_at(r.join_at)
            .expected_duration_ms(r.expected_duration_ms)
            .if_full(r.if_full);
        bot.pool = r.pool;
        bot.display_name = r.display_name;
        bot.metadata = r.metadata;
        bot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_options_are_the_new_bots_defaults() {
        let r: BotRequest = serde_json::from_value(serde_json::json!({
            "meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1"
        }))
        .unwrap();
        let bot = NewBot::from(r);
        assert_eq!(
            bot,
            NewBot::new(MeetingPlatform::Zoom, "https://zoom.us/j/1")
        );
        assert_eq!(bot.if_full, IfFull::Refuse);
    }

    #[test]
    fn given_options_reach_the_new_bot() {
        let r: BotRequest = serde_json::from_value(serde_json::json!({
            "meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1",
            "tier": "batch", "queueTimeoutMs": 5, "pool": "p", "displayName": "n",
            "ifFull": "queue", "expectedDurationMs": 60000
        }))
        .unwrap();
        let bot = NewBot::from(r);
        assert_eq!(bot.tier.as_deref(), Some("batch"));
        assert_eq!(bot.queue_timeout_ms, Some(5));
        assert_eq!(bot.pool.as_deref(), Some("p"));
        assert_eq!(bot.display_name.as_deref(), Some("n"));
        assert_eq!(bot.if_full, IfFull::Queue);
        assert_eq!(bot.expected_duration_ms, Some(60000));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r = serde_json::from_value::<BotRequest>(serde_json::json!({
            "meetingPlatform": "zoom", "meetingUrl": "https://zoom.us/j/1", "colour": "red"
        }));
        assert!(r.is_err());
    }
}
