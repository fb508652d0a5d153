//! Rolling image updates on the simulator: a new tag reaches every slot of
//! the pool, never more than `rollout.max_updating` at once, without
//! interrupting a bot; a rollout whose leader died half way resumes.

#[path = "support/recorder.rs"]
mod recorder;

use berth_core::actor::Actor;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::sim::{self, SimPlatform};
use berth_core::rollout::{self, RolloutProgress};
use berth_core::{bot, jobs};
use berth_tests::announcing::announcing;
use berth_tests::wrapped::Wrapped;
use berth_tests::{bot_id, bots, harness_on, Harness};
use recorder::Recorder;
use sqlx::PgPool;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const POOL: &str = "roll";

fn definition(tag: &str, max_updating: u32) -> String {
    format!(
        "name: {POOL}\nmeeting_platform: zoom\nimage: bots/zoom\ntag: {tag}\nmax_size: 10\nprewarm: 8\n\
         platforms: [k8s]\nrollout:\n  max_updating: {max_updating}\n"
    )
}

async fn apply(h: &Harness, text: &str) {
    berth_core::definition::apply(&h.db, h.router.feed(), text, &Actor::system("test"))
        .await
        .unwrap();
}

/// A harness whose k8s adapter is the recorder over the simulator.
async fn recorded(db: PgPool) -> (Harness, Arc<Wrapped<Recorder>>) {
    let rec = Recorder::new(
        Arc::new(SimPlatform::new(
            PlatformKind::K8s,
            db.clone(),
            berth_core::clock::ManualClock::starting_now(),
        )),
        &db,
        false,
    );
    let pick = rec.clone();
    let env = [("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "20")];
    let h = harness_on(db, &env, false, move |k| {
        (k == PlatformKind::K8s).then(|| pick.clone() as Arc<dyn berth_core::platform::Platform>)
    })
    .await;
    (h, rec)
}

/// 8 slots on `bots/zoom:v1`: 3 holding running bots, 5 idle.
async fn eight_slots(h: &Harness) -> Vec<i64> {
    apply(h, &definition("v1", 2)).await;
    assert_eq!(jobs::prewarm(&h.router).await.unwrap(), 8);
    let mut busy = Vec::new();
    for n in 0..3 {
        let id = bot_id(
            &h.router
                .create_bot(&bots::zoom(n).pool(POOL))
                .await
                .unwrap(),
        );
        assert_eq!(
            bot::get(&h.db, id).await.unwrap().status,
            BotStatus::JoiningCall
        );
        busy.push(id);
    }
    busy
}

async fn progress(h: &Harness) -> RolloutProgress {
    rollout::progress(&h.db, POOL).await.unwrap().unwrap()
}

/// (slot id, status, bot, image, updating) of every slot of the pool.
async fn slots(h: &Harness) -> Vec<(i64, String, Option<i64>, String, bool)> {
    sqlx::query_as(
        "SELECT id, status, assigned_bot_id, image, updating FROM pool_slots WHERE pool = $1 ORDER BY id",
    )
    .bind(POOL)
    .fetch_all(&h.db)
    .await
    .unwrap()
}

/// The busy bots still hold the slots they held, running.
async fn bots_untouched(h: &Harness, held: &[(i64, i64)]) {
    for (bot_id, slot_id) in held {
        let view = bot::get(&h.db, *bot_id).await.unwrap();
        assert_eq!(
            view.status,
            BotStatus::JoiningCall,
            "bot {bot_id} not interrupted"
        );
        let s = berth_core::slot::of_bot(&h.db, *bot_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((s.id, s.status.as_str()), (*slot_id, "busy"));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_tag_reaches_all_eight_slots_two_at_a_time_without_interrupting_a_bot(db: PgPool) {
    let (h, rec) = recorded(db).await;
    let busy = eight_slots(&h).await;
    let held: Vec<(i64, i64)> = {
        let mut v = Vec::new();
        for b in &busy {
            v.push((
                *b,
                berth_core::slot::of_bot(&h.db, *b)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            ));
        }
        v
    };
    apply(&h, &definition("v2", 2)).await;
    let p = progress(&h).await;
    assert_eq!(
        (
            p.image.as_str(),
            p.total,
            p.updated,
            p.updating,
            p.waiting_for_bots,
            p.max_updating
        ),
        ("bots/zoom:v2", 8, 0, 0, 3, 2)
    );
    assert!(p.finished_at.is_none());

    // The idle five: two, two, then one per pass; the busy three wait.
    for expected in [2, 4, 5] {
        let r = rollout::advance(&h.router).await.unwrap();
        assert!(r.updated <= 2, "{r:?}");
        let p = progress(&h).await;
        assert_eq!(
            (p.updated, p.updating, p.waiting_for_bots),
            (expected, 0, 3)
        );
        bots_untouched(&h, &held).await;
    }
    assert!(
        progress(&h).await.finished_at.is_none(),
        "three busy slots still run v1"
    );
    assert_eq!(
        rollout::advance(&h.router).await.unwrap().updated,
        0,
        "nothing idle is stale"
    );

    // The bots end: two returning slots are taken for their update at once
    // (not acquirable), the third goes back to idle (the limit is reached).
    for (b, _) in &held {
        h.router.report(*b, BotStatus::Done, None).await.unwrap();
    }
    let p = progress(&h).await;
    assert_eq!((p.updated, p.updating, p.waiting_for_bots), (5, 2, 0));
    let taken: Vec<i64> = slots(&h)
        .await
        .into_iter()
        .filter(|s| s.4)
        .map(|s| s.0)
        .collect();
    assert_eq!(taken.len(), 2);
    // A new bot never lands on a slot being updated.
    let newcomer = bot_id(
        &h.router
            .create_bot(&bots::zoom(9).pool(POOL))
            .await
            .unwrap(),
    );
    let landed = berth_core::slot::of_bot(&h.db, newcomer)
        .await
        .unwrap()
        .unwrap();
    assert!(!taken.contains(&landed.id), "acquired a slot under update");
    h.router
        .report(newcomer, BotStatus::Done, None)
        .await
        .unwrap();

    while progress(&h).await.finished_at.is_none() {
        rollout::advance(&h.router).await.unwrap();
    }
    let p = progress(&h).await;
    assert_eq!(
        (p.total, p.updated, p.updating, p.waiting_for_bots),
        (8, 8, 0, 0)
    );
    assert_eq!(
        rec.updating_max.load(Ordering::SeqCst),
        2,
        "never more than the limit at once"
    );
    assert_eq!(rec.updated.load(Ordering::SeqCst), 8);
    for (id, status, bot, image, updating) in slots(&h).await {
        assert_eq!(
            (status.as_str(), bot, image.as_str(), updating),
            ("idle", None, "bots/zoom:v2", false),
            "slot {id}"
        );
        let resource =
            sqlx::query_scalar::<_, String>("SELECT platform_ref FROM pool_slots WHERE id = $1")
                .bind(id)
                .fetch_one(&h.db)
                .await
                .unwrap();
        assert_eq!(
            sim::resource_image(&h.db, PlatformKind::K8s, &resource)
                .await
                .unwrap()
                .as_deref(),
            Some("bots/zoom:v2"),
            "the platform's resource runs the new image"
        );
    }
    assert_eq!(
        sim::pulls(&h.db, PlatformKind::K8s, "bots/zoom:v2")
            .await
            .unwrap(),
        1,
        "pre-pulled once"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rollout_whose_leader_died_mid_update_resumes(db: PgPool) {
    let (h, rec) = recorded(db).await;
    let busy = eight_slots(&h).await;
    for b in &busy {
        h.router.report(*b, BotStatus::Done, None).await.unwrap();
    }
    apply(&h, &definition("v2", 3)).await;

    // The leader takes three slots and dies inside their updates.
    rec.hang_updates.store(true, Ordering::SeqCst);
    let router = h.router.clone();
    let pass = tokio::spawn(async move { rollout::advance(&router).await });
    while rec.updating_now.load(Ordering::SeqCst) < 3 {
        tokio::task::yield_now().await;
    }
    pass.abort();
    let _ = pass.await;
    let p = progress(&h).await;
    assert_eq!(
        (p.updated, p.updating),
        (0, 3),
        "three slots out of service, none moved"
    );

    // The next leader's passes take them up from the database.
    rec.hang_updates.store(false, Ordering::SeqCst);
    rec.updating_now.store(0, Ordering::SeqCst);
    let r = rollout::advance(&h.router).await.unwrap();
    assert_eq!(
        (r.claimed, r.updated),
        (0, 3),
        "the three taken slots first, nothing more"
    );
    while progress(&h).await.finished_at.is_none() {
        rollout::advance(&h.router).await.unwrap();
    }
    let p = progress(&h).await;
    assert_eq!((p.updated, p.updating), (8, 0));
    assert!(rec.updating_max.load(Ordering::SeqCst) <= 3);
}

/// A pass announces the slots it moved by id (an open console patches
/// those rows instead of reloading every slot of the fleet).
#[sqlx::test(migrations = "../migrations")]
async fn a_rollout_pass_announces_the_slots_it_moved(db: PgPool) {
    let (h, _rec) = recorded(db).await;
    eight_slots(&h).await;
    apply(&h, &definition("v2", 2)).await;
    let mut on = announcing(&h.db, h.clock.clone(), h.router.platforms()).await;
    let r = rollout::advance(&on.router).await.unwrap();
    assert_eq!((r.claimed, r.updated), (2, 2), "{r:?}");
    let moved: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM pool_slots WHERE pool = $1 AND image = 'bots/zoom:v2'")
            .bind(POOL)
            .fetch_all(&h.db)
            .await
            .unwrap();
    assert_eq!(moved.len(), 2);
    let named = on.slots_named(&moved, "the rollout pass").await;
    assert_eq!(named.len(), 2, "only the moved slots: {named:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rollout_limit_out_of_range_is_refused(db: PgPool) {
    let (h, _) = recorded(db).await;
    for n in [0, 101] {
        let e = berth_core::definition::apply(
            &h.db,
            h.router.feed(),
            &definition("v1", n),
            &Actor::system("test"),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("must be from 1 to 100"), "{e}");
    }
    assert!(
        rollout::progress(&h.db, POOL).await.unwrap().is_none(),
        "nothing written"
    );
}

#[path = "support/coolify_fake.rs"]
mod coolify_fake;

/// On Coolify (the stateful fake of its API): the new tag becomes each
/// application's image, the busy one's once its bot has left.
#[sqlx::test(migrations = "../migrations")]
async fn on_coolify_each_application_takes_the_new_image(db: PgPool) {
    use berth_core::platform::coolify::CoolifyPlatform;
    use berth_core::platform::Platforms;
    use wiremock::{matchers::any, Mock, MockServer};
    const TOKEN: &str = "tok-rolling";
    let env = [("PLATFORM_PRIORITY", "coolify"), ("COOLIFY_BOT_LIMIT", "5")];
    let vars: std::collections::HashMap<&str, &str> = env.into_iter().collect();
    let cfg = berth_core::config::EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), false)
        .unwrap();
    berth_core::settings::apply_env(&db, &cfg).await.unwrap();
    berth_core::pool::ensure_defaults(&db, &cfg.pools)
        .await
        .unwrap();
    let server = MockServer::start().await;
    let fake = coolify_fake::FakeCoolify::new(TOKEN);
    Mock::given(any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let clock = berth_core::clock::ManualClock::starting_now();
    let coolify = berth_core::config::CoolifyConfig {
        api_url: server.uri(),
        project_uuid: "proj-1".into(),
        server_uuid: "srv-1".into(),
        destination_uuid: None,
        environment_name: Some("production".into()),
        environment_uuid: None,
        token_source: berth_core::platform::secret::TokenSource::Env,
        app_prefix: berth_core::config::DEFAULT_COOLIFY_APP_PREFIX.into(),
    };
    let adapter = Arc::new(
        CoolifyPlatform::new(
            coolify,
            secrecy::SecretString::from(TOKEN),
            Default::default(),
        )
        .unwrap()
        .with_clock(clock.clone()),
    );
    let mut platforms = Platforms::new();
    platforms.insert(adapter);
    let router = berth_core::router::Router::new(
        db.clone(),
        clock.clone(),
        berth_core::feed::Feed::new(uuid::Uuid::new_v4(), false),
        platforms,
    );
    let text = |tag: &str| {
        format!("name: {POOL}\nmeeting_platform: zoom\nimage: bots/zoom\ntag: {tag}\nmax_size: 5\nprewarm: 4\nplatforms: [coolify]\nrollout:\n  max_updating: 2\n")
    };
    let apply = |t: String| {
        let (db, feed) = (db.clone(), router.feed().clone());
        async move {
            berth_core::definition::apply(&db, &feed, &t, &Actor::system("test"))
                .await
                .unwrap()
        }
    };
    apply(text("v1")).await;
    assert_eq!(jobs::prewarm(&router).await.unwrap(), 4);
    let busy = bot_id(&router.create_bot(&bots::zoom(1).pool(POOL)).await.unwrap());
    apply(text("v2")).await;
    let images = |fake: &coolify_fake::FakeCoolify| -> Vec<String> {
        fake.lock().apps.values().map(|a| a.image.clone()).collect()
    };
    for _ in 0..3 {
        rollout::advance(&router).await.unwrap();
    }
    let mut now = images(&fake);
    now.sort();
    assert_eq!(
        now,
        [
            "bots/zoom:v1",
            "bots/zoom:v2",
            "bots/zoom:v2",
            "bots/zoom:v2"
        ],
        "the busy application keeps its image"
    );
    assert_eq!(
        bot::get(&db, busy).await.unwrap().status,
        BotStatus::JoiningCall
    );
    router.report(busy, BotStatus::Done, None).await.unwrap();
    while rollout::progress(&db, POOL)
        .await
        .unwrap()
        .unwrap()
        .finished_at
        .is_none()
    {
        rollout::advance(&router).await.unwrap();
    }
    assert!(
        images(&fake).iter().all(|i| i == "bots/zoom:v2"),
        "{:?}",
        images(&fake)
    );
}
