//! The Bots view's core (issue 14): browsing bots (each filter, search by
//! id and by URL, keyset pages, queue positions in dispatch order, waits)
//! and a bot's timeline (its recorded states after a real dispatch, trace,
//! slot, account, actions, redeploys), and their refusals.

use berth_core::actor::Actor;
use berth_core::bot::{self, action as bots_action, BotFilter, BotPage, Decision};
use berth_core::clock::Clock;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::router::NewBot;
use berth_core::{lifecycle, queue, ErrorCode};
use berth_tests::{bot_id, bots, harness, insert_pool, three_platforms, Harness};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

fn page(limit: u32) -> BotFilter {
    BotFilter {
        limit,
        ..BotFilter::default()
    }
}

async fn browse(db: &PgPool, f: &BotFilter) -> BotPage {
    bot::browse(db, f, Utc::now()).await.unwrap()
}

fn ids(p: &BotPage) -> Vec<i64> {
    p.rows.iter().map(|r| r.id).collect()
}

/// Inserts a bot as it would be after its life so far.
struct Row<'a> {
    pool: &'a str,
    url: &'a str,
    status: &'a str,
    platform: Option<&'a str>,
    created: DateTime<Utc>,
    name: Option<&'a str>,
}

async fn insert(db: &PgPool, r: Row<'_>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, created_at, display_name, error)
         VALUES ($1, 'zoom', $2, $3, $4, $5, $6, CASE WHEN $3 = 'FATAL' THEN 'boom' END) RETURNING id",
    )
    .bind(r.pool)
    .bind(r.url)
    .bind(r.status)
    .bind(r.platform)
    .bind(r.created)
    .bind(r.name)
    .fetch_one(db)
    .await
    .unwrap()
}

fn at(hours_ago: i64) -> DateTime<Utc> {
    Utc::now() - Duration::hours(hours_ago)
}

/// Five bots in two pools, of several statuses, platforms and ages.
async fn fleet(db: &PgPool) -> [i64; 5] {
    insert_pool(db, "alpha", "zoom", 10).await;
    insert_pool(db, "beta", "zoom", 10).await;
    let row = |pool, status, platform, hours| Row {
        pool,
        url: "https://zoom.us/j/1",
        status,
        platform,
        created: at(hours),
        name: None,
    };
    [
        insert(db, row("alpha", "DONE", Some("k8s"), 50)).await,
        insert(db, row("alpha", "FATAL", None, 30)).await,
        insert(db, row("beta", "IN_CALL", Some("aws"), 20)).await,
        insert(db, row("beta", "DONE", Some("aws"), 10)).await,
        insert(db, row("alpha", "QUEUED", None, 1)).await,
    ]
}

