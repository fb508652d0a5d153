//! `berth pools show` of a scaled pool: its target now with its parts and
//! its recent scaling decisions, as text and as JSON.

mod support;

use support::{ok, ok_json, PoolsDir, TestDb};

#[tokio::test]
async fn pools_show_has_the_scaling_target_and_the_recent_decisions() {
    let db = TestDb::new("pools-scaling").await;
    ok(&db.url, &["--dev", "migrate"]).await;
    let pools = PoolsDir::new("cli-pools-scaling");
    let d = pools.arg();
    std::fs::write(
        pools.0.join("zoom.yaml"),
        "name: zoom\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 10\n\
         scaling:\n  min_idle: 2\n  max_idle: 5\n  scale_down_after: 5m\n",
    )
    .unwrap();
    ok(&db.url, &["pools", "--dir", d, "apply", "zoom"]).await;
    // A decision as the leader's scaling job records it.
    sqlx::query(
        "INSERT INTO pool_scaling_decisions (pool, at, action, target, min_idle, max_idle, scheduled,
             buffer, arrivals_per_minute, lead_time_ms, idle_before, created, removed, reason)
         VALUES ('zoom', now(), 'up', 2, 2, 5, 0, 0, 0, 90000, 0, 2, 0,
                 'idle 0 below the target: made 2; target 2 = min 2 + scheduled 0 + buffer 0')",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let shown = ok(&db.url, &["pools", "--dir", d, "show", "zoom"]).await;
    assert!(shown.contains("\nScaling\n"), "{shown}");
    assert!(
        shown.contains("target 2 = min 2 + scheduled 0 + buffer 0 (0.00/min over 90s lead), within [2, 5]; idle 0"),
        "{shown}"
    );
    assert!(
        shown.contains("up    idle 0 below the target: made 2"),
        "{shown}"
    );

    let json = ok_json(&db.url, &["pools", "--dir", d, "show", "zoom"]).await;
    let s = &json["scaling"];
    assert_eq!(s["scaled"], true, "{s}");
    assert_eq!(s["current"]["target"], 2, "{s}");
    assert_eq!(s["current"]["maxIdle"], 5, "{s}");
    assert_eq!(s["decisions"][0]["action"], "up", "{s}");
    assert_eq!(s["decisions"][0]["created"], 2, "{s}");
    db.drop_db().await;
}
