-- Cheaper slot transitions (issue 15): fewer index entries per update, the
-- `deploying` → `busy` transition HOT (heap-only: no index entry at all),
-- and one trigger call per status change instead of two.
--
-- PostgreSQL (15) makes an update HOT only when no column used by any
-- index changes, a partial index's predicate included, and the new row
-- version fits on the same page.

-- Nobody needs slots by status and time through an index: the readers
-- are the leader's passes (recovery, the interrupted-deploy sweep, stuck
-- bots) and the history's window start, which read a few held slots or
-- scan once per pass; every transition paid two entries in it.
DROP INDEX pool_slots_status_idx;

-- Acquisition order without `status` in the predicate, so a transition
-- between `deploying`, `busy` (and any other change of status alone) leaves
-- every index as it is. An idle slot is exactly one with no bot, no error
-- message and no drain: a held slot names its bot, an `error` slot its
-- message (both checked already); the new check says an idle slot carries
-- no message (every transition to `idle` clears it).
UPDATE pool_slots SET error_message = NULL WHERE status = 'idle' AND error_message IS NOT NULL;
ALTER TABLE pool_slots ADD CONSTRAINT pool_slots_idle_clean_check
    CHECK (status <> 'idle' OR error_message IS NULL);
DROP INDEX pool_slots_acquire_idx;
CREATE INDEX pool_slots_acquire_idx ON pool_slots (pool, deployment_platform, last_used_at NULLS FIRST, id)
    WHERE assigned_bot_id IS NULL AND error_message IS NULL AND NOT draining;

-- Room on each page for the new versions of its slots (HOT needs the new
-- version on the same page). Applies to pages written from now on.
ALTER TABLE pool_slots SET (fillfactor = 80);

-- The counters (migration 20261201000080) and the end of a pool's
-- exhaustion episode (migration 20261201000030, `pool.exhausted` webhooks)
-- in one trigger call: a status change in place, the common transition,
-- is one UPDATE of this backend's counter row (no nested function call)
-- and, when the slot turns idle, the episode's end. Anything else (a slot
-- created, deleted or moved to another pool or platform) goes the general
-- way, as before.
CREATE OR REPLACE FUNCTION pool_slot_counts_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p TEXT;
    dp TEXT;
    d_idle INT := 0;
    d_deploying INT := 0;
    d_busy INT := 0;
    d_error INT := 0;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = 'idle' AND OLD.status <> 'idle' THEN
        DELETE FROM pool_exhaustion WHERE pool = NEW.pool;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.pool = NEW.pool AND OLD.deployment_platform = NEW.deployment_platform THEN
        d_idle := (NEW.status = 'idle')::int - (OLD.status = 'idle')::int;
        d_deploying := (NEW.status = 'deploying')::int - (OLD.status = 'deploying')::int;
        d_busy := (NEW.status = 'busy')::int - (OLD.status = 'busy')::int;
        d_error := (NEW.status = 'error')::int - (OLD.status = 'error')::int;
        UPDATE pool_slot_counts
        SET idle = idle + d_idle, deploying = deploying + d_deploying, busy = busy + d_busy, error = error + d_error
        WHERE pool = NEW.pool AND deployment_platform = NEW.deployment_platform AND backend = pg_backend_pid();
        IF NOT FOUND THEN
            PERFORM pool_slot_counts_add(NEW.pool, NEW.deployment_platform, d_idle, d_deploying, d_busy, d_error);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        p := OLD.pool;
        dp := OLD.deployment_platform;
        d_idle := -(OLD.status = 'idle')::int;
        d_deploying := -(OLD.status = 'deploying')::int;
        d_busy := -(OLD.status = 'busy')::int;
        d_error := -(OLD.status = 'error')::int;
        IF TG_OP = 'DELETE' OR OLD.pool <> NEW.pool
           OR OLD.deployment_platform <> NEW.deployment_platform THEN
            PERFORM pool_slot_counts_add(p, dp, d_idle, d_deploying, d_busy, d_error);
            d_idle := 0;
            d_deploying := 0;
            d_busy := 0;
            d_error := 0;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pool_slot_counts_add(NEW.pool, NEW.deployment_platform,
            d_idle + (NEW.status = 'idle')::int, d_deploying + (NEW.status = 'deploying')::int,
            d_busy + (NEW.status = 'busy')::int, d_error + (NEW.status = 'error')::int);
    END IF;
    RETURN NULL;
END $$;

-- Its work is done above now (the counters' trigger fires on every status
-- change, a superset of this one's). Created, deleted slots and a pool's
-- growth keep their own triggers: rare, and not on the hot path.
DROP TRIGGER pool_slots_capacity_released ON pool_slots;
