//! `berth sim ...`: the simulator's knobs, shared by every instance.

use berth_core::instance::dev_knobs;
use berth_core::meeting::PlatformKind;
use berth_core::platform::sim::{self, SimKnobs};
use berth_core::Result;
use serde::Serialize;

use crate::cli::SimSetArgs;
use crate::connect::with_db;
use crate::output::{self, Ctx};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlatformKnobs {
    platform: PlatformKind,
    #[serde(flatten)]
    knobs: SimKnobs,
    /// `false`: no row yet; these are the values a development instance will write.
    stored: bool,
}

fn print(ctx: Ctx, rows: &[PlatformKnobs]) -> Result<()> {
    if ctx.json {
        return output::json(&rows);
    }
    let mut t = output::table([
        "platform",
        "deploy latency",
        "pull latency",
        "failure rate",
        "bots run",
        "stop fails",
        "list fails",
    ]);
    for r in rows {
        let k = &r.knobs;
        let mut platform = r.platform.to_string();
        if !r.stored {
            platform.push_str(" (default)");
        }
        t.add_row(vec![
            platform,
            output::duration_ms(k.deploy_latency_ms.into()),
            output::duration_ms(k.pull_latency_ms.into()),
            format!("{:.0}%", k.failure_rate * 100.0),
            k.run_ms.map_or_else(
                || "until told".to_string(),
                |ms| output::duration_ms(ms.into()),
            ),
            if k.stop_fails { "yes" } else { "no" }.to_string(),
            if k.list_fails { "yes" } else { "no" }.to_string(),
        ]);
    }
    output::emit(t);
    Ok(())
}

/// `berth sim set`: unspecified knobs keep their current value (or, with
/// no row yet, the development defaults an instance would write).
pub async fn set(ctx: Ctx, args: SimSetArgs) -> Result<()> {
    let row = with_db(async |db| {
        let mut k = sim::stored_knobs(&db.pool, args.platform)
            .await?
            .unwrap_or_else(|| dev_knobs(args.platform));
        if let Some(v) = args.deploy_latency_ms {
            k.deploy_latency_ms = v;
        }
        if let Some(v) = args.pull_latency_ms {
            k.pull_latency_ms = v;
        }
        if let Some(v) = args.failure_rate {
            k.failure_rate = v;
        }
        if let Some(v) = args.run_ms {
            k.run_ms = Some(v);
        }
        if args.run_until_told {
            k.run_ms = None;
        }
        if let Some(v) = args.stop_fails {
            k.stop_fails = v;
        }
        if let Some(v) = args.list_fails {
            k.list_fails = v;
        }
        sim::set_knobs(&db.pool, args.platform, &k).await?;
        Ok(PlatformKnobs {
            platform: args.platform,
            knobs: k,
            stored: true,
        })
    })
    .await?;
    if ctx.json {
        return output::json(&row);
    }
    print(ctx, std::slice::from_ref(&row))
}

/// `berth sim show`.
pub async fn show(ctx: Ctx) -> Result<()> {
    let rows = with_db(async |db| {
        let mut rows = Vec::new();
        for kind in PlatformKind::ALL {
            let stored = sim::stored_knobs(&db.pool, *kind).await?;
            rows.push(PlatformKnobs {
                platform: *kind,
                stored: stored.is_some(),
                knobs: stored.unwrap_or_else(|| dev_knobs(*kind)),
            });
        }
        Ok(rows)
    })
    .await?;
    print(ctx, &rows)
}
