use super::app::{described_bot, started_recently};
use super::*;

#[test]
fn statuses_map_and_keep_their_text() {
    assert_eq!(map_status("running:healthy"), WorkloadState::Running);
    assert_eq!(map_status("running:unknown"), WorkloadState::Running);
    assert_eq!(map_status("Restarting"), WorkloadState::Running);
    assert_eq!(map_status("degraded:unhealthy"), WorkloadState::Running);
    assert_eq!(map_status("exited:unhealthy"), WorkloadState::Stopped);
    assert_eq!(map_status("exited (0)"), WorkloadState::Stopped);
    assert_eq!(map_status("stopped"), WorkloadState::Stopped);
    assert_eq!(map_status(""), WorkloadState::Stopped);
    assert_eq!(map_status("dead"), WorkloadState::Failed);
    assert_eq!(map_status("something-new"), WorkloadState::Running);
}

#[test]
fn images_split_like_docker() {
    assert_eq!(
        split_image("ghcr.io/a/b:1.2"),
        ("ghcr.io/a/b".into(), Some("1.2".into()))
    );
    assert_eq!(
        split_image("localhost:5000/bot"),
        ("localhost:5000/bot".into(), None)
    );
    assert_eq!(
        split_image("localhost:5000/bot:v2"),
        ("localhost:5000/bot".into(), Some("v2".into()))
    );
    assert_eq!(
        split_image("img@sha256:abc"),
        ("img@sha256:abc".into(), None)
    );
}

#[test]
fn fresh_starts_count_as_starting() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T16:10:00Z")
        .unwrap()
        .to_utc();
    assert!(started_recently(
        "[DEPLOYING] Bot #1 - Starting container...",
        now
    ));
    assert!(started_recently(
        "[BUSY] Bot #1 - 2026-11-23T16:07:00Z",
        now
    ));
    assert!(!started_recently(
        "[BUSY] Bot #1 - 2026-11-23T16:04:00Z",
        now
    ));
    assert!(!started_recently("[BUSY] Bot #1 - yesterday", now));
    assert!(!started_recently("[IDLE] Available - Never used", now));
}

#[test]
fn bot_ids_come_from_descriptions() {
    assert_eq!(
        described_bot("[BUSY] Bot #123 - 2025-12-17T22:30:00Z"),
        Some(123)
    );
    assert_eq!(
        described_bot("[DEPLOYING] Bot #7 - Starting container..."),
        Some(7)
    );
    assert_eq!(described_bot("[IDLE] Available - Never used"), None);
}
