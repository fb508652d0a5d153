//! One configuration of the acquire→release cycle, run by N workers for a
//! fixed window: the minimal table ([`minimal`]), the minimal table with a
//! history row per transition, or berth-core with the change feed off or on.

use berth_core::feed::{ChangeEvent, Feed, Topic};
use berth_core::meeting::PlatformKind;
use berth_core::slot;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, Postgres};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;
use uuid::Uuid;

use super::args::Lock;
use super::minimal::{self, Journal};

pub const POOL: &str = "bench";
/// The release reason written to the history.
const REASON: &str = "bench";
const WARM_UP: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The minimal table ([`minimal`]).
    Minimal,
    /// The minimal table writing one `slot_history` row per transition:
    /// the floor of any design that keeps every transition.
    MinimalHistory,
    CoreFeedOff,
    CoreFeedOn,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Minimal => "minimal raw",
            Mode::MinimalHistory => "minimal+history",
            Mode::CoreFeedOff => "core feed-off",
            Mode::CoreFeedOn => "core feed-on",
        }
    }
}

/// What one run measured inside its window.
#[derive(Debug, Default, Clone, Copy)]
pub struct Measured {
    pub cycles: u64,
    pub misses: u64,
    pub deadlocks: u64,
    pub secs: f64,
    pub notices: u64,
    /// Every cycle of the run, warm-up included (each wrote two updates).
    pub all_cycles: u64,
    /// WAL written during the window (the whole server's, so the other
    /// modes' runs never overlap it).
    pub wal_bytes: u64,
}

impl Measured {
    pub fn add(&mut self, other: Measured) {
        self.cycles += other.cycles;
        self.misses += other.misses;
        self.deadlocks += other.deadlocks;
        self.secs += other.secs;
        self.notices += other.notices;
        self.all_cycles += other.all_cycles;
        self.wal_bytes += other.wal_bytes;
    }

    /// WAL bytes per measured cycle: the physical cost of one acquire and
    /// one release, steadier than the rate on a shared machine.
    pub fn wal_per_cycle(&self) -> f64 {
        if self.cycles > 0 {
            self.wal_bytes as f64 / self.cycles as f64
        } else {
            0.0
        }
    }

    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.cycles as f64 / self.secs
        } else {
            0.0
        }
    }
}

#[derive(Default)]
struct Counters {
    cycles: AtomicU64,
    misses: AtomicU64,
    deadlocks: AtomicU64,
    stop: AtomicBool,
}

/// PostgreSQL's `deadlock_detected`.
const DEADLOCK: &str = "40P01";

fn sqlx_deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(DEADLOCK))
}

fn core_deadlock(e: &berth_core::Error) -> bool {
    matches!(e, berth_core::Error::Database(se) if sqlx_deadlock(se))
}

/// The server's current WAL insert position, in bytes.
async fn wal_position(db: &sqlx::PgPool) -> Result<i64, String> {
    sqlx::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(db)
        .await
        .map_err(|e| format!("WAL position: {e}"))
}

/// What every run shares.
pub struct Bench {
    pub options: PgConnectOptions,
    pub bots: Vec<i64>,
    pub lock: Lock,
    pub duration: Duration,
}

impl Bench {
    pub async fn run(&self, mode: Mode, workers: usize) -> Result<Measured, String> {
        self.run_for(mode, workers, self.duration).await
    }

    pub async fn run_for(
        &self,
        mode: Mode,
        workers: usize,
        duration: Duration,
    ) -> Result<Measured, String> {
        let db = PgPoolOptions::new()
            .max_connections(workers as u32 + 4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options.clone())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let origin = Uuid::new_v4();
        let feed = Feed::new(origin, mode == Mode::CoreFeedOn);
        let notices = Arc::new(AtomicU64::new(0));
        let mut background = Vec::new();
        if mode == Mode::CoreFeedOn {
            let mut rx = feed.subscribe();
            let count = notices.clone();
            background.push(tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ChangeEvent::Changed {
                            origin: o, topics, ..
                        }) if o == origin && topics.contains(&Topic::Slots) => {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            }));
            background.extend(feed.spawn(db.clone()));
        }

        let counters = Arc::new(Counters::default());
        let ready = Arc::new(Barrier::new(workers + 1));
        let mut tasks = Vec::with_capacity(workers);
        for bot in self.bots.iter().take(workers) {
            let conn = db.acquire().await.map_err(|e| format!("connect: {e}"))?;
            let worker = Worker {
                mode,
                lock: self.lock,
                bot: *bot,
                feed: feed.clone(),
                counters: counters.clone(),
                ready: ready.clone(),
            };
            tasks.push(tokio::spawn(worker.run(conn)));
        }
        ready.wait().await;
        tokio::time::sleep(WARM_UP).await;
        let wal0 = wal_position(&db).await?;
        let (c0, m0, d0, n0, t0) = (
            counters.cycles.load(Ordering::Relaxed),
            counters.misses.load(Ordering::Relaxed),
            counters.deadlocks.load(Ordering::Relaxed),
            notices.load(Ordering::Relaxed),
            Instant::now(),
        );
        tokio::time::sleep(duration).await;
        let (c1, m1, d1, n1, t1) = (
            counters.cycles.load(Ordering::Relaxed),
            counters.misses.load(Ordering::Relaxed),
            counters.deadlocks.load(Ordering::Relaxed),
            notices.load(Ordering::Relaxed),
            Instant::now(),
        );
        let wal1 = wal_position(&db).await?;
        counters.stop.store(true, Ordering::Relaxed);
        let mut first_error = None;
        for t in tasks {
            let outcome = t
                .await
                .map_err(|e| format!("worker panicked: {e}"))
                .and_then(|r| r);
            if let (Err(e), None) = (outcome, &first_error) {
                first_error = Some(e);
            }
        }
        for h in background {
            h.abort();
        }
        db.close().await;
        if let Some(e) = first_error {
            return Err(format!(
                "{} run with {workers} workers ({} lock): {e}",
                mode.name(),
                self.lock.name()
            ));
        }
        Ok(Measured {
            cycles: c1 - c0,
            misses: m1 - m0,
            deadlocks: d1 - d0,
            secs: (t1 - t0).as_secs_f64(),
            notices: n1 - n0,
            all_cycles: counters.cycles.load(Ordering::Relaxed),
            wal_bytes: (wal1 - wal0).max(0) as u64,
        })
    }
}

