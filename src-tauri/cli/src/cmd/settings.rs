//! `berth settings show|set`: the platform settings, changed through the
//! core's save (the Settings view's use case: the same checks, pinned
//! values refused, all or nothing).

use berth_core::actor::Actor;
use berth_core::settings::{self, PlatformEdit, Settings, SettingsPlan};
use berth_core::tier::TierSettings;
use berth_core::Result;

use crate::cli::SettingsSetArgs;
use crate::connect::{with_berth, with_db};
use crate::output::{self, Ctx};

/// `berth settings show`.
pub async fn show(ctx: Ctx) -> Result<()> {
    let s = with_db(async |db| settings::load(&db.pool).await).await?;
    print(ctx, &s)
}

/// `berth settings set`: one save of every change given.
pub async fn set(ctx: Ctx, args: SettingsSetArgs) -> Result<()> {
    let edit = PlatformEdit {
        enabled: args.enabled,
        bot_limit: args.bot_limit,
        queue_timeout_ms: args.queue_timeout_ms,
    };
    let edits = match args.platform {
        Some(kind) => vec![(kind, edit)],
        None => Vec::new(),
    };
    let mut plan = SettingsPlan {
        order: args.priority,
        edits,
        global_queue_timeout_ms: args.global_queue_timeout_ms,
        tiers: None,
    };
    let s = with_berth(ctx.dev, async |berth| {
        let (db, feed) = (berth.router().db(), berth.router().feed());
        if args.tiers.is_some() || args.default_tier.is_some() {
            // What is not given stays as it is (the core checks the whole).
            let current = settings::load(db).await?.tiers;
            plan.tiers = Some(TierSettings {
                tiers: args.tiers.clone().unwrap_or(current.tiers),
                default_tier: args.default_tier.clone().unwrap_or(current.default_tier),
            });
        }
        settings::save_with_reason(db, feed, &plan, &Actor::cli(), args.reason.as_deref()).await
    })
    .await?;
    print(ctx, &s)
}

fn print(ctx: Ctx, s: &Settings) -> Result<()> {
    if ctx.json {
        return output::json(s);
    }
    let mut t = output::table([
        "#",
        "platform",
        "enabled",
        "bot limit",
        "queue timeout",
        "pinned by",
    ]);
    for (rank, p) in s.platforms.iter().enumerate() {
        let pinned: Vec<String> = p.pinned.iter().map(|(f, v)| format!("{f}={v}")).collect();
        t.add_row(vec![
            (rank + 1).to_string(),
            p.platform.to_string(),
            if p.enabled { "yes" } else { "no" }.to_string(),
            output::opt(p.bot_limit),
            output::duration_ms(p.queue_timeout_ms.into()),
            if pinned.is_empty() {
                "-".to_string()
            } else {
                pinned.join(", ")
            },
        ]);
    }
    output::emit(t);
    let pin = s
        .global_queue_timeout_pinned_by
        .as_ref()
        .map(|v| format!(" (pinned by {v})"))
        .unwrap_or_default();
    output::emit(format!(
        "Global queue timeout: {}{pin}",
        output::duration_ms(s.global_queue_timeout_ms.into())
    ));
    let mut t = output::table(["tier", "priority", "max wait", "default"]);
    for tier in &s.tiers.tiers {
        t.add_row(vec![
            tier.name.clone(),
            tier.priority.to_string(),
            tier.max_wait_ms
                .map_or("-".to_string(), |w| output::duration_ms(w.into())),
            if tier.name == s.tiers.default_tier {
                "yes"
            } else {
                ""
            }
            .to_string(),
        ]);
    }
    output::emit(t);
    Ok(())
}
