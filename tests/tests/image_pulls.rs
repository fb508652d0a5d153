//! The image pull gate in the database: of many first deploys of an image
//! on one platform — in one instance or several sharing the database — one
//! pulls and the others wait for it; a failed or abandoned pull lets the
//! next deploy try again. On the simulator, and with a platform whose start
//! is the pull (Coolify, Kubernetes).

#[path = "support/recorder.rs"]
mod recorder;

use berth_core::actor::Actor;
use berth_core::bot;
use berth_core::clock::ManualClock;
use berth_core::meeting::{BotStatus, PlatformKind};
use berth_core::platform::image::{pulls_of, ImageGate, Pull, PULL_HOLD};
use berth_core::platform::sim::{self, SimKnobs, SimPlatform};
use berth_core::platform::Platform;
use berth_core::router::DeployOutcome;
use berth_tests::wrapped::Wrapped;
use berth_tests::{bot_id, bots, harness_on, Harness};
use chrono::Duration;
use recorder::Recorder;
use sqlx::PgPool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::task::JoinSet;

const IMAGE: &str = "bots/zoom:new";

/// One Berth instance: its harness (the router's clock moves only when the
/// test says), its k8s adapter (a recorder over the simulator) and the
/// simulator's own clock (pull and start latencies pass on it).
struct Node {
    h: Harness,
    rec: Arc<Wrapped<Recorder>>,
    sim: Arc<ManualClock>,
}

/// An instance with a pool `fresh` of ten slots on `bots/zoom:new`, nothing
/// pre-warmed.
async fn instance(db: &PgPool, pulls_on_start: bool) -> Node {
    let sim = ManualClock::starting_now();
    let rec = Recorder::new(
        Arc::new(SimPlatform::new(PlatformKind::K8s, db.clone(), sim.clone())),
        db,
        pulls_on_start,
    );
    let pick = rec.clone();
    let env = [("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "20")];
    let h = harness_on(db.clone(), &env, false, move |k| {
        (k == PlatformKind::K8s).then(|| pick.clone() as Arc<dyn Platform>)
    })
    .await;
    berth_core::definition::apply(
        db,
        h.router.feed(),
        "name: fresh\nmeeting_platform: zoom\nimage: bots/zoom\ntag: new\nmax_size: 10\nplatforms: [k8s]\n",
        &Actor::system("test"),
    )
    .await
    .unwrap();
    Node { h, rec, sim }
}

/// Sets the simulator's pull and deploy latencies (shared by every instance).
async fn latencies(db: &PgPool, pull_ms: i32, deploy_ms: i32) {
    sim::set_knobs(
        db,
        PlatformKind::K8s,
        &SimKnobs {
            pull_latency_ms: pull_ms,
            deploy_latency_ms: deploy_ms,
            ..SimKnobs::default()
        },
    )
    .await
    .unwrap();
}

/// Lets the other tasks run until `cond` holds (no time passes on the
/// clocks); fails saying `what`, rather than hang, when it has not come
/// within a minute of real time.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond() {
        assert!(std::time::Instant::now() < give_up, "never came: {what}");
        tokio::task::yield_now().await;
    }
}

fn sleeping(clocks: &[&Arc<ManualClock>]) -> usize {
    clocks.iter().map(|c| c.sleepers()).sum()
}

