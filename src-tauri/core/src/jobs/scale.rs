//! The scaling job: each scaled pool's idle slots brought to its target.

use std::collections::HashMap;

use super::prewarm::{fill, Pass};
use crate::error::Result;
use crate::feed::Topic;
use crate::pool;
use crate::router::Router;
use crate::scaling::{self, demand, down, Action, Decision};

/// One pass over every scaled pool ([`crate::scaling`]) that is not
/// retired: computes its target from the demand read now, makes idle slots
/// up to it through the pre-warm path, or removes idle slots above it that
/// have been idle for `scale_down_after` (never below `min_idle`, never a
/// held slot: [`down::remove_above`]). Records a decision when slots were
/// made or removed, or when the target or the reason changed since the
/// pool's last one, and announces `scaling` (and `slots`, `pools` when
/// slots changed). Returns the decisions recorded.
pub async fn scale(router: &Router) -> Result<Vec<Decision>> {
    let db = router.db();
    let policies = scaling::policies(db).await?;
    if policies.is_empty() {
        return Ok(Vec::new());
    }
    let now = router.clock().now();
    let pass = Pass::read(router).await?;
    let pools: HashMap<String, pool::Pool> = pool::list(db)
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
    let mut recorded = Vec::new();
    let mut slots_changed = false;
    for (name, policy) in policies {
        let Some(p) = pools.get(&name) else {
            continue;
        };
        let d = demand::read(db, &name, now).await?;
        let t = scaling::target(&policy, &d);
        let idle = pass.idle(&name, None);
        let want = i64::from(t.target);
        let (created, removed, why) = if idle < want {
            let made = fill(router, &pass, p, want - idle).await?;
            let why = if made == 0 {
                "below the target, but no allowed platform has room (or the pool is full)"
            } else {
                ""
            };
            (made as u32, 0, why)
        } else if idle > want {
            let gone =
                down::remove_above(router, &name, want, policy.scale_down_after, now).await?;
            (
                0,
                gone,
                "above the target, but no idle slot has been idle for scale_down_after",
            )
        } else {
            (0, 0, AT_TARGET)
        };
        slots_changed |= created > 0 || removed > 0;
        let idle_before = u32::try_from(idle).unwrap_or(u32::MAX);
        let decision = Decision::of(&name, now, t, &d, idle_before, (created, removed), why);
        if worth_recording(db, &decision).await? {
            scaling::decision::record(db, &decision).await?;
            recorded.push(decision);
        }
    }
    let mut topics = Vec::new();
    if !recorded.is_empty() {
        topics.push(Topic::Scaling);
    }
    if slots_changed {
        topics.extend([Topic::Slots, Topic::Pools]);
    }
    if !topics.is_empty() {
        router.feed().publish(&topics);
    }
    Ok(recorded)
}

/// A hold's reason when the pool is where it should be.
const AT_TARGET: &str = "at the target";

/// An `up` or `down` always is; a `hold` when the target moved since the
/// pool's last decision, or when it says something new (the pool cannot
/// reach its target, and the last decision did not say the same). A
/// steady pool writes nothing pass after pass.
async fn worth_recording(db: &sqlx::PgPool, d: &Decision) -> Result<bool> {
    if d.action != Action::Hold {
        return Ok(true);
    }
    let last = scaling::decision::recent(db, &d.pool, 1).await?;
    let Some(l) = last.first() else {
        return Ok(true);
    };
    Ok(l.target != d.target
        || (hold_reason(d) != AT_TARGET
            && (l.action != Action::Hold || hold_reason(l) != hold_reason(d))))
}

/// The part of a hold's reason that is not a count.
fn hold_reason(d: &Decision) -> &str {
    d.reason
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map_or("", |(why, _)| why)
}
