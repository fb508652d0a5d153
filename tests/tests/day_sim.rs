//! The day simulation's accounting on days small enough to check by hand:
//! which bots join on time, how many starts are cold, idle slot-minutes.
//! Each run drives the real engine on a database of its own.

use berth_tests::day_sim::metrics::Tally;
use berth_tests::day_sim::policy::FixedPrewarm;
use berth_tests::day_sim::run::run;
use berth_tests::day_sim::workload::{draw, Kind, Shape, SimBot, Workload};
use chrono::SubsecRound;

const H: i64 = 3600;

/// Two bots booked for 08:00 and one for 08:30, each for 30 minutes; the
/// day runs 07:30–09:00.
fn three_bots() -> Workload {
    let bot = |index, join_at| SimBot {
        index,
        kind: Kind::Scheduled {
            booked_at: 7 * H + 1800,
        },
        join_at,
        duration: 1800,
    };
    Workload {
        bots: vec![bot(0, 8 * H), bot(1, 8 * H), bot(2, 8 * H + 1800)],
        starts: 7 * H + 1800,
        stops: 9 * H,
    }
}

fn joins(t: &Tally) -> (usize, usize, usize) {
    (t.on_time, t.late, t.never)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prewarm_the_first_bots_start_cold_and_a_freed_slot_serves_the_next() {
    let t = run(&three_bots(), &FixedPrewarm { prewarm: 0 }, 1)
        .await
        .unwrap();
    // 08:00: no slot exists, both start cold (about a minute: late);
    // 08:30: both leave, the 08:30 bot takes one of their slots warm.
    assert_eq!(joins(&t), (1, 2, 0), "{t:?}");
    assert_eq!((t.deploys, t.cold_starts, t.peak_slots), (3, 2, 2), "{t:?}");
    // One slot idle from 08:30 to 09:00; none before.
    assert_eq!(t.idle_slot_minutes, 30.0, "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_prewarmed_slot_serves_one_bot_of_the_burst_and_is_replaced() {
    let t = run(&three_bots(), &FixedPrewarm { prewarm: 1 }, 1)
        .await
        .unwrap();
    // 07:30: pre-warm makes a slot. 08:00: one bot takes it warm, the
    // other starts cold; the job makes a new idle slot. 08:30: both leave,
    // the third bot starts warm.
    assert_eq!(joins(&t), (2, 1, 0), "{t:?}");
    assert_eq!((t.deploys, t.cold_starts, t.peak_slots), (3, 1, 3), "{t:?}");
    // 1 idle 07:30–08:00, 1 idle 08:00–08:30, 2 idle 08:30–09:00.
    assert_eq!(t.idle_slot_minutes, 30.0 + 30.0 + 60.0, "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_of_forty_bots_is_all_on_time_with_enough_warm_slots_and_cold_without() {
    let shape = Shape {
        opens: 8 * H,
        closes: 9 * H,
        scheduled: 30,
        ad_hoc: 10,
    };
    let day = draw(shape, 5);
    let first_burst = day.bots.iter().filter(|b| b.join_at == 8 * H).count();
    assert!(first_burst > 0, "the 08:00 burst has bots");

    let warm = run(&day, &FixedPrewarm { prewarm: 40 }, 5).await.unwrap();
    assert_eq!(joins(&warm), (40, 0, 0), "{warm:?}");
    assert_eq!((warm.deploys, warm.cold_starts), (40, 0), "{warm:?}");
    // Never fewer than the 40 pre-warmed slots' worth of idle time before 08:00.
    assert!(warm.idle_slot_minutes >= 40.0 * 30.0, "{warm:?}");

    let cold = run(&day, &FixedPrewarm { prewarm: 0 }, 5).await.unwrap();
    assert_eq!(cold.bots, 40);
    assert_eq!(cold.on_time + cold.late + cold.never, 40, "{cold:?}");
    // Every bot of the 08:00 burst starts cold, and a cold start is late.
    assert!(cold.late >= first_burst, "{cold:?}, burst {first_burst}");
    assert!(cold.cold_starts as usize >= first_burst, "{cold:?}");
    assert_eq!(cold.deploys, 40, "{cold:?}");
    assert!(
        cold.idle_slot_minutes < warm.idle_slot_minutes,
        "{cold:?} vs {warm:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_bots_start_a_lead_ahead_and_join_on_time_even_cold() {
    use berth_tests::day_sim::scheduled::{Scaling, Scheduled};
    // No idle slot is kept: the two 08:00 bots start cold at 07:58:30
    // (the lead's 90 s floor), about a minute later they are in the call,
    // before 08:00; at 08:30 the third takes a freed slot. The scaling
    // job makes no slot ahead for them (their starts are more than a
    // lead away at each of its rounds).
    let policy = Scheduled {
        scaling: Scaling::Auto {
            min_idle: 0,
            max_idle: 10,
            scale_down_after_min: 5,
        },
    };
    let t = run(&three_bots(), &policy, 1).await.unwrap();
    assert_eq!(joins(&t), (3, 0, 0), "{t:?}");
    assert_eq!(t.deploys, 3, "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_database_tells_time_by_the_simulated_clock() {
    use berth_tests::day_sim::dbtime;
    use chrono::{Duration, Utc};
    let db = berth_tests::database::TestDb::new("dbtime").await;
    berth_core::db::migrate(&db.pool).await.unwrap();
    let start = Utc::now() + Duration::hours(5);
    dbtime::install(&db.pool, start).await.unwrap();
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
    let sim = sqlx::PgPool::connect_with(dbtime::options(options))
        .await
        .unwrap();
    let now = || async {
        sqlx::query_scalar::<_, chrono::DateTime<Utc>>("SELECT now()")
            .fetch_one(&sim)
            .await
            .unwrap()
    };
    assert_eq!(now().await, start.trunc_subsecs(6));
    dbtime::set(&sim, start + Duration::minutes(90))
        .await
        .unwrap();
    assert_eq!(
        now().await,
        (start + Duration::minutes(90)).trunc_subsecs(6)
    );
    // A column stamped by default takes the simulated time too.
    berth_tests::insert_pool(&sim, "zoom", "zoom", 1).await;
    let id = berth_tests::insert_bot(&sim, "zoom").await;
    let created: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM bots WHERE id = $1")
            .bind(id)
            .fetch_one(&sim)
            .await
            .unwrap();
    assert_eq!(created, (start + Duration::minutes(90)).trunc_subsecs(6));
    sim.close().await;
    db.drop_db().await;
}
