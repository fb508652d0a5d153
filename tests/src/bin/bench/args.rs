//! The benchmark's command line.

use std::time::Duration;

/// Worker counts measured unless `--workers` says otherwise.
pub const WORKER_COUNTS: [usize; 4] = [1, 8, 32, 64];
/// The most workers a run may ask for (one pooled connection each).
pub const MAX_WORKERS: usize = 96;

/// The acquisition's row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    SkipLocked,
    Blocking,
}

impl Lock {
    pub fn name(self) -> &'static str {
        match self {
            Lock::SkipLocked => "skip-locked",
            Lock::Blocking => "blocking",
        }
    }

    pub fn clause(self) -> &'static str {
        match self {
            Lock::SkipLocked => "FOR UPDATE SKIP LOCKED",
            Lock::Blocking => "FOR UPDATE",
        }
    }
}

/// Which parts of the benchmark run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    All,
    Slots,
    Dispatch,
}

/// What to run, and for how long.
pub struct Args {
    pub only: Only,
    pub quick: bool,
    pub lock: Lock,
    pub duration: Duration,
    /// Interleaved rounds of the statistics reads ([`stats`]).
    pub stats_rounds: usize,
    pub rounds: u32,
    pub workers: Vec<usize>,
}

const USAGE: &str =
    "usage: bench [--quick] [--only slots|dispatch] [--lock-mode skip-locked|blocking] [--rounds N] [--workers LIST]
  --quick        measure 1.5 s per configuration instead of 5 s, smaller dispatch workloads, 10 rounds of the statistics (not 50)
  --only PART    slots (acquire→release, then the statistics) or dispatch (default: both)
  --lock-mode    acquisition lock of the core, its SQL run raw and the minimal table (default skip-locked)
  --rounds N     repeat the interleaved runs N times and pool the counts (default 1)
  --workers LIST worker counts to measure, e.g. 1,32 (default 1,8,32,64)
  DATABASE_URL   server to benchmark on; a scratch database is created and dropped";

/// The arguments, or `None` after `--help`.
pub fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        only: Only::All,
        quick: false,
        lock: Lock::SkipLocked,
        duration: Duration::from_secs(5),
        stats_rounds: 50,
        rounds: 1,
        workers: WORKER_COUNTS.to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--quick" => {
                args.quick = true;
                args.duration = Duration::from_millis(1500);
                args.stats_rounds = 10;
            }
            "--only" => {
                args.only = match value("--only")?.as_str() {
                    "slots" => Only::Slots,
                    "dispatch" => Only::Dispatch,
                    other => return Err(format!("unknown part {other:?}\n{USAGE}")),
                }
            }
            "--lock-mode" => {
                args.lock = match value("--lock-mode")?.as_str() {
                    "skip-locked" => Lock::SkipLocked,
                    "blocking" => Lock::Blocking,
                    other => return Err(format!("unknown lock mode {other:?}\n{USAGE}")),
                }
            }
            "--rounds" => {
                args.rounds = value("--rounds")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("--rounds needs a whole number >= 1\n{USAGE}"))?
            }
            "--workers" => {
                args.workers = value("--workers")?
                    .split(',')
                    .map(|w| {
                        w.trim()
                            .parse()
                            .ok()
                            .filter(|n| (1..=MAX_WORKERS).contains(n))
                    })
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| {
                        format!("--workers needs a list of counts from 1 to {MAX_WORKERS}\n{USAGE}")
                    })?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Some(args))
}
