-- Auto-scaling (issue 16): a pool definition's `scaling:` policy, projected
-- into the `pools` row the engine reads (all three NULL: no scaling, the
-- fixed `prewarm_count` as before), and every scaling decision with its
-- reason (core/src/scaling). Decisions are history: the leader's history
-- retention job deletes those past the retention (history_retention_days).
ALTER TABLE pools ADD COLUMN scaling_min_idle INTEGER CHECK (scaling_min_idle >= 0);
ALTER TABLE pools ADD COLUMN scaling_max_idle INTEGER CHECK (scaling_max_idle >= 0);
ALTER TABLE pools ADD COLUMN scaling_scale_down_after_ms BIGINT CHECK (scaling_scale_down_after_ms > 0);
ALTER TABLE pools ADD CONSTRAINT pools_scaling_check CHECK (
    (scaling_min_idle IS NULL) = (scaling_max_idle IS NULL)
    AND (scaling_min_idle IS NULL) = (scaling_scale_down_after_ms IS NULL)
    AND (scaling_min_idle IS NULL OR (scaling_min_idle <= scaling_max_idle AND scaling_max_idle <= max_size))
);

CREATE TABLE pool_scaling_decisions (
    id              BIGSERIAL PRIMARY KEY,
    -- No foreign key: a decision outlives a retired pool, like its history.
    pool            TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    -- 'up': slots made; 'down': idle slots removed; 'hold': the target
    -- changed and nothing was to be done (or could be).
    action          TEXT NOT NULL CHECK (action IN ('up', 'down', 'hold')),
    -- The target and its parts: min_idle + scheduled + buffer, clamped.
    target          INTEGER NOT NULL CHECK (target >= 0),
    min_idle        INTEGER NOT NULL CHECK (min_idle >= 0),
    max_idle        INTEGER NOT NULL CHECK (max_idle >= 0),
    scheduled       INTEGER NOT NULL CHECK (scheduled >= 0),
    buffer          INTEGER NOT NULL CHECK (buffer >= 0),
    -- The inputs of the buffer: ad-hoc requests per minute, lead time.
    arrivals_per_minute DOUBLE PRECISION NOT NULL CHECK (arrivals_per_minute >= 0),
    lead_time_ms    BIGINT NOT NULL CHECK (lead_time_ms >= 0),
    -- Idle slots before the decision, and those made or removed.
    idle_before     INTEGER NOT NULL CHECK (idle_before >= 0),
    created         INTEGER NOT NULL DEFAULT 0 CHECK (created >= 0),
    removed         INTEGER NOT NULL DEFAULT 0 CHECK (removed >= 0),
    reason          TEXT NOT NULL
);
-- A pool's recent decisions (the app's Scaling panel, `berth pools show`).
CREATE INDEX pool_scaling_decisions_pool_idx ON pool_scaling_decisions (pool, id DESC);
-- The retention's deletes.
CREATE INDEX pool_scaling_decisions_at_idx ON pool_scaling_decisions (at);
