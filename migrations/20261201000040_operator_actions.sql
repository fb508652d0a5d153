-- The operator's actions (issue 14): an audit log of who did what to which
-- slot, bot or platform and why, and the state the actions leave behind.

-- One row per action taken, written in the transaction of the change it
-- records (a refused action writes none). `actor` is Actor::record().
CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor        TEXT NOT NULL CHECK (actor <> ''),
    -- `<kind>.<verb>`: slot.drain, bot.cancel, platform.undrain, ...
    action       TEXT NOT NULL CHECK (action ~ '^[a-z]+\.[a-z_]+$'),
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('slot', 'bot', 'platform', 'settings')),
    target       TEXT NOT NULL CHECK (target <> ''),
    reason       TEXT CHECK (reason IS NULL OR (reason <> '' AND length(reason) <= 500)),
    -- What the action found and did (its typed outcome, as JSON).
    detail       JSONB NOT NULL DEFAULT '{}'::jsonb
);
-- Newest first, for one target or for everything (the primary key).
CREATE INDEX audit_log_target_idx ON audit_log (target_kind, target, id DESC);

-- A draining slot takes no new bot; it is deleted once idle (on release,
-- on its drain, or by the leader's trim pass).
ALTER TABLE pool_slots ADD COLUMN draining BOOLEAN NOT NULL DEFAULT false;
-- Acquisition never sees a draining slot: the partial index says so too,
-- so the acquire query stays an index scan.
DROP INDEX pool_slots_acquire_idx;
CREATE INDEX pool_slots_acquire_idx ON pool_slots (pool, deployment_platform, last_used_at NULLS FIRST, id)
    WHERE status = 'idle' AND NOT draining;

-- A drained platform takes no new bots (running ones finish). Kept with the
-- rest of the shared platform state every instance's router reads.
ALTER TABLE platform_health ADD COLUMN drained_at TIMESTAMPTZ;
ALTER TABLE platform_health ADD COLUMN drained_by TEXT;
ALTER TABLE platform_health ADD COLUMN drain_reason TEXT;
ALTER TABLE platform_health ADD CONSTRAINT platform_health_drain_check
    CHECK ((drained_at IS NULL) = (drained_by IS NULL));

-- A queued bot an operator pinned to one platform: routed there only.
ALTER TABLE bots ADD COLUMN pinned_platform TEXT
    CHECK (pinned_platform IS NULL OR pinned_platform IN ('k8s', 'aws', 'coolify', 'local'));
-- A bot deployed again after it failed is a new bot; it names the one it
-- copies.
ALTER TABLE bots ADD COLUMN redeploy_of BIGINT REFERENCES bots(id) ON DELETE SET NULL;
