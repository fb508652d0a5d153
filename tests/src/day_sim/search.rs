//! The smallest fixed pre-warm count that reaches a given on-time rate.

use super::metrics::Tally;
use super::policy::FixedPrewarm;
use super::run::run;
use super::workload::Workload;

/// Runs tried at once in each round of the search (each on its own
/// database: a run mostly waits on PostgreSQL, so they overlap well).
pub const AT_ONCE: usize = 3;

/// What the search found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The smallest count tried that reached the target (`hi` when none did).
    pub prewarm: u32,
    /// Whether it reached it.
    pub reached: bool,
    /// Its run.
    pub tally: Tally,
    /// Every count tried, in order, with its on-time rate.
    pub tried: Vec<(u32, f64)>,
}

/// The counts a round tries between `lo` (known to miss; -1 before any
/// run) and `hi`: `hi` itself while it is unproven, and evenly spaced
/// counts strictly between them, [`AT_ONCE`] in all (fewer when the gap is
/// small). Pure.
pub fn round(lo: i64, hi: i64, hi_proven: bool) -> Vec<u32> {
    let inner = AT_ONCE - usize::from(!hi_proven);
    let mut out: Vec<u32> = (1..=inner as i64)
        .map(|j| lo + (hi - lo) * j / (inner as i64 + 1))
        .filter(|&p| p > lo && p < hi)
        .map(|p| p as u32)
        .collect();
    out.dedup();
    if !hi_proven {
        out.push(hi as u32);
    }
    out
}

/// Searches `0..=hi` for the smallest pre-warm count whose day reaches an
/// on-time rate of `target`, taking the rate to grow with the count (more
/// idle slots never make a bot later): rounds of [`round`]'s counts, run
/// at once, narrow the gap between the largest count known to miss and
/// the smallest known to reach it. When even `hi` misses, says so.
/// `progress` hears of each run.
pub async fn smallest_prewarm(
    workload: &Workload,
    seed: u64,
    target: f64,
    hi: u32,
    progress: impl Fn(u32, &Tally),
) -> Result<Found, String> {
    let (mut lo, mut hi) = (-1_i64, i64::from(hi));
    let mut best: Option<Tally> = None;
    let mut tried = Vec::new();
    while best.is_none() || hi - lo > 1 {
        let counts = round(lo, hi, best.is_some());
        let runs = counts.iter().map(|&p| async move {
            run(workload, &FixedPrewarm { prewarm: p }, seed)
                .await
                .map(|t| (p, t))
        });
        let mut done = Vec::new();
        for r in futures::future::join_all(runs).await {
            let (p, t) = r?;
            progress(p, &t);
            tried.push((p, t.on_time_rate()));
            done.push((p, t));
        }
        let reached = done
            .iter()
            .filter(|(_, t)| t.on_time_rate() >= target)
            .min_by_key(|(p, _)| *p)
            .cloned();
        match reached {
            Some((p, t)) => {
                hi = i64::from(p);
                best = Some(t);
            }
            None if best.is_none() => {
                let (p, t) = done.pop().expect("a round tries hi");
                return Ok(Found {
                    prewarm: p,
                    reached: false,
                    tally: t,
                    tried,
                });
            }
            None => {}
        }
        lo = done
            .iter()
            .map(|(p, _)| i64::from(*p))
            .filter(|&p| p < hi)
            .fold(lo, i64::max);
    }
    Ok(Found {
        prewarm: hi as u32,
        reached: true,
        tally: best.expect("the loop ends with a count that reached the target"),
        tried,
    })
}

#[cfg(test)]
mod tests {
    use super::round;

    #[test]
    fn rounds_split_the_gap_and_try_an_unproven_top() {
        assert_eq!(round(-1, 75, false), vec![24, 49, 75]);
        assert_eq!(round(18, 37, true), vec![22, 27, 32]);
        assert_eq!(round(22, 24, true), vec![23]);
        assert_eq!(round(22, 23, true), Vec::<u32>::new());
    }
}
