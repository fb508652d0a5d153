//! One simulated day on the real engine: the loop that moves the clock,
//! makes the requests, runs the leader's jobs, and lets the simulated bots
//! report themselves.
//!
//! Each step: wait until everything in flight waits on a later time
//! ([`Day::settle`]), let bots whose start completed report `IN_CALL`,
//! sample the slot counts, then jump the clock to the next thing that
//! happens — a request, a meeting's end, a job's round, or a deploy's
//! completion — and do it. Within one instant, meetings end before requests
//! are made (a slot freed at 10:00 can serve a bot asked for at 10:00),
//! and the jobs run last.

use berth_core::actor::Actor;
use berth_core::dispatch::Dispatcher;
use berth_core::lifecycle;
use berth_core::meeting::{BotStatus, MeetingPlatform};
use berth_core::router::{NewBot, Router};
use chrono::{DateTime, Duration, Utc};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use tokio::task::JoinSet;

use super::clock::DayClock;
use super::metrics::{classify, SlotMinutes, Tally};
use super::platform::SharedLedger;
use super::policy::Policy;
use super::workload::{Secs, SimBot, Workload};

/// The pool every bot of the day uses.
pub const POOL: &str = "zoom";

/// What a spawned task reports when it ends.
enum Done {
    /// A request was made: the bot's id, or why it failed.
    Requested(usize, Result<i64, String>),
}

/// Something the day's agenda holds: what happens to which bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// The meeting ends: the bot reports `DONE`. First in an instant.
    End,
    /// The bot is asked for.
    Request,
}

/// The state of one simulated day.
pub struct Day<'w> {
    workload: &'w Workload,
    clock: Arc<DayClock>,
    router: Router,
    dispatcher: Dispatcher,
    ledger: SharedLedger,
    policy: &'w dyn Policy,
    /// The clock's time at [`Workload::starts`].
    origin: DateTime<Utc>,
    tasks: JoinSet<Done>,
    agenda: BinaryHeap<Reverse<(Secs, Action, usize)>>,
    bot_ids: Vec<Option<i64>>,
    in_call_at: Vec<Option<Secs>>,
    idle: SlotMinutes,
    peak_slots: i64,
    failures: Vec<String>,
}