/// One worker: its bot, and what it shares with the run.
struct Worker {
    mode: Mode,
    lock: Lock,
    bot: i64,
    feed: Feed,
    counters: Arc<Counters>,
    ready: Arc<Barrier>,
}

/// An error, and whether it was a deadlock (retried without `SKIP LOCKED`).
type Failed = (bool, String);

impl Worker {
    /// Runs cycles on its own connection until the run stops it.
    async fn run(self, mut conn: PoolConnection<Postgres>) -> Result<(), String> {
        let journal = match self.mode {
            Mode::MinimalHistory => Journal::Kept,
            _ => Journal::None,
        };
        let acquire_sql = minimal::acquire_sql(self.lock.clause(), journal);
        let release_sql = minimal::release_sql(journal);
        let counters = self.counters.clone();
        self.ready.wait().await;
        while !counters.stop.load(Ordering::Relaxed) {
            // Only acquisition can deadlock, and only without SKIP LOCKED: a
            // blocking `FOR UPDATE` keeps the locks of rows that failed its
            // re-check while it waits for the next. The statement is rolled back
            // and nothing is held, so the cycle is counted and tried again.
            let held = match self.acquire(&mut conn, &acquire_sql).await {
                Ok(held) => held,
                Err((true, _)) if self.lock == Lock::Blocking => {
                    counters.deadlocks.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err((_, e)) => return Err(e),
            };
            let Some((slot_id, epoch)) = held else {
                counters.misses.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
                continue;
            };
            self.publish();
            // A release can be the victim of such a deadlock too (it queues on
            // the row's tuple lock behind a blocked acquirer); it is rolled back,
            // the slot is still ours, so it is tried again.
            let released = loop {
                match self.release(&mut conn, &release_sql, slot_id, epoch).await {
                    Ok(released) => break released,
                    Err((true, _)) if self.lock == Lock::Blocking => {
                        counters.deadlocks.fetch_add(1, Ordering::Relaxed);
                    }
                    Err((_, e)) => return Err(e),
                }
            };
            self.publish();
            if !released {
                return Err(format!(
                    "release of slot #{slot_id} at epoch {epoch} changed nothing: another worker took a held slot"
                ));
            }
            counters.cycles.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The core announces its changes; the raw workloads do not.
    fn publish(&self) {
        if matches!(self.mode, Mode::CoreFeedOff | Mode::CoreFeedOn) {
            self.feed.publish(&[Topic::Slots]);
        }
    }

    /// One acquisition: the slot and its epoch (0 for the minimal table).
    async fn acquire(
        &self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> Result<Option<(i64, i64)>, Failed> {
        let bot = self.bot;
        match self.mode {
            Mode::Minimal | Mode::MinimalHistory => minimal::acquire(conn, sql, bot)
                .await
                .map(|id| id.map(|id| (id, 0)))
                .map_err(|e| (sqlx_deadlock(&e), format!("minimal acquire: {e}"))),
            Mode::CoreFeedOff | Mode::CoreFeedOn => {
                slot::acquire(conn, POOL, PlatformKind::Local, bot)
                    .await
                    .map(|lease| lease.map(|l| (l.slot_id, l.epoch)))
                    .map_err(|e| {
                        (
                            core_deadlock(&e),
                            format!("slot::acquire [{}]: {e}", e.code()),
                        )
                    })
            }
        }
    }

    /// One release: whether it released the slot this worker held.
    async fn release(
        &self,
        conn: &mut PgConnection,
        sql: &str,
        slot_id: i64,
        epoch: i64,
    ) -> Result<bool, Failed> {
        match self.mode {
            Mode::Minimal | Mode::MinimalHistory => minimal::release(conn, sql, slot_id, self.bot)
                .await
                .map_err(|e| (sqlx_deadlock(&e), format!("minimal release: {e}"))),
            Mode::CoreFeedOff | Mode::CoreFeedOn => slot::release(conn, slot_id, epoch, REASON)
                .await
                .map(|r| r.is_some_and(|r| r.slot_id == slot_id))
                .map_err(|e| {
                    (
                        core_deadlock(&e),
                        format!("slot::release [{}]: {e}", e.code()),
                    )
                }),
        }
    }
}
