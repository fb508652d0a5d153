//! The meeting URL rule at the router's door: every face's bot request
//! (CLI, desktop batch, demo) goes through `Router::create_bot`, which
//! refuses a URL off its meeting platform's hosts before writing anything,
//! and stores the URL in its parsed form.

use berth_core::meeting::MeetingPlatform;
use berth_core::router::NewBot;
use berth_core::ErrorCode;
use berth_tests::{harness, three_platforms};
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn urls_off_the_platforms_hosts_are_refused_and_nothing_is_written(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let huge = format!("https://zoom.us/j/1?pwd={}", "x".repeat(131 * 1024));
    for (platform, url) in [
        (
            MeetingPlatform::Zoom,
            "https://meet.google.com/abc-defg-hij",
        ),
        (MeetingPlatform::Zoom, "not a url"),
        (MeetingPlatform::Zoom, "javascript:alert(1)"),
        (MeetingPlatform::Zoom, "file:///etc/passwd"),
        (MeetingPlatform::Zoom, huge.as_str()),
        (
            MeetingPlatform::GoogleMeet,
            "https://meet.google.com.evil.example/x",
        ),
        (MeetingPlatform::MicrosoftTeams, "https://zoom.us/j/1"),
    ] {
        let err = h
            .router
            .create_bot(&NewBot::new(platform, url))
            .await
            .expect_err(url);
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{err}");
    }
    let (bots, queued): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM bots), (SELECT count(*) FROM deployment_queue)",
    )
    .fetch_one(&h.db)
    .await
    .unwrap();
    assert_eq!((bots, queued), (0, 0), "refusals write nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_accepted_url_is_stored_as_parsed(db: PgPool) {
    let h = harness(db, &three_platforms("2", ["0", "0", "0"]), false).await;
    let outcome = h
        .router
        .create_bot(&NewBot::new(
            MeetingPlatform::Zoom,
            " https://US02WEB.Zoom.us/j/85551234567?pwd=é ",
        ))
        .await
        .unwrap();
    let id = match outcome {
        berth_core::router::DeployOutcome::Deployed { bot_id, .. }
        | berth_core::router::DeployOutcome::Queued { bot_id, .. }
        | berth_core::router::DeployOutcome::Scheduled { bot_id, .. }
        | berth_core::router::DeployOutcome::Skipped { bot_id } => bot_id,
    };
    let stored: String = sqlx::query_scalar("SELECT meeting_url FROM bots WHERE id = $1")
        .bind(id)
        .fetch_one(&h.db)
        .await
        .unwrap();
    assert_eq!(stored, "https://us02web.zoom.us/j/85551234567?pwd=%C3%A9");
}
