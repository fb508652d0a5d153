//! The day's accounting, kept apart from the engine so it can be checked
//! by hand: whether a bot joined on time, and idle slot-minutes (the
//! integral of the idle slot count over the day).

use super::workload::{Kind, Secs, SimBot};

/// How late a bot may be in its meeting and still count as on time.
pub const GRACE_S: Secs = 30;
/// An ad-hoc bot has no booked time: it is on time when it is in the
/// meeting within [`GRACE_S`] plus this allowance of its request (the
/// longest warm start, [`super::platform::WARM_MS`] plus its jitter): a
/// warm slot makes it, a cold start (about a minute) does not.
pub const AD_HOC_ALLOWANCE_S: Secs = 10;

/// How a bot's join went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// In the meeting by its deadline ([`deadline`]).
    OnTime,
    /// In the meeting, after its deadline.
    Late,
    /// Never in the meeting (still queued or failed when it ended).
    Never,
}

/// The latest a bot may be in its meeting to count as on time.
pub fn deadline(bot: &SimBot) -> Secs {
    match bot.kind {
        Kind::Scheduled { .. } => bot.join_at + GRACE_S,
        Kind::AdHoc => bot.join_at + GRACE_S + AD_HOC_ALLOWANCE_S,
    }
}

/// How `bot`'s join went, given when it reported `IN_CALL` (if it did).
pub fn classify(bot: &SimBot, in_call_at: Option<Secs>) -> Join {
    match in_call_at {
        Some(t) if t <= deadline(bot) => Join::OnTime,
        Some(_) => Join::Late,
        None => Join::Never,
    }
}

/// The integral of a step function of slot counts: each sample holds
/// until the next one.
#[derive(Debug, Clone, Default)]
pub struct SlotMinutes {
    last: Option<(Secs, i64)>,
    slot_seconds: i64,
}

impl SlotMinutes {
    /// From `t` on, `count` slots (samples come in time order; a second
    /// sample at the same time replaces the first).
    pub fn sample(&mut self, t: Secs, count: i64) {
        if let Some((t0, c0)) = self.last {
            self.slot_seconds += c0 * (t - t0).max(0);
        }
        self.last = Some((t, count));
    }

    /// Slot-minutes up to `end`.
    pub fn until(&self, end: Secs) -> f64 {
        let tail = self.last.map_or(0, |(t0, c0)| c0 * (end - t0).max(0));
        (self.slot_seconds + tail) as f64 / 60.0
    }
}

/// One run's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Bots in the day.
    pub bots: usize,
    /// In the meeting by their deadline.
    pub on_time: usize,
    /// In the meeting after it.
    pub late: usize,
    /// Never in the meeting.
    pub never: usize,
    /// Of the late and never, ad-hoc bots.
    pub missed_ad_hoc: usize,
    /// Workloads started on the platforms.
    pub deploys: u64,
    /// Of those, starts that waited for their resource to be made ready.
    pub cold_starts: u64,
    /// Of those, starts on an idle slot whose resource was still being
    /// made ready.
    pub caught_preparing: u64,
    /// Integral of idle slots over the simulated span, in slot-minutes.
    pub idle_slot_minutes: f64,
    /// The most slots that existed at once.
    pub peak_slots: i64,
    /// Real seconds the run took.
    pub wall_s: f64,
}

impl Tally {
    /// Counts `joins` (one per bot, with whether it was ad-hoc) into the tally.
    pub fn count(&mut self, joins: impl IntoIterator<Item = (Join, bool)>) {
        for (j, ad_hoc) in joins {
            self.bots += 1;
            if ad_hoc && j != Join::OnTime {
                self.missed_ad_hoc += 1;
            }
            match j {
                Join::OnTime => self.on_time += 1,
                Join::Late => self.late += 1,
                Join::Never => self.never += 1,
            }
        }
    }

    /// The share of bots on time, 0..=1.
    pub fn on_time_rate(&self) -> f64 {
        if self.bots == 0 {
            return 1.0;
        }
        self.on_time as f64 / self.bots as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(kind: Kind) -> SimBot {
        SimBot {
            index: 0,
            kind,
            join_at: 9 * 3600,
            duration: 1800,
        }
    }

    #[test]
    fn thirty_seconds_late_is_on_time_and_one_more_is_late() {
        let b = bot(Kind::Scheduled { booked_at: 0 });
        assert_eq!(classify(&b, Some(9 * 3600 - 300)), Join::OnTime);
        assert_eq!(classify(&b, Some(9 * 3600 + 30)), Join::OnTime);
        assert_eq!(classify(&b, Some(9 * 3600 + 31)), Join::Late);
        assert_eq!(classify(&b, None), Join::Never);
        let a = bot(Kind::AdHoc);
        assert_eq!(classify(&a, Some(9 * 3600 + 40)), Join::OnTime);
        assert_eq!(classify(&a, Some(9 * 3600 + 41)), Join::Late);
    }

    #[test]
    fn idle_slot_minutes_integrate_a_step_function() {
        let mut m = SlotMinutes::default();
        m.sample(0, 2); // 2 slots for 10 min: 20
        m.sample(600, 0); // none for 5 min
        m.sample(900, 5);
        m.sample(900, 3); // replaced at once: 3 slots for 1 min: 3
        m.sample(960, 1); // 1 slot until 1260: 5
        assert_eq!(m.until(1260), 28.0);
        assert_eq!(SlotMinutes::default().until(1000), 0.0);
    }

    #[test]
    fn a_tally_counts_each_kind_of_join() {
        let mut t = Tally::default();
        t.count([
            (Join::OnTime, true),
            (Join::OnTime, false),
            (Join::Late, true),
            (Join::Never, false),
        ]);
        assert_eq!((t.bots, t.on_time, t.late, t.never), (4, 2, 1, 1));
        assert_eq!(t.missed_ad_hoc, 1);
        assert_eq!(t.on_time_rate(), 0.5);
    }
}
