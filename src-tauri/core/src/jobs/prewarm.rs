//! Pre-warming: idle slots made ahead of demand.

use std::collections::HashMap;

use crate::bot;
use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::{PlatformKind, SlotStatus};
use crate::platform::{PlatformState, ResourceSpec};
use crate::pool::{self, Pool};
use crate::router::Router;
use crate::settings::{self, PlatformSettings, Settings};
use crate::slot;

/// Tops every pool up to its pre-warm count of idle slots, pulling the image
/// and creating the resource ahead of demand. The slots go where the router
/// would deploy the pool's next bots ([`plan`]): the routable, healthy
/// platforms it may use in priority order, each taking as many as it has
/// room for. Returns the slots created.
pub async fn prewarm(router: &Router) -> Result<usize> {
    let pass = Pass::read(router).await?;
    let mut created = 0;
    for p in pool::list(router.db()).await? {
        // A scaled pool has no `prewarm_count` (its definition may not set
        // one): the scaling job keeps its idle slots ([`super::scale`]).
        if p.prewarm_count == 0 {
            continue;
        }
        let missing = i64::from(p.prewarm_count) - pass.idle(&p.name, None);
        created += fill(router, &pass, &p, missing).await?;
    }
    if created > 0 {
        router.feed().publish(&[Topic::Slots]);
    }
    Ok(created)
}

/// What a pre-warm or scaling pass reads once for every pool.
pub(crate) struct Pass {
    settings: Settings,
    states: HashMap<PlatformKind, PlatformState>,
    active: HashMap<String, i64>,
    counts: Vec<slot::PoolPlatformStatusCount>,
}

impl Pass {
    /// Reads the settings, the platforms' states, their active bots and
    /// the slot counts.
    pub(crate) async fn read(router: &Router) -> Result<Pass> {
        let db = router.db();
        Ok(Pass {
            settings: settings::load(db).await?,
            states: router.platform_states().await?,
            active: bot::active_per_platform(db).await?.into_iter().collect(),
            counts: slot::counts_per_pool_and_platform(db).await?,
        })
    }

    /// `pool`'s idle slots, on `kind` or on every platform.
    pub(crate) fn idle(&self, pool: &str, kind: Option<PlatformKind>) -> i64 {
        self.counts
            .iter()
            .filter(|c| c.pool == pool && c.status == SlotStatus::Idle)
            .filter(|c| kind.is_none_or(|k| c.deployment_platform == k))
            .map(|c| c.count)
            .sum::<i64>()
    }
}

/// Makes up to `missing` idle slots of `p` where [`plan`] puts them (the
/// routable platforms it may use in priority order, each as far as its
/// room goes). Returns the slots made; publishes nothing.
pub(crate) async fn fill(router: &Router, pass: &Pass, p: &Pool, missing: i64) -> Result<usize> {
    if missing <= 0 {
        return Ok(0);
    }
    let targets = targets(router, p, &pass.settings, &pass.states).map(|s| Room {
        platform: s.platform,
        room: i64::from(s.bot_limit.unwrap_or(0))
            - pass.active.get(s.platform.as_str()).copied().unwrap_or(0),
        idle: pass.idle(&p.name, Some(s.platform)),
    });
    let mut created = 0;
    for (kind, n) in plan(missing, targets) {
        created += top_up(router, p, kind, n).await?;
    }
    Ok(created)
}

/// A platform a pool may pre-warm on, as read for one pass.
#[derive(Debug, Clone, Copy)]
pub struct Room {
    /// The platform.
    pub platform: PlatformKind,
    /// Its limit minus its active bots: the deploys it can take now.
    pub room: i64,
    /// The pool's idle slots already on it.
    pub idle: i64,
}

/// Where `missing` idle slots of a pool go: through `targets` in priority
/// order, each platform taking what its room leaves after the pool's idle
/// slots already there (an idle slot on a platform at its limit would wait
/// for a bot to end, while the router sends the next bot to the next
/// platform). What no platform has room for is not made (the next pass
/// makes it once room returns). Pure: reads and writes nothing.
pub fn plan(mut missing: i64, targets: impl IntoIterator<Item = Room>) -> Vec<(PlatformKind, i64)> {
    let mut out = Vec::new();
    for t in targets {
        if missing <= 0 {
            break;
        }
        let take = missing.min(t.room - t.idle);
        if take > 0 {
            out.push((t.platform, take));
            missing -= take;
        }
    }
    out
}

/// The platforms in priority order that pool `p` may use and the router
/// would deploy onto now.
fn targets<'a>(
    router: &'a Router,
    p: &'a Pool,
    settings: &'a Settings,
    states: &'a HashMap<PlatformKind, PlatformState>,
) -> impl Iterator<Item = &'a PlatformSettings> + 'a {
    settings.platforms.iter().filter(move |s| {
        p.allowed_platforms.as_ref().is_none_or(|a| a.contains(&s.platform))
            // The router's own check: a platform failing its checks (or
            // with its breaker open, here or in any instance) would only
            // make slots that fail at once; so would one whose deploys
            // are backing off.
            && router.eligibility(s, states).is_ok()
            && states
                .get(&s.platform)
                .and_then(|s| s.deploy_retry_at)
                .is_none_or(|at| at <= router.clock().now())
    })
}

/// Makes up to `missing` idle slots of pool `p` on `kind`, each with its
/// resource created; stops at the pool's max size or the first failure
/// (that slot is marked `error`). Returns the slots made.
async fn top_up(router: &Router, p: &Pool, kind: PlatformKind, missing: i64) -> Result<usize> {
    let db = router.db();
    // Read once, before any slot is made: a failed read leaves none half made.
    let made_of = ResourceSpec {
        image: p.image.clone(),
        resources: crate::definition::resources_of(db, &p.name).await?,
        meeting_platform: Some(p.meeting_platform),
    };
    let adapter = router
        .platforms()
        .get(kind)
        .expect("eligible: it has an adapter");
    let mut created = 0;
    for _ in 0..missing {
        let mut conn = db.acquire().await?;
        let Some(lease) = slot::create(&mut conn, &p.name, kind, None).await? else {
            break;
        };
        drop(conn);
        let r = lease.slot_ref();
        let made = async {
            router
                .images
                .ensure(db, router.clock().as_ref(), adapter.as_ref(), &p.image)
                .await?;
            adapter.create_resource(&r, &made_of).await
        }
        .await;
        match made {
            Ok(platform_ref) => {
                slot::set_platform_ref(db, lease.slot_id, lease.epoch, &platform_ref).await?;
                // The platform says what the database says: idle, never used.
                let mut r = r;
                r.platform_ref = Some(platform_ref);
                router
                    .describe(kind, &r, &crate::description::idle(None))
                    .await;
                created += 1;
            }
            Err(e) => {
                let mut conn = db.acquire().await?;
                slot::mark_error(
                    &mut conn,
                    lease.slot_id,
                    Some(lease.epoch),
                    &format!("pre-warm failed: {e}"),
                    router.clock().now(),
                )
                .await?;
                break;
            }
        }
    }
    Ok(created)
}
