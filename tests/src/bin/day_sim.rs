//! The day simulation: a working day of meeting bots on the real engine,
//! with a clock that jumps from event to event (see
//! [`berth_tests::day_sim`]). Compares, in one run, today's fixed pre-warm
//! (at the smallest count that reaches the new mode's on-time rate, found
//! by bisection) with scheduled bots and auto-scaling, and prints both as
//! rows of one table.
//!
//! ```text
//! DATABASE_URL=postgres://... cargo run -p berth-tests --bin day_sim -- [--quick] [--seed N] [--prewarm P]
//! ```
//!
//! Each run creates a database `berth_daysim_<pid>_<nanos>` and drops it.
//! Exits non-zero only on errors; a missed target is reported, not failed.

#[path = "day_sim/args.rs"]
mod args;

use berth_tests::day_sim::metrics::{Tally, AD_HOC_ALLOWANCE_S, GRACE_S};
use berth_tests::day_sim::platform::{PREPARE_MS, WARM_MS};
use berth_tests::day_sim::policy::{FixedPrewarm, Policy};
use berth_tests::day_sim::run::{run, LIMITS};
use berth_tests::day_sim::scheduled::{Scaling, Scheduled};
use berth_tests::day_sim::search::smallest_prewarm;
use berth_tests::day_sim::workload::{clock_time, draw, Kind, Shape, Workload};
use std::process::ExitCode;

/// The new mode's on-time target.
const TARGET_ON_TIME: f64 = 0.99;
/// Its idle slot-minutes, at most this share of the fixed pre-warm's.
const TARGET_IDLE_SHARE: f64 = 0.5;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("day_sim: {e}");
            return ExitCode::from(2);
        }
    };
    if std::env::var("DATABASE_URL").is_err() {
        eprintln!(
            "day_sim: DATABASE_URL is not set (e.g. postgres://berth@127.0.0.1:5432/postgres)"
        );
        return ExitCode::from(2);
    }
    let wall = std::time::Instant::now();
    let shape = if args.quick { Shape::QUICK } else { Shape::DAY };
    let workload = draw(shape, args.seed);
    describe(&workload, args.seed);
    match compare(&workload, &args).await {
        Ok(rows) => {
            print_table(&rows);
            judge(&rows);
            println!("\nwall time: {:.1} s", wall.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("day_sim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One row of the table.
struct Row {
    name: String,
    settings: String,
    tally: Tally,
}

/// The new mode's sizing until auto-scaling is merged.
const NEW_MODE: Scheduled = Scheduled {
    scaling: Scaling::NotYetMerged { prewarm: 3 },
};

async fn compare(workload: &Workload, args: &args::Args) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let new = run(workload, &NEW_MODE, args.seed).await?;
    eprintln!(
        "  {}: on time {:.1} %, idle {:.0} slot-min ({:.1} s)",
        NEW_MODE.name(),
        100.0 * new.on_time_rate(),
        new.idle_slot_minutes,
        new.wall_s
    );
    // Today's mode is searched for the new mode's on-time rate.
    let target = new.on_time_rate();
    let fixed = match args.prewarm {
        Some(p) => {
            let policy = FixedPrewarm { prewarm: p };
            let tally = run(workload, &policy, args.seed).await?;
            (policy, tally, String::new())
        }
        None => {
            let hi = LIMITS.iter().map(|l| l.1).sum::<u32>() / 2;
            let found = smallest_prewarm(workload, args.seed, target, hi, |p, t| {
                eprintln!(
                    "  prewarm {p:>3}: on time {:.1} %, idle {:.0} slot-min ({:.1} s)",
                    100.0 * t.on_time_rate(),
                    t.idle_slot_minutes,
                    t.wall_s
                )
            })
            .await?;
            let note = if found.reached {
                format!(" (smallest reaching (b)'s {:.1} %)", 100.0 * target)
            } else {
                format!(" (even this misses {:.1} %)", 100.0 * target)
            };
            (
                FixedPrewarm {
                    prewarm: found.prewarm,
                },
                found.tally,
                note,
            )
        }
    };
    rows.push(Row {
        name: fixed.0.name(),
        settings: format!("{}{}", fixed.0.settings(), fixed.2),
        tally: fixed.1,
    });
    rows.push(Row {
        name: NEW_MODE.name(),
        settings: NEW_MODE.settings(),
        tally: new,
    });
    Ok(rows)
}

fn describe(w: &Workload, seed: u64) {
    let scheduled = w
        .bots
        .iter()
        .filter(|b| matches!(b.kind, Kind::Scheduled { .. }))
        .count();
    let limits: Vec<String> = LIMITS
        .iter()
        .map(|(k, l)| format!("{} {l}", k.as_str()))
        .collect();
    println!(
        "day {}–{} (seed {seed}): {scheduled} scheduled bots (meetings at :00 and :30), {} ad-hoc",
        clock_time(w.starts),
        clock_time(w.stops),
        w.bots.len() - scheduled
    );
    println!(
        "platforms (priority order, bot limits): {}; start ≈{} s cold (no idle slot), ≈{} s warm",
        limits.join(", "),
        (PREPARE_MS + WARM_MS) / 1000,
        WARM_MS / 1000
    );
    println!(
        "on time: in the call by joinAt + {GRACE_S} s (ad-hoc: request + {} s)\n",
        GRACE_S + AD_HOC_ALLOWANCE_S
    );
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<22} {:<40} {:>5} {:>8} {:>5} {:>5} {:>7} {:>5} {:>10} {:>5} {:>7}",
        "mode",
        "settings",
        "bots",
        "on time",
        "late",
        "never",
        "deploys",
        "cold",
        "idle s-min",
        "peak",
        "wall s"
    );
    for r in rows {
        let t = &r.tally;
        println!(
            "{:<22} {:<40} {:>5} {:>7.1}% {:>5} {:>5} {:>7} {:>5} {:>10.0} {:>5} {:>7.1}",
            r.name,
            r.settings,
            t.bots,
            100.0 * t.on_time_rate(),
            t.late,
            t.never,
            t.deploys,
            t.cold_starts,
            t.idle_slot_minutes,
            t.peak_slots,
            t.wall_s
        );
    }
}

fn judge(rows: &[Row]) {
    let [fixed, new] = rows else {
        println!("\n(only one mode ran: no comparison)");
        return;
    };
    let on_time = new.tally.on_time_rate();
    let share = new.tally.idle_slot_minutes / fixed.tally.idle_slot_minutes.max(1.0);
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "\ntargets: on time {:.1} % ≥ {:.0} %: {}; idle slot-minutes {:.0} % of the fixed pre-warm's ≤ {:.0} %: {}",
        100.0 * on_time,
        100.0 * TARGET_ON_TIME,
        mark(on_time >= TARGET_ON_TIME),
        100.0 * share,
        100.0 * TARGET_IDLE_SHARE,
        mark(share <= TARGET_IDLE_SHARE)
    );
}
