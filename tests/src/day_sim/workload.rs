//! The day's demand, drawn from a seed: meetings booked ahead that start at
//! :00 and :30 (the bursts), and ad-hoc bots asked for at random moments.
//! Pure: the same seed and shape give the same day.

use crate::Dice;

/// Seconds since midnight of the simulated day.
pub type Secs = i64;

/// How big the day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// First meeting start (seconds since midnight; 08:00 is 28 800).
    pub opens: Secs,
    /// Meetings start before this (and ad-hoc bots arrive before it).
    pub closes: Secs,
    /// Bots booked ahead for meetings at :00 and :30.
    pub scheduled: usize,
    /// Bots asked for at the moment they are needed.
    pub ad_hoc: usize,
}

impl Shape {
    /// The working day: 08:00–18:00, 500 scheduled and 200 ad-hoc bots.
    pub const DAY: Shape = Shape {
        opens: 8 * 3600,
        closes: 18 * 3600,
        scheduled: 500,
        ad_hoc: 200,
    };

    /// A fifth of it (08:00–10:00, 100 + 40 bots): the same rates, for a
    /// smoke run.
    pub const QUICK: Shape = Shape {
        opens: 8 * 3600,
        closes: 10 * 3600,
        scheduled: 100,
        ad_hoc: 40,
    };
}

/// How a bot is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Booked at `booked_at` for a meeting at [`SimBot::join_at`].
    Scheduled {
        /// When the booking is made (before the meeting).
        booked_at: Secs,
    },
    /// Asked for at [`SimBot::join_at`], to join at once.
    AdHoc,
}

/// One bot of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimBot {
    /// Its place in the day's list (and in its meeting URL).
    pub index: usize,
    /// Scheduled or ad-hoc.
    pub kind: Kind,
    /// When it must be in the meeting (an ad-hoc bot: when it is asked for).
    pub join_at: Secs,
    /// The meeting's length: the bot leaves (reports `DONE`) at
    /// `join_at + duration`.
    pub duration: Secs,
}

impl SimBot {
    /// When the meeting ends and the bot reports `DONE`.
    pub fn ends_at(&self) -> Secs {
        self.join_at + self.duration
    }

    /// When the request reaches Berth in a run that books ahead.
    pub fn requested_at(&self) -> Secs {
        match self.kind {
            Kind::Scheduled { booked_at } => booked_at,
            Kind::AdHoc => self.join_at,
        }
    }

    /// Its meeting URL: the index is the meeting number, so a simulated
    /// bot finds itself from what its workload was started with.
    pub fn meeting_url(&self) -> String {
        format!("https://zoom.us/j/9{:09}", self.index)
    }

    /// The index a meeting URL made by [`SimBot::meeting_url`] names.
    pub fn index_of(url: &str) -> Option<usize> {
        url.strip_prefix("https://zoom.us/j/9")?.parse().ok()
    }
}

/// A day: its bots, by index, and when the simulation starts and stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The bots; `bots[i].index == i`.
    pub bots: Vec<SimBot>,
    /// The simulation starts here (half an hour before the first meeting,
    /// so the pools warm up as they would overnight).
    pub starts: Secs,
    /// And stops here: the last meeting's end.
    pub stops: Secs,
}

/// The earliest a booking is made before its meeting (Recall.ai asks for ten minutes).
pub const BOOKED_AHEAD_MIN_S: Secs = 10 * 60;
/// The latest: bookings spread up to three hours ahead.
pub const BOOKED_AHEAD_SPREAD_S: Secs = 3 * 3600;

/// Bookings for before the simulation starts arrive in its first this
/// many seconds (all still at least [`BOOKED_AHEAD_MIN_S`] ahead).
pub const EARLY_BOOKINGS_S: Secs = 20 * 60;

