-- Accounts of pools with an account source, as last read from it, and their
-- leases. A bot holds at most one account; an account at most one bot.
CREATE TABLE pool_accounts (
    pool          TEXT NOT NULL,
    account_key   TEXT NOT NULL CHECK (account_key <> ''),
    data          JSONB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'available'
                  CHECK (status IN ('available', 'in_use', 'completed', 'failed')),
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error    TEXT,
    bot_id        BIGINT REFERENCES bots(id) ON DELETE SET NULL,
    leased_at     TIMESTAMPTZ,
    refreshed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (pool, account_key),
    CHECK ((status = 'in_use') = (bot_id IS NOT NULL))
);
CREATE UNIQUE INDEX pool_accounts_one_per_bot ON pool_accounts (bot_id) WHERE bot_id IS NOT NULL;
CREATE INDEX pool_accounts_available ON pool_accounts (pool, failures, leased_at NULLS FIRST, account_key)
    WHERE status = 'available';

-- When each pool's account source was last read.
CREATE TABLE pool_account_refreshes (
    pool          TEXT PRIMARY KEY,
    refreshed_at  TIMESTAMPTZ NOT NULL,
    accounts      INTEGER NOT NULL,
    truncated     BOOLEAN NOT NULL DEFAULT false
);