#[sqlx::test(migrations = "../migrations")]
async fn each_filter_narrows_the_list_and_the_total_counts_every_page(db: PgPool) {
    let [done_k8s, fatal, in_call, done_aws, queued] = fleet(&db).await;
    let all = browse(&db, &page(100)).await;
    assert_eq!(ids(&all), vec![queued, done_aws, in_call, fatal, done_k8s]);
    assert_eq!(
        (all.total, all.total_capped, all.next_before),
        (5, false, None)
    );

    let f = BotFilter {
        statuses: vec![BotStatus::Done, BotStatus::Fatal],
        ..page(100)
    };
    assert_eq!(ids(&browse(&db, &f).await), vec![done_aws, fatal, done_k8s]);
    let f = BotFilter {
        platforms: vec![PlatformKind::Aws],
        ..page(100)
    };
    assert_eq!(ids(&browse(&db, &f).await), vec![done_aws, in_call]);
    let f = BotFilter {
        pools: vec!["beta".into()],
        ..page(100)
    };
    assert_eq!(ids(&browse(&db, &f).await), vec![done_aws, in_call]);
    let f = BotFilter {
        since: Some(at(35)),
        until: Some(at(5)),
        ..page(100)
    };
    assert_eq!(ids(&browse(&db, &f).await), vec![done_aws, in_call, fatal]);
    // Combined: every condition holds; the total counts all pages.
    let f = BotFilter {
        statuses: vec![BotStatus::Done],
        pools: vec!["alpha".into(), "beta".into()],
        since: Some(at(60)),
        ..page(1)
    };
    let p = browse(&db, &f).await;
    assert_eq!(
        (ids(&p), p.total, p.next_before),
        (vec![done_aws], 2, Some(done_aws))
    );
    let f = BotFilter {
        before: p.next_before,
        ..f
    };
    let p = browse(&db, &f).await;
    assert_eq!((ids(&p), p.total, p.next_before), (vec![done_k8s], 2, None));
    // The row says what the view shows.
    let r = &all.rows[2];
    assert_eq!(
        (r.pool.as_str(), r.status, r.deployment_platform),
        ("beta", BotStatus::InCall, Some(PlatformKind::Aws))
    );
    assert_eq!(all.rows[3].error.as_deref(), Some("boom"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_search_finds_an_id_or_a_url_or_name_and_metacharacters_match_themselves(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    let row = |url, name| Row {
        pool: "alpha",
        url,
        status: "QUEUED",
        platform: None,
        created: at(1),
        name,
    };
    let percent = insert(&db, row("https://zoom.us/j/100%off", None)).await;
    let plain = insert(&db, row("https://zoom.us/j/100xoff", Some("Sales Standup"))).await;
    let under = insert(&db, row("https://zoom.us/j/a_b", None)).await;
    let search = |s: &str| BotFilter {
        search: Some(s.to_string()),
        ..page(100)
    };
    assert_eq!(ids(&browse(&db, &search("100%")).await), vec![percent]);
    assert_eq!(
        ids(&browse(&db, &search("ZOOM.US/J/100")).await),
        vec![plain, percent]
    );
    assert_eq!(ids(&browse(&db, &search("sales stand")).await), vec![plain]);
    assert_eq!(ids(&browse(&db, &search("a_b")).await), vec![under]);
    assert!(
        ids(&browse(&db, &search("1_0")).await).is_empty(),
        "_ is no wildcard"
    );
    assert_eq!(
        ids(&browse(&db, &search(&plain.to_string())).await),
        vec![plain]
    );
    assert_eq!(
        ids(&browse(&db, &search(&format!(" #{under} "))).await),
        vec![under]
    );
    let p = browse(&db, &search("#99999999")).await;
    assert_eq!((p.rows.len(), p.total), (0, 0));
    // A blank search does not filter.
    assert_eq!(browse(&db, &search("  ")).await.total, 3);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_cover_every_bot_once_newest_first_even_out_of_id_order(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    // Creation times out of id order (overlapping transactions), with ties.
    let base = Utc::now();
    let mut made = Vec::new();
    for n in 0..21 {
        let status = if n % 3 == 0 { "DONE" } else { "QUEUED" };
        let created = base - Duration::minutes((n * 7) % 5);
        let id = insert(
            &db,
            Row {
                pool: "alpha",
                url: "https://zoom.us/j/1",
                status,
                platform: None,
                created,
                name: None,
            },
        )
        .await;
        made.push((created, id));
    }
    made.sort_by(|a, b| b.cmp(a));
    let made: Vec<i64> = made.into_iter().map(|(_, id)| id).collect();
    // With a time range too: a cursor inside it stands for its end.
    let ranged = BotFilter {
        since: Some(base - Duration::hours(1)),
        until: Some(base + Duration::seconds(1)),
        ..page(1)
    };
    for (limit, range) in [
        (7, false),
        (5, false),
        (1, false),
        (21, false),
        (1000, false),
        (4, true),
    ] {
        let mut seen = Vec::new();
        let mut f = if range {
            BotFilter {
                limit,
                ..ranged.clone()
            }
        } else {
            page(limit)
        };
        loop {
            let p = browse(&db, &f).await;
            assert_eq!((p.total, p.total_capped), (21, false));
            assert!(p.rows.len() <= limit as usize);
            seen.extend(ids(&p));
            match p.next_before {
                Some(b) => {
                    assert_eq!(Some(b), seen.last().copied(), "the cursor is the last row");
                    f.before = Some(b);
                }
                None => break,
            }
        }
        assert_eq!(seen, made, "limit {limit}: every bot once, newest first");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_input_is_refused_and_an_unknown_bot_is_not_found(db: PgPool) {
    for limit in [0, 1001] {
        let e = bot::browse(&db, &page(limit), Utc::now())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{limit}");
    }
    let f = BotFilter {
        since: Some(at(1)),
        until: Some(at(2)),
        ..page(10)
    };
    let e = bot::browse(&db, &f, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = bot::timeline(&db, 424_242, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
}

/// Three platforms of one bot each, all busy; `waiting` bots queued.
async fn full(h: &Harness, waiting: &[NewBot]) -> (Vec<i64>, Vec<i64>) {
    let mut runs = Vec::new();
    for n in 0..3 {
        runs.push(bot_id(&h.router.create_bot(&bots::zoom(n)).await.unwrap()));
    }
    let mut queued = Vec::new();
    for b in waiting {
        let id = bot_id(&h.router.create_bot(b).await.unwrap());
        assert_eq!(bot::get(&h.db, id).await.unwrap().status, BotStatus::Queued);
        queued.push(id);
    }
    (runs, queued)
}

#[sqlx::test(migrations = "../migrations")]
async fn queue_positions_follow_the_dispatch_order_and_waits_run(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q) = full(
        &h,
        &[
            bots::zoom(10),
            bots::zoom(11).priority(5),
            bots::zoom(12),
            bots::zoom(13).priority(50),
        ],
    )
    .await;
    h.clock.advance(Duration::seconds(5));
    let now = h.clock.now();
    let p = bot::browse(&h.db, &page(100), now).await.unwrap();
    let mut placed: Vec<(i64, i64)> = p
        .rows
        .iter()
        .filter_map(|r| r.queue_position.map(|n| (n, r.id)))
        .collect();
    placed.sort();
    let dispatch: Vec<i64> = queue::waiting(&h.db, h.clock.now())
        .await
        .unwrap()
        .iter()
        .map(|w| w.bot_id)
        .collect();
    assert_eq!(dispatch, vec![q[1], q[3], q[0], q[2]]);
    assert_eq!(placed, (1..).zip(dispatch).collect::<Vec<_>>());
    for r in &p.rows {
        if runs.contains(&r.id) {
            assert_eq!(r.queue_position, None);
            assert!(r.slot_name.is_some(), "a running bot names its slot");
        } else {
            assert!(r.wait_ms.unwrap() >= 5_000, "queued for 5 s: {r:?}");
        }
    }
    // A priority change moves the bot in the order, and in the list.
    bots_action::priority(&h.router, &Actor::cli(), q[2], 1, Some("vip"))
        .await
        .unwrap();
    let row = bot::timeline(&h.db, q[2], now).await.unwrap().bot;
    assert_eq!((row.queue_position, row.priority), (Some(1), 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_timeline_after_a_real_dispatch_has_states_trace_slot_and_wait(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (runs, q) = full(&h, &[bots::zoom(10).display_name("Weekly sync")]).await;
    let waiting = bot::timeline(&h.db, q[0], h.clock.now()).await.unwrap();
    assert_eq!(waiting.events.len(), 1, "{:?}", waiting.events);
    assert_eq!(waiting.events[0].status, BotStatus::Queued);
    assert!(waiting.slot.is_none());
    assert!(
        waiting.trace.iter().any(|t| t.decision == Decision::Queued),
        "{:?}",
        waiting.trace
    );

    h.router
        .finish(runs[0], BotStatus::Done, None)
        .await
        .unwrap();
    h.dispatcher.drain().await.unwrap();
    let t = bot::timeline(&h.db, q[0], h.clock.now()).await.unwrap();
    let states: Vec<BotStatus> = t.events.iter().map(|e| e.status).collect();
    assert_eq!(
        &states[..2],
        &[BotStatus::Queued, BotStatus::Deploying],
        "{states:?}"
    );
    assert!(
        t.events.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );
    let platform = t.bot.deployment_platform.expect("deployed somewhere");
    assert_eq!(t.events[1].detail.as_deref(), Some(platform.as_str()));
    let slot = t.slot.as_ref().expect("holds a slot");
    assert_eq!(
        (Some(&slot.name), slot.platform),
        (t.bot.slot_name.as_ref(), platform)
    );
    assert_eq!(t.bot.display_name.as_deref(), Some("Weekly sync"));
    assert_eq!(t.bot.queue_position, None);
    let waited = (t.events[1].at - t.bot.created_at).num_milliseconds();
    assert_eq!(t.bot.wait_ms, Some(waited.max(0)));
    assert!(t.trace.iter().any(|e| e.decision == Decision::Deployed));
    assert!(t.account.is_none(), "its pool leases no accounts");
    // As the faces receive it: camelCase, times as RFC 3339 with a Z.
    let json = serde_json::to_value(&t).unwrap();
    for key in [
        "bot",
        "events",
        "trace",
        "slot",
        "account",
        "actions",
        "redeployOf",
        "redeployedAs",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["bot"]["waitMs"], serde_json::json!(t.bot.wait_ms));
    assert!(json["bot"]["queuePosition"].is_null());
    assert!(json["events"][0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["slot"]["platform"], platform.as_str());
    let page =
        serde_json::to_value(bot::browse(&h.db, &page(1), h.clock.now()).await.unwrap()).unwrap();
    assert_eq!(
        (page["total"].as_i64(), page["totalCapped"].as_bool()),
        (Some(4), Some(false))
    );
    assert!(page["nextBefore"].is_i64(), "{page}");

    // The finished bot's timeline ends with its end, and a running bot's
    // timeline is there for every bot, not only queued ones.
    let done = bot::timeline(&h.db, runs[0], h.clock.now()).await.unwrap();
    assert_eq!(done.events.last().unwrap().status, BotStatus::Done);
    assert!(done.slot.is_none());
    assert!(!done.trace.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn actions_and_redeploys_appear_in_the_timeline(db: PgPool) {
    let h = harness(db, &three_platforms("1", ["0", "0", "0"]), false).await;
    let (_, q) = full(&h, &[bots::zoom(10), bots::zoom(11)]).await;
    bots_action::priority(&h.router, &Actor::cli(), q[1], 5, Some("vip"))
        .await
        .unwrap();
    lifecycle::cancel(&h.router, &Actor::cli(), q[1], Some("duplicate"))
        .await
        .unwrap();
    let t = bot::timeline(&h.db, q[1], h.clock.now()).await.unwrap();
    let acts: Vec<&str> = t.actions.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(acts, vec!["bot.cancel", "bot.priority"], "newest first");
    assert!(t.actions.iter().all(|a| a.target == q[1].to_string()));
    assert_eq!(t.actions[1].reason.as_deref(), Some("vip"));
    let last = t.events.last().unwrap();
    assert_eq!(last.status, BotStatus::Fatal);
    assert!(
        last.detail.as_deref().unwrap().contains("duplicate"),
        "{last:?}"
    );
    assert_eq!(
        t.bot.wait_ms,
        Some((last.at - t.bot.created_at).num_milliseconds().max(0))
    );
    // Another bot's actions are not this one's.
    assert!(bot::timeline(&h.db, q[0], h.clock.now())
        .await
        .unwrap()
        .actions
        .is_empty());

    let again = bots_action::redeploy(&h.router, &Actor::cli(), q[1], None)
        .await
        .unwrap();
    let old = bot::timeline(&h.db, q[1], h.clock.now()).await.unwrap();
    assert_eq!(old.redeployed_as, vec![again.bot_id]);
    assert_eq!(old.actions[0].action, "bot.redeploy");
    let new = bot::timeline(&h.db, again.bot_id, h.clock.now())
        .await
        .unwrap();
    assert_eq!((new.redeploy_of, new.redeployed_as.len()), (Some(q[1]), 0));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_account_a_bot_leased_is_named_by_its_key_only(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    let id = berth_tests::insert_bot(&db, "alpha").await;
    sqlx::query(
        "INSERT INTO pool_accounts (pool, account_key, data)
         VALUES ('alpha', 'acct-7', '{\"id\": \"acct-7\", \"password\": \"hunter2\"}')",
    )
    .execute(&db)
    .await
    .unwrap();
    assert!(bot::timeline(&db, id, Utc::now())
        .await
        .unwrap()
        .account
        .is_none());
    sqlx::query("UPDATE pool_accounts SET status = 'in_use', bot_id = $1, leased_at = now()")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let t = bot::timeline(&db, id, Utc::now()).await.unwrap();
    let a = t.account.as_ref().expect("its account");
    assert_eq!(
        (a.id.as_str(), a.label.as_str(), a.pool.as_str(), a.held),
        ("acct-7", "acct-7", "alpha", true)
    );
    assert!(a.leased_at.is_some());
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        !json.contains("hunter2"),
        "an account's data never leaves the core"
    );
    // Its lease ends: the timeline still names it, no longer held.
    sqlx::query("UPDATE pool_accounts SET status = 'completed', bot_id = NULL")
        .execute(&db)
        .await
        .unwrap();
    let a = bot::timeline(&db, id, Utc::now())
        .await
        .unwrap()
        .account
        .unwrap();
    assert_eq!((a.id.as_str(), a.held), ("acct-7", false));
}

#[sqlx::test(migrations = "../migrations")]
async fn every_status_change_is_recorded_once_and_goes_with_its_bot(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    let id = berth_tests::insert_bot(&db, "alpha").await;
    for (status, extra) in [
        ("DEPLOYING", ", deployment_platform = 'k8s'"),
        ("DEPLOYING", ""),
        ("IN_CALL", ""),
        ("FATAL", ", error = 'lost'"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE bots SET status = '{status}'{extra} WHERE id = $1"
        )))
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    }
    // A change of another column is no event.
    sqlx::query("UPDATE bots SET priority = 3 WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let t = bot::timeline(&db, id, Utc::now()).await.unwrap();
    let seen: Vec<(BotStatus, Option<&str>)> = t
        .events
        .iter()
        .map(|e| (e.status, e.detail.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (BotStatus::Queued, None),
            (BotStatus::Deploying, Some("k8s")),
            (BotStatus::InCall, None),
            (BotStatus::Fatal, Some("lost")),
        ]
    );
    sqlx::query("DELETE FROM bots WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM bot_events")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0, "events go with their bot");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_total_is_counted_up_to_its_cap(db: PgPool) {
    insert_pool(&db, "alpha", "zoom", 10).await;
    let add = async |n: i64| {
        sqlx::query(
            "INSERT INTO bots (pool, meeting_platform, meeting_url, status)
             SELECT 'alpha', 'zoom', 'https://zoom.us/j/' || i, 'DONE' FROM generate_series(1, $1) i",
        )
        .bind(n)
        .execute(&db)
        .await
        .unwrap();
    };
    add(bot::TOTAL_CAP).await;
    let p = browse(&db, &page(10)).await;
    assert_eq!(
        (p.total, p.total_capped),
        (bot::TOTAL_CAP, false),
        "exactly the cap"
    );
    add(1).await;
    let p = browse(&db, &page(10)).await;
    assert_eq!((p.total, p.total_capped), (bot::TOTAL_CAP, true));
    assert_eq!(p.rows.len(), 10);
}
