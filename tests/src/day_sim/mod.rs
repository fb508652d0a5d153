//! The day simulation (`cargo run -p berth-tests --bin day_sim`): a working
//! day of meeting bots on the real engine — router, lifecycle use cases,
//! the leader's jobs — over three simulated platforms, on a real
//! PostgreSQL database, with a clock that jumps from one event to the next
//! instead of waiting. It compares today's fixed pre-warm with scheduled
//! bots and auto-scaling.

pub mod clock;
pub mod day;
pub mod dbtime;
pub mod metrics;
pub mod platform;
pub mod policy;
pub mod run;
pub mod scheduled;
pub mod search;
pub mod workload;
