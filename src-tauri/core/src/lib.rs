//! Berth's core: the pool engine on PostgreSQL, the router and queue, the
//! change feed, background jobs and platform adapters. No Tauri here: the
//! desktop shell and the `berth` CLI are thin layers over this crate.

pub mod account;
pub mod actor;
pub mod alert;
pub mod audit;
mod background;
pub mod bot;
pub mod bot_lease;
pub mod clock;
pub mod config;
pub mod confined;
pub mod db;
pub mod definition;
pub mod demo;
pub mod departure;
pub mod description;
pub mod dispatch;
pub mod error;
pub mod feed;
pub mod history;
pub mod idempotency;
pub mod instance;
pub mod jobs;
pub mod lifecycle;
pub mod meeting;
pub mod meeting_url;
pub mod metrics;
pub mod overview;
pub mod peers;
pub mod platform;
pub mod pool;
pub mod quantity;
pub mod queue;
pub mod router;
pub mod scaling;
pub mod schedule;
pub mod settings;
pub mod slot;
pub mod stable_hash;
pub mod stop;
pub mod sweep;
pub mod timestamp;
pub mod token;
pub mod tracking;
pub mod webhook;

pub use error::{Error, ErrorCode, Result};
pub use instance::{Berth, Builder, Database};
