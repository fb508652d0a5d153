//! Scheduled bots from the `berth` binary (issue 16): `bots create
//! --join-at`, the join time in `bots list` and `bots show`, `bots move`,
//! and the refusals (a past time at parse, a bot no longer scheduled),
//! against a real PostgreSQL.

mod support;

use chrono::{Duration, SecondsFormat, Utc};
use support::{berth, migrated, ok, ok_json, text};

fn at(from_now: Duration) -> String {
    (Utc::now() + from_now).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn a_bot_is_scheduled_listed_with_its_join_time_and_moved() {
    let db = migrated("cli-schedule").await;
    let join = at(Duration::hours(2));
    let created = ok_json(
        &db.url,
        &[
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/1",
            "--join-at",
            &join,
        ],
    )
    .await;
    assert_eq!(created["result"], "scheduled", "{created}");
    assert_eq!(created["status"], "SCHEDULED");
    assert_eq!(created["booked"], true);
    let id = created["botId"].as_i64().unwrap().to_string();

    let listed = ok(&db.url, &["bots", "list"]).await;
    assert!(listed.contains("joins at"), "{listed}");
    assert!(listed.contains("SCHEDULED"), "{listed}");
    let shown = ok_json(&db.url, &["bots", "show", &id]).await;
    assert_eq!(
        shown["joinAt"].as_str().unwrap().get(..19),
        join.get(..19),
        "{shown}"
    );

    let to = at(Duration::hours(5));
    let moved = ok_json(&db.url, &["--dev", "bots", "move", &id, "--join-at", &to]).await;
    assert_eq!(moved["booked"], true, "{moved}");
    assert_eq!(moved["joinAt"].as_str().unwrap().get(..19), to.get(..19));

    // Not a time: refused by the parser (exit 2), nothing run.
    let bad = berth(
        &db.url,
        &["--dev", "bots", "move", &id, "--join-at", "tomorrow"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));

    // Cancelled: no longer scheduled, so it cannot be moved.
    ok(&db.url, &["--dev", "bots", "cancel", &id]).await;
    let stale = berth(
        &db.url,
        &["--json", "--dev", "bots", "move", &id, "--join-at", &to],
    )
    .await;
    assert_eq!(stale.status.code(), Some(1));
    let said = format!("{}{}", text(&stale.stdout), text(&stale.stderr));
    assert!(said.contains("stale_transition"), "{said}");

    // In the past: the core refuses it (invalid_input), nothing written.
    let past = at(Duration::hours(-1));
    let refused = berth(
        &db.url,
        &[
            "--json",
            "--dev",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/1",
            "--join-at",
            &past,
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    let said = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert!(said.contains("invalid_input"), "{said}");
}