/// Starts `n` deploys on each node at once. Once one of them pulls (its
/// platform call sleeps on a simulator's clock) and the nine others wait
/// at the gate (sleeping on their routers' clocks, between looks), the
/// pull's time passes; then a second at a time passes on the routers'
/// clocks while waiters sleep, so those in the other instance look again;
/// with `slow_starts`, the other starts' time passes too. Returns every
/// outcome.
async fn deploy_all(nodes: &[&Node], n: u32, slow_starts: bool) -> Vec<DeployOutcome> {
    let routers: Vec<&Arc<ManualClock>> = nodes.iter().map(|n| &n.h.clock).collect();
    // Whatever else sleeps on the routers' clocks (the instances' own services).
    let base = sleeping(&routers);
    let mut set = JoinSet::new();
    for (i, node) in nodes.iter().enumerate() {
        for k in 0..n {
            let router = node.h.router.clone();
            let req = bots::zoom(i as u32 * 100 + k).pool("fresh");
            set.spawn(async move { router.create_bot(&req).await.unwrap() });
        }
    }
    let total = nodes.len() * n as usize;
    let sims: Vec<&Arc<ManualClock>> = nodes.iter().map(|n| &n.sim).collect();
    until("one pulling, the others waiting at the gate", || {
        sleeping(&sims) == 1 && sleeping(&routers) == base + total - 1
    })
    .await;
    sims.iter().for_each(|c| c.advance(Duration::seconds(60)));
    // Then: a second for the waiters asleep between looks, and with
    // `slow_starts` the other starts' time, as they come.
    let mut out = Vec::new();
    while !set.is_empty() {
        tokio::select! {
            Some(done) = set.join_next() => out.push(done.unwrap()),
            _ = tokio::task::yield_now() => {
                if slow_starts && sleeping(&sims) > 0 {
                    sims.iter().for_each(|c| c.advance(Duration::seconds(60)));
                }
                if sleeping(&routers) > base {
                    routers.iter().for_each(|c| c.advance(Duration::seconds(1)));
                }
            }
        }
    }
    out
}

async fn all_joining(db: &PgPool, outcomes: &[DeployOutcome]) {
    for o in outcomes {
        assert_eq!(
            bot::get(db, bot_id(o)).await.unwrap().status,
            BotStatus::JoiningCall,
            "{o:?}"
        );
    }
}

fn sum(nodes: &[&Node], count: impl Fn(&Recorder) -> usize) -> usize {
    nodes.iter().map(|n| count(&n.rec)).sum()
}