/// Draws the day `shape` with `seed`. Meeting starts: every :00 and :30
/// from `opens` to before `closes`, the :00 ones twice as likely, the
/// mid-morning and mid-afternoon hours busier and lunch quieter; 30 or 60
/// minutes long (60 % / 40 %). Bookings are made 10 min to 3 h 10 min
/// ahead (never before the simulation starts). Ad-hoc bots arrive at a
/// uniformly random second while the day is open, for 30 or 60 minutes.
pub fn draw(shape: Shape, seed: u64) -> Workload {
    let mut dice = Dice(mix(seed));
    let starts = shape.opens - 1800;
    let marks: Vec<(Secs, usize)> = (shape.opens..shape.closes)
        .step_by(1800)
        .map(|t| (t, weight(t)))
        .collect();
    let total: usize = marks.iter().map(|m| m.1).sum();
    let mut bots = Vec::with_capacity(shape.scheduled + shape.ad_hoc);
    for index in 0..shape.scheduled {
        let mut pick = dice.roll(total);
        let join_at = marks
            .iter()
            .find(|(_, w)| {
                let hit = pick < *w;
                pick = pick.saturating_sub(*w);
                hit
            })
            .map(|m| m.0)
            .expect("a mark is picked");
        let ahead = BOOKED_AHEAD_MIN_S + dice.roll(BOOKED_AHEAD_SPREAD_S as usize) as Secs;
        let mut booked_at = join_at - ahead;
        if booked_at < starts {
            // Booked before the simulation starts: made in its first 20
            // minutes instead, spread out as they would arrive.
            booked_at = starts + dice.roll(EARLY_BOOKINGS_S as usize) as Secs;
        }
        bots.push(SimBot {
            index,
            kind: Kind::Scheduled { booked_at },
            join_at,
            duration: duration(&mut dice),
        });
    }
    let open = (shape.closes - shape.opens) as usize;
    for index in shape.scheduled..shape.scheduled + shape.ad_hoc {
        bots.push(SimBot {
            index,
            kind: Kind::AdHoc,
            join_at: shape.opens + dice.roll(open) as Secs,
            duration: duration(&mut dice),
        });
    }
    let stops = bots
        .iter()
        .map(SimBot::ends_at)
        .max()
        .unwrap_or(shape.closes);
    Workload {
        bots,
        starts,
        stops,
    }
}

/// The relative weight of a meeting start at `t` (seconds since midnight).
fn weight(t: Secs) -> usize {
    let on_the_hour = if t % 3600 == 0 { 2 } else { 1 };
    let hour = match t / 3600 {
        9 | 10 | 14 | 15 => 3,
        12 | 13 => 1,
        _ => 2,
    };
    on_the_hour * hour
}

fn duration(dice: &mut Dice) -> Secs {
    if dice.roll(10) < 6 {
        30 * 60
    } else {
        60 * 60
    }
}

/// splitmix64: spreads any seed (0 included, which xorshift cannot use)
/// over the whole state.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

/// `hh:mm:ss` of a time of day.
pub fn clock_time(t: Secs) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t % 3600 / 60, t % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_the_same_for_the_same_seed_and_has_its_shape() {
        let day = draw(Shape::DAY, 7);
        assert_eq!(day, draw(Shape::DAY, 7));
        assert_ne!(day, draw(Shape::DAY, 8));
        assert_eq!(day.bots.len(), 700);
        let scheduled: Vec<_> = day
            .bots
            .iter()
            .filter(|b| matches!(b.kind, Kind::Scheduled { .. }))
            .collect();
        assert_eq!(scheduled.len(), 500);
        assert!(scheduled.iter().all(|b| b.join_at % 1800 == 0));
        assert!(scheduled
            .iter()
            .all(|b| b.requested_at() <= b.join_at - BOOKED_AHEAD_MIN_S
                || b.requested_at() == day.starts));
        assert!(day.bots.iter().all(|b| [1800, 3600].contains(&b.duration)));
        assert_eq!(day.starts, 7 * 3600 + 1800);
        assert!(day.stops <= 19 * 3600);
        assert_eq!(SimBot::index_of(&day.bots[42].meeting_url()), Some(42));
    }
}
