//! The command line of `day_sim`.

/// What a run was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// A fifth of the day (08:00–10:00, 100 + 40 bots), for a smoke run.
    pub quick: bool,
    /// The seed of the day's demand and of the latency jitter.
    pub seed: u64,
    /// Run mode (a) at this pre-warm count instead of searching for it.
    pub prewarm: Option<u32>,
    /// Mode (b)'s `scaling.min_idle`.
    pub min_idle: u32,
}

/// Mode (b)'s `scaling.min_idle` unless told.
pub const MIN_IDLE: u32 = 2;

const USAGE: &str = "usage: day_sim [--quick] [--seed N] [--prewarm P] [--min-idle N]";

/// Parses the arguments; `None` after printing the usage (`--help`).
pub fn parse_args() -> Result<Option<Args>, String> {
    parse(std::env::args().skip(1))
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        quick: false,
        seed: 1,
        prewarm: None,
        min_idle: MIN_IDLE,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value ({USAGE})"))
        };
        match a.as_str() {
            "--quick" => args.quick = true,
            "--seed" => {
                let v = value("--seed")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed takes a whole number, got {v:?}"))?;
            }
            "--prewarm" => {
                let v = value("--prewarm")?;
                args.prewarm = Some(
                    v.parse()
                        .map_err(|_| format!("--prewarm takes a whole number, got {v:?}"))?,
                );
            }
            "--min-idle" => {
                let v = value("--min-idle")?;
                args.min_idle = v
                    .parse()
                    .map_err(|_| format!("--min-idle takes a whole number, got {v:?}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    Ok(Some(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(a: &[&str]) -> Result<Option<Args>, String> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments_are_parsed_and_bad_ones_refused() {
        let a = of(&["--quick", "--seed", "9", "--prewarm", "12"])
            .unwrap()
            .unwrap();
        assert_eq!((a.quick, a.seed, a.prewarm), (true, 9, Some(12)));
        let d = of(&[]).unwrap().unwrap();
        assert_eq!((d.quick, d.seed, d.prewarm), (false, 1, None));
        assert!(of(&["--seed"]).unwrap_err().contains("needs a value"));
        assert!(of(&["--seed", "x"]).unwrap_err().contains("whole number"));
        assert!(of(&["--fast"]).unwrap_err().contains("unknown argument"));
    }
}
