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
    /// The smallest count tried that reached the target (the top of the
    /// range when none did).
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

/// A bisection (in rounds of [`AT_ONCE`] counts) of `0..=hi` for the
/// smallest pre-warm count whose day reaches an on-time rate, taking the
/// rate to grow with the count (more idle slots never make a bot later):
/// each round narrows the gap between the largest count known to miss and
/// the smallest known to reach it.
#[derive(Debug, Clone)]
pub struct Search {
    lo: i64,
    hi: i64,
    best: Option<Tally>,
    top_missed: Option<Tally>,
    tried: Vec<(u32, f64)>,
}

impl Search {
    /// A search of `0..=hi`.
    pub fn new(hi: u32) -> Search {
        Search {
            lo: -1,
            hi: i64::from(hi),
            best: None,
            top_missed: None,
            tried: Vec::new(),
        }
    }

    /// The counts to run next; empty when the search is over.
    pub fn next_round(&self) -> Vec<u32> {
        if self.top_missed.is_some() || (self.best.is_some() && self.hi - self.lo <= 1) {
            return Vec::new();
        }
        round(self.lo, self.hi, self.best.is_some())
    }

    /// Takes a round's runs (of [`Search::next_round`]'s counts) against `target`.
    pub fn absorb(&mut self, runs: Vec<(u32, Tally)>, target: f64) {
        for (p, t) in &runs {
            self.tried.push((*p, t.on_time_rate()));
        }
        let reached = runs
            .iter()
            .filter(|(_, t)| t.on_time_rate() >= target)
            .min_by_key(|(p, _)| *p);
        match reached {
            Some((p, t)) => {
                self.hi = i64::from(*p);
                self.best = Some(t.clone());
            }
            None if self.best.is_none() => {
                // Even the top missed.
                self.top_missed = runs.into_iter().max_by_key(|(p, _)| *p).map(|r| r.1);
                return;
            }
            None => {}
        }
        self.lo = runs
            .iter()
            .map(|(p, _)| i64::from(*p))
            .filter(|&p| p < self.hi)
            .fold(self.lo, i64::max);
    }

    /// What was found (once [`Search::next_round`] is empty).
    pub fn found(self) -> Found {
        let reached = self.best.is_some();
        Found {
            prewarm: self.hi as u32,
            reached,
            tally: self.best.or(self.top_missed).unwrap_or_default(),
            tried: self.tried,
        }
    }
}

/// Runs `counts` at once, each a day of `workload` under a fixed pre-warm
/// of that count; `progress` hears of each run.
pub async fn run_round(
    workload: &Workload,
    seed: u64,
    counts: &[u32],
    progress: &impl Fn(u32, &Tally),
) -> Result<Vec<(u32, Tally)>, String> {
    let runs = counts.iter().map(|&p| async move {
        run(workload, &FixedPrewarm { prewarm: p }, seed)
            .await
            .map(|t| (p, t))
    });
    let mut done = Vec::new();
    for r in futures::future::join_all(runs).await {
        let (p, t) = r?;
        progress(p, &t);
        done.push((p, t));
    }
    Ok(done)
}

/// Finishes `search` against `target`, a round at a time.
pub async fn finish(
    mut search: Search,
    workload: &Workload,
    seed: u64,
    target: f64,
    progress: &impl Fn(u32, &Tally),
) -> Result<Found, String> {
    loop {
        let counts = search.next_round();
        if counts.is_empty() {
            return Ok(search.found());
        }
        let runs = run_round(workload, seed, &counts, progress).await?;
        search.absorb(runs, target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_split_the_gap_and_try_an_unproven_top() {
        assert_eq!(round(-1, 75, false), vec![24, 49, 75]);
        assert_eq!(round(18, 37, true), vec![22, 27, 32]);
        assert_eq!(round(22, 24, true), vec![23]);
        assert_eq!(round(22, 23, true), Vec::<u32>::new());
    }

    fn tally(on_time: usize) -> Tally {
        Tally {
            bots: 100,
            on_time,
            ..Tally::default()
        }
    }

    #[test]
    fn a_search_narrows_to_the_smallest_count_reaching_the_target() {
        // On time: 50 + the count, capped at 100.
        let rate = |p: u32| tally((50 + p as usize).min(100));
        let mut s = Search::new(75);
        let mut rounds = 0;
        loop {
            let counts = s.next_round();
            if counts.is_empty() {
                break;
            }
            rounds += 1;
            s.absorb(counts.iter().map(|&p| (p, rate(p))).collect(), 0.9);
        }
        let f = s.found();
        assert_eq!((f.prewarm, f.reached), (40, true));
        assert_eq!(f.tally.on_time, 90);
        assert!(rounds <= 5, "{rounds} rounds: {:?}", f.tried);
    }

    #[test]
    fn a_top_that_misses_ends_the_search() {
        let mut s = Search::new(10);
        let counts = s.next_round();
        s.absorb(counts.iter().map(|&p| (p, tally(50))).collect(), 0.9);
        assert!(s.next_round().is_empty());
        let f = s.found();
        assert_eq!((f.prewarm, f.reached, f.tally.on_time), (10, false, 50));
    }
}
