//! Outgoing webhooks: subscriptions, an outbox of events, signed delivery.
//!
//! **Written with the change.** Every event is a row of `webhook_events`
//! (with one `webhook_deliveries` row per receiver) written by a database
//! trigger in the statement that makes the change it describes — a bot's
//! status, its queue entry, a platform's health (migration
//! `20261201000030_webhooks.sql` says why triggers rather than Rust at each
//! call site). It commits with the change or rolls back with it, so an event
//! is never lost when a process dies and never sent for a change that did
//! not happen. `pool.exhausted` is the one event written from Rust
//! ([`event::pool_exhausted`]), in the transaction that records the
//! request's pass over the full pool.
//!
//! **Delivered by any instance, never in the change's transaction.** Each
//! instance runs a [`delivery::Deliverer`] loop: it claims due deliveries
//! with `FOR UPDATE SKIP LOCKED` and a lease, sends them with bounded
//! concurrency and a timeout, and records the outcome. A receiver that is
//! down costs only that loop's time: no deploy, release or status report
//! waits on it. Delivery is at least once (a lease that runs out — its
//! instance died mid-attempt — is tried again); the event's id is the
//! receivers' de-duplication key (`webhook-id`).
//!
//! **Ordered per receiver and key.** A delivery waits while an earlier one
//! to the same receiver with the same ordering key (`bot:<id>`,
//! `platform:<kind>`, `pool:<name>`) is pending. A delivery that failed for
//! good (24 hours of retries) stops blocking its successors.
//!
//! **Signed** the Standard Webhooks way ([`signature`]): `webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`.

pub mod delivery;
pub mod event;
pub mod log;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod subscription;
pub mod target;

pub use delivery::{Counters, Deliverer, DeliveryConfig, PassReport};
pub use event::EventType;
pub use log::{backlog, Backlog, DeliveryState, DeliveryView};
pub use subscription::{Created, NewSubscription, Subscription};