impl<'w> Day<'w> {
    /// A day of `workload` on `router` (whose clock is `clock`, at the
    /// day's start), its platforms writing to `ledger`, requests and jobs
    /// as `policy` says.
    pub fn new(
        workload: &'w Workload,
        clock: Arc<DayClock>,
        router: Router,
        ledger: SharedLedger,
        policy: &'w dyn Policy,
    ) -> Day<'w> {
        use berth_core::clock::Clock;
        let mut agenda = BinaryHeap::new();
        for b in &workload.bots {
            agenda.push(Reverse((policy.request_at(b), Action::Request, b.index)));
            agenda.push(Reverse((b.ends_at(), Action::End, b.index)));
        }
        let n = workload.bots.len();
        Day {
            origin: clock.now(),
            workload,
            dispatcher: Dispatcher::spawning(router.clone()),
            clock,
            router,
            ledger,
            policy,
            tasks: JoinSet::new(),
            agenda,
            bot_ids: vec![None; n],
            in_call_at: vec![None; n],
            idle: SlotMinutes::default(),
            peak_slots: 0,
            failures: Vec::new(),
        }
    }

    fn at(&self, t: Secs) -> DateTime<Utc> {
        self.origin + Duration::seconds(t - self.workload.starts)
    }

    /// The time of day of `at`, rounded up to the second (a bot in the
    /// call at 10:00:30.2 is in it at 10:00:31).
    fn secs(&self, at: DateTime<Utc>) -> Secs {
        let ms = (at - self.origin).num_milliseconds();
        self.workload.starts + (ms + 999).div_euclid(1000)
    }

    /// Runs the day to [`Workload::stops`] and tallies it.
    pub async fn run(mut self) -> Result<Tally, String> {
        let every = self.policy.job_interval_s();
        let mut next_tick = self.workload.starts;
        let mut now = self.workload.starts;
        loop {
            self.settle().await?;
            self.report_in_call().await;
            self.sample(now).await?;
            let wake = self.clock.next_wake().map(|w| self.secs(w));
            let due = self.next_due(now).await?;
            let next = [
                self.agenda.peek().map(|Reverse((t, _, _))| *t),
                wake,
                Some(next_tick),
                due,
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("the tick is always there");
            if next > self.workload.stops {
                break;
            }
            now = next.max(now);
            // The database's time first: what the clock wakes reads it.
            super::dbtime::set(self.router.db(), self.at(now)).await?;
            self.clock.advance_to(self.at(now));
            let released = self.do_agenda(now).await;
            // The jobs see this instant's requests made (not racing them).
            self.settle().await?;
            if now >= next_tick {
                next_tick += every;
                self.policy
                    .tick(&self.router)
                    .await
                    .map_err(|e| format!("a job failed at {now}: {e}"))?;
                self.drain().await?;
            } else {
                if due == Some(now) {
                    self.policy
                        .due(&self.router)
                        .await
                        .map_err(|e| format!("a job failed at {now}: {e}"))?;
                }
                if released {
                    self.drain().await?;
                }
            }
        }
        self.sample(self.workload.stops).await?;
        self.tally()
    }

    /// When the policy's job at a planned moment is due next: never
    /// before the next second (a job that left its work due runs again
    /// then, not in a loop at one instant).
    async fn next_due(&self, now: Secs) -> Result<Option<Secs>, String> {
        let due = self
            .policy
            .next_due(&self.router)
            .await
            .map_err(|e| format!("reading the next planned start: {e}"))?;
        Ok(due.map(|d| self.secs(d).max(now + 1)))
    }

    /// Does everything the agenda holds for `now`; whether a bot ended.
    async fn do_agenda(&mut self, now: Secs) -> bool {
        let mut released = false;
        while let Some(Reverse((t, action, i))) = self.agenda.peek().copied() {
            if t > now {
                break;
            }
            self.agenda.pop();
            match action {
                Action::End => released |= self.end(i, now).await,
                Action::Request => self.request(i),
            }
        }
        released
    }

    fn request(&mut self, i: usize) {
        let bot = self.workload.bots[i];
        let req = self.policy.new_bot(
            &bot,
            NewBot::new(MeetingPlatform::Zoom, bot.meeting_url()).pool(POOL),
            self.at(bot.join_at),
        );
        let router = self.router.clone();
        self.tasks.spawn(async move {
            let made = lifecycle::deploy(&router, &Actor::api("day-sim"), &req).await;
            Done::Requested(
                i,
                made.map(|d| d.outcome.bot_id()).map_err(|e| e.to_string()),
            )
        });
    }

    /// The meeting of bot `i` ends: it reports `DONE` (whatever it was
    /// doing). A bot whose request is still being made ends a minute later.
    async fn end(&mut self, i: usize, now: Secs) -> bool {
        let Some(id) = self.bot_ids[i] else {
            self.agenda.push(Reverse((now + 60, Action::End, i)));
            return false;
        };
        let done =
            lifecycle::report(&self.router, &Actor::bot(id), id, BotStatus::Done, None).await;
        // A bot that already ended (its request expired) has nothing to free.
        done.is_ok()
    }

    /// Bots whose start completed report themselves in the call.
    async fn report_in_call(&mut self) {
        let started = std::mem::take(
            &mut self
                .ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .started,
        );
        for s in started {
            let Some(i) = SimBot::index_of(&s.meeting_url) else {
                continue;
            };
            self.bot_ids[i] = Some(s.bot_id);
            let report = lifecycle::report(
                &self.router,
                &Actor::bot(s.bot_id),
                s.bot_id,
                BotStatus::InCall,
                None,
            )
            .await;
            // A bot whose meeting ended while it started is too late to join.
            if report.is_ok() {
                self.in_call_at[i] = Some(self.secs(s.at));
            }
        }
    }

    /// Waits until every task in flight (requests, the dispatcher's
    /// deploys) is waiting on the clock, collecting those that ended.
    async fn settle(&mut self) -> Result<(), String> {
        let began = std::time::Instant::now();
        loop {
            while let Some(done) = self.tasks.try_join_next() {
                self.absorb(done);
            }
            let busy = self.tasks.len() + self.router.inflight().count();
            let sleeping = self.clock.sleeping();
            if busy <= sleeping {
                return Ok(());
            }
            if began.elapsed() > std::time::Duration::from_secs(120) {
                return Err(format!(
                    "stuck: {busy} tasks in flight, {sleeping} waiting on the clock, for 2 min"
                ));
            }
            tokio::select! {
                Some(done) = self.tasks.join_next() => self.absorb(done),
                _ = self.clock.wait_for_sleepers(sleeping + 1) => {}
                // Deploys the dispatcher launched end without telling.
                _ = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
            }
        }
    }

    fn absorb(&mut self, done: Result<Done, tokio::task::JoinError>) {
        match done {
            Ok(Done::Requested(i, Ok(id))) => self.bot_ids[i] = Some(id),
            Ok(Done::Requested(i, Err(e))) => self.failures.push(format!("bot {i}: {e}")),
            Err(e) => self.failures.push(format!("a task failed: {e}")),
        }
    }

    async fn drain(&self) -> Result<(), String> {
        self.dispatcher
            .drain()
            .await
            .map(|_| ())
            .map_err(|e| format!("dispatcher: {e}"))
    }

    async fn sample(&mut self, now: Secs) -> Result<(), String> {
        let counts = berth_core::slot::counts::maintained(self.router.db())
            .await
            .map_err(|e| e.to_string())?;
        let (idle, total) = counts
            .iter()
            .fold((0, 0), |(i, t), c| (i + c.idle, t + c.total()));
        self.idle.sample(now, idle);
        self.peak_slots = self.peak_slots.max(total);
        Ok(())
    }

    fn tally(self) -> Result<Tally, String> {
        if !self.failures.is_empty() {
            return Err(format!(
                "{} requests failed, first: {}",
                self.failures.len(),
                self.failures[0]
            ));
        }
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let mut tally = Tally {
            deploys: ledger.deploys,
            cold_starts: ledger.cold_starts,
            caught_preparing: ledger.caught_preparing,
            idle_slot_minutes: self.idle.until(self.workload.stops),
            peak_slots: self.peak_slots,
            ..Tally::default()
        };
        tally.count(self.workload.bots.iter().map(|b| {
            let join = classify(b, self.in_call_at[b.index]);
            (join, b.kind == super::workload::Kind::AdHoc)
        }));
        Ok(tally)
    }
}
