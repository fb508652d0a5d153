//! Pre-warming: idle slots made ahead of demand.

use std::collections::HashMap;

use crate::error::Result;
use crate::feed::Topic;
use crate::meeting::PlatformKind;
use crate::platform::{PlatformState, ResourceSpec};
use crate::pool::{self, Pool};
use crate::router::Router;
use crate::settings::{self, Settings};
use crate::slot;

/// Tops every pool up to its pre-warm count of idle slots, on the first
/// routable, healthy platform it may use, pulling the image and creating the
/// resource ahead of demand. Returns the slots created.
pub async fn prewarm(router: &Router) -> Result<usize> {
    let db = router.db();
    let settings = settings::load(db).await?;
    let states = router.platform_states().await?;
    let mut created = 0;
    for p in pool::list(db).await? {
        if p.prewarm_count == 0 {
            continue;
        }
        let Some(kind) = target(router, &p, &settings, &states) else {
            continue;
        };
        let idle = slot::idle_count(db, &p.name).await?;
        if idle >= i64::from(p.prewarm_count) {
            continue;
        }
        created += top_up(router, &p, kind, i64::from(p.prewarm_count) - idle).await?;
    }
    if created > 0 {
        router.feed().publish(&[Topic::Slots]);
    }
    Ok(created)
}

/// The first platform in priority order that pool `p` may use and the
/// router would deploy onto now.
fn target(
    router: &Router,
    p: &Pool,
    settings: &Settings,
    states: &HashMap<PlatformKind, PlatformState>,
) -> Option<PlatformKind> {
    settings
        .platforms
        .iter()
        .find(|s| {
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
        .map(|s| s.platform)
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
            router.images.ensure(db, adapter.as_ref(), &p.image).await?;
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
