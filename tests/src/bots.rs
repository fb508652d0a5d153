//! Bot requests for tests: the usual ones spelled once, the rest with
//! [`NewBot`]'s setters (`bots::zoom(1).priority(5).pool("acc")`).

use berth_core::meeting::MeetingPlatform;
use berth_core::router::NewBot;

/// A Zoom bot for meeting `https://zoom.us/j/<n>`, every option unset.
pub fn zoom(n: u32) -> NewBot {
    NewBot::new(MeetingPlatform::Zoom, format!("https://zoom.us/j/{n}"))
}

/// A Google Meet bot for `https://meet.google.com/abc-defg-hij`, every
/// option unset.
pub fn meet() -> NewBot {
    NewBot::new(
        MeetingPlatform::GoogleMeet,
        "https://meet.google.com/abc-defg-hij",
    )
}