#[sqlx::test(migrations = "../migrations")]
async fn ten_first_deploys_of_an_image_pull_it_once(db: PgPool) {
    let a = instance(&db, false).await;
    latencies(&db, 60_000, 0).await;
    let outcomes = deploy_all(&[&a], 10, false).await;
    assert_eq!(outcomes.len(), 10);
    all_joining(&db, &outcomes).await;
    assert_eq!(
        a.rec.pulls.load(Ordering::SeqCst),
        1,
        "one pull, nine waited"
    );
    assert_eq!(sim::pulls(&db, PlatformKind::K8s, IMAGE).await.unwrap(), 1);
    let rows = pulls_of(&db, IMAGE).await.unwrap();
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("done", 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn two_instances_sharing_the_database_pull_a_new_image_once(db: PgPool) {
    let (a, b) = (instance(&db, false).await, instance(&db, false).await);
    latencies(&db, 60_000, 0).await;
    let outcomes = deploy_all(&[&a, &b], 5, false).await;
    assert_eq!(outcomes.len(), 10);
    all_joining(&db, &outcomes).await;
    assert_eq!(
        sum(&[&a, &b], |r| r.pulls.load(Ordering::SeqCst)),
        1,
        "one pull across both instances"
    );
    assert_eq!(sim::pulls(&db, PlatformKind::K8s, IMAGE).await.unwrap(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn where_the_start_is_the_pull_the_first_start_runs_alone(db: PgPool) {
    // Coolify and Kubernetes: no pull ahead; the first start pulls (slow),
    // the others start once it has, in this instance or the other.
    let (a, b) = (instance(&db, true).await, instance(&db, true).await);
    latencies(&db, 0, 60_000).await;
    let outcomes = deploy_all(&[&a, &b], 5, true).await;
    all_joining(&db, &outcomes).await;
    let nodes = [&a, &b];
    let first = sum(&nodes, |r| r.first_starts.load(Ordering::SeqCst));
    let starts = sum(&nodes, |r| r.starts.load(Ordering::SeqCst));
    assert_eq!(
        (first, starts),
        (1, 10),
        "one start pulled, nine started a pulled image"
    );
    assert_eq!(sum(&nodes, |r| r.pulls.load(Ordering::SeqCst)), 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_pull_lets_the_next_deploy_pull_again(db: PgPool) {
    let Node { h, rec, .. } = instance(&db, false).await;
    rec.failing_pulls.store(1, Ordering::SeqCst);
    let first = h
        .router
        .create_bot(&bots::zoom(1).pool("fresh"))
        .await
        .unwrap();
    assert_ne!(
        bot::get(&db, bot_id(&first)).await.unwrap().status,
        BotStatus::JoiningCall
    );
    let rows = pulls_of(&db, IMAGE).await.unwrap();
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("failed", 1));
    assert!(rows[0]
        .error
        .as_deref()
        .unwrap_or("")
        .contains("recorded pull_image failure"));

    // Past the platform's deploy backoff (1 s after a failure).
    h.clock.advance(Duration::seconds(2));
    let second = h
        .router
        .create_bot(&bots::zoom(2).pool("fresh"))
        .await
        .unwrap();
    assert_eq!(
        bot::get(&db, bot_id(&second)).await.unwrap().status,
        BotStatus::JoiningCall
    );
    assert_eq!(rec.pulls.load(Ordering::SeqCst), 2, "pulled again");
    let rows = pulls_of(&db, IMAGE).await.unwrap();
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("done", 2));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_first_start_lets_the_next_start_pull(db: PgPool) {
    let Node { h, rec, .. } = instance(&db, true).await;
    rec.failing_starts.store(1, Ordering::SeqCst);
    let _ = h
        .router
        .create_bot(&bots::zoom(1).pool("fresh"))
        .await
        .unwrap();
    assert_eq!(pulls_of(&db, IMAGE).await.unwrap()[0].state, "failed");
    h.clock.advance(Duration::seconds(2));
    let second = h
        .router
        .create_bot(&bots::zoom(2).pool("fresh"))
        .await
        .unwrap();
    assert_eq!(
        bot::get(&db, bot_id(&second)).await.unwrap().status,
        BotStatus::JoiningCall
    );
    assert_eq!(
        rec.first_starts.load(Ordering::SeqCst),
        2,
        "the next start was the pull"
    );
    assert_eq!(pulls_of(&db, IMAGE).await.unwrap()[0].state, "done");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pull_whose_holder_vanished_is_taken_over_when_its_claim_lapses(db: PgPool) {
    let clock = ManualClock::starting_now();
    let (gone, next) = (ImageGate::new(), Arc::new(ImageGate::new()));
    let Pull::Held(_abandoned) = gone
        .admit(&db, clock.as_ref(), PlatformKind::Coolify, IMAGE)
        .await
        .unwrap()
    else {
        panic!("the first caller holds the pull");
    };
    let waiter = {
        let (db, clock, next) = (db.clone(), clock.clone(), next.clone());
        tokio::spawn(async move {
            next.admit(&db, clock.as_ref(), PlatformKind::Coolify, IMAGE)
                .await
        })
    };
    clock.wait_for_sleepers(1).await;
    clock.advance(PULL_HOLD - Duration::seconds(2));
    clock.wait_for_sleepers(1).await;
    assert!(!waiter.is_finished(), "a live claim is waited for");
    let mut waiter = waiter;
    let took = loop {
        tokio::select! {
            done = &mut waiter => break done.unwrap().unwrap(),
            _ = clock.wait_for_sleepers(1) => clock.advance(Duration::seconds(1)),
        }
        // Lets the waiter run before the clock moves again.
        tokio::task::yield_now().await;
    };
    assert!(
        matches!(took, Pull::Held(_)),
        "the lapsed claim is taken over"
    );
    let row = &pulls_of(&db, IMAGE).await.unwrap()[0];
    assert_eq!((row.state.as_str(), row.attempts), ("pulling", 2));
}
