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
use berth_tests::day_sim::run::{max_size, run, LIMITS};
use berth_tests::day_sim::scheduled::{Scaling, Scheduled};
use berth_tests::day_sim::search::{finish, run_round, Search};
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

/// The new mode: scheduled bots, and the pool scaled between `min_idle`
/// and 60 idle slots, an idle slot above the target going after 5 minutes.
fn new_mode(min_idle: u32) -> Scheduled {
    Scheduled {
        scaling: Scaling::Auto {
            min_idle,
            max_idle: 60,
            scale_down_after_min: 5,
        },
    }
}

async fn compare(workload: &Workload, args: &args::Args) -> Result<Vec<Row>, String> {
    let new_mode = new_mode(args.min_idle);
    let progress = |p: u32, t: &Tally| {
        eprintln!(
            "  prewarm {p:>3}: on time {:.1} %, idle {:.0} slot-min ({:.1} s)",
            100.0 * t.on_time_rate(),
            t.idle_slot_minutes,
            t.wall_s
        )
    };
    let (fixed, settings, new) = match args.prewarm {
        Some(p) => {
            let fixed = FixedPrewarm { prewarm: p };
            let (a, b) = futures::future::join(
                run(workload, &fixed, args.seed),
                run(workload, &new_mode, args.seed),
            )
            .await;
            (a?, fixed.settings(), b?)
        }
        None => {
            // The first round does not depend on the target: it runs
            // beside the new mode, whose on-time rate the rest aims at.
            let mut search = Search::new(max_size() / 2);
            let first = search.next_round();
            let (round, b) = futures::future::join(
                run_round(workload, args.seed, &first, &progress),
                run(workload, &new_mode, args.seed),
            )
            .await;
            let new = b?;
            let target = new.on_time_rate();
            search.absorb(round?, target);
            let found = finish(search, workload, args.seed, target, &progress).await?;
            let note = if found.reached {
                format!(" (smallest reaching (b)'s {:.1} %)", 100.0 * target)
            } else {
                format!(" (even this misses (b)'s {:.1} %)", 100.0 * target)
            };
            let settings = FixedPrewarm {
                prewarm: found.prewarm,
            }
            .settings();
            (found.tally, format!("{settings}{note}"), new)
        }
    };
    Ok(vec![
        Row {
            name: FixedPrewarm { prewarm: 0 }.name(),
            settings,
            tally: fixed,
        },
        Row {
            name: new_mode.name(),
            settings: new_mode.settings(),
            tally: new,
        },
    ])
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
        "\n{:<22} {:<48} {:>5} {:>8} {:>5} {:>5} {:>8} {:>7} {:>5} {:>10} {:>5} {:>7}",
        "mode",
        "settings",
        "bots",
        "on time",
        "late",
        "never",
        "(ad-hoc)",
        "deploys",
        "cold",
        "idle s-min",
        "peak",
        "wall s"
    );
    for r in rows {
        let t = &r.tally;
        println!(
            "{:<22} {:<48} {:>5} {:>7.1}% {:>5} {:>5} {:>8} {:>7} {:>5} {:>10.0} {:>5} {:>7.1}",
            r.name,
            r.settings,
            t.bots,
            100.0 * t.on_time_rate(),
            t.late,
            t.never,
            t.missed_ad_hoc,
            t.deploys,
            t.cold_starts,
            t.idle_slot_minutes,
            t.peak_slots,
            t.wall_s
        );
    }
}

fn judge(rows: &[Row]) {
    for r in rows {
        println!(
            "{}: {} of its {} cold starts took an idle slot whose resource was still being made ready",
            r.name, r.tally.caught_preparing, r.tally.cold_starts
        );
    }
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
