-- Whether a pool's bots each need a leased account: set by applying a
-- definition with an account source. The router reads it with the pool.
ALTER TABLE pools ADD COLUMN uses_accounts BOOLEAN NOT NULL DEFAULT false;

-- Queue defaults of a pool's bot requests (the definition's `queue`).
ALTER TABLE pools ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 100 CHECK (queue_priority >= 0);
ALTER TABLE pools ADD COLUMN queue_timeout_ms INTEGER NOT NULL DEFAULT 300000
    CHECK (queue_timeout_ms BETWEEN 0 AND 600000);

-- A pool whose definition was deleted: it takes no new bots, its idle slots
-- are trimmed, and it is hidden once it has none. The row stays for the
-- history of its bots. Applying a definition of that name revives it.
ALTER TABLE pools ADD COLUMN retired BOOLEAN NOT NULL DEFAULT false;

-- Recovery policy from the pool's definition; NULL: the global settings.
ALTER TABLE pools ADD COLUMN deploying_timeout_ms INTEGER CHECK (deploying_timeout_ms > 0);
ALTER TABLE pools ADD COLUMN recovery_max_attempts INTEGER CHECK (recovery_max_attempts BETWEEN 1 AND 10);
