//! Slots for a test's set-up, made through the core ([`slot::create`]) so
//! they are named, numbered and counted like the router's own:
//! `slots::of("zoom", K8s).holding(bot).create(&db)`.

use berth_core::meeting::PlatformKind;
use berth_core::slot::{self, Lease};
use sqlx::{PgConnection, PgPool};

/// A slot to create: in `pool` on `platform`, idle unless it holds a bot.
#[derive(Debug, Clone)]
pub struct NewSlot<'a> {
    pool: &'a str,
    platform: PlatformKind,
    bot: Option<i64>,
}

/// An idle slot of `pool` on `platform` (see [`NewSlot::holding`]).
pub fn of(pool: &str, platform: PlatformKind) -> NewSlot<'_> {
    NewSlot {
        pool,
        platform,
        bot: None,
    }
}

impl NewSlot<'_> {
    /// Born `deploying` for `bot` (epoch 1) instead of idle.
    pub fn holding(mut self, bot: i64) -> Self {
        self.bot = Some(bot);
        self
    }

    /// Creates it; fails the test if the pool is missing or full.
    pub async fn create(&self, db: &PgPool) -> Lease {
        let mut conn = db.acquire().await.expect("a connection");
        self.create_on(&mut conn).await
    }

    /// [`NewSlot::create`] on a connection the test already holds.
    pub async fn create_on(&self, conn: &mut PgConnection) -> Lease {
        slot::create(conn, self.pool, self.platform, self.bot)
            .await
            .expect("slot created")
            .unwrap_or_else(|| panic!("pool {:?} has room for another slot", self.pool))
    }

    /// Creates `n` of them (idle ones: a bot holds one slot only).
    pub async fn create_n(&self, db: &PgPool, n: usize) -> Vec<Lease> {
        let mut conn = db.acquire().await.expect("a connection");
        let mut leases = Vec::with_capacity(n);
        for _ in 0..n {
            leases.push(self.create_on(&mut conn).await);
        }
        leases
    }
}
