-- Slot counts by pool, deployment platform and status, maintained by a
-- trigger in the same transaction as every change to `pool_slots`, so the
-- statistics (`berth status`, the pools' stats, the overview) read a few
-- rows instead of aggregating every slot.
--
-- Rows are deltas, sharded by the writing backend (`pg_backend_pid()`): a
-- transaction only ever updates rows of its own backend, so concurrent slot
-- transitions never wait on each other's counter rows (one shared row per
-- pool would serialise every acquisition of a pool until commit). The truth
-- for a (pool, platform) is the sum over its backends; `backend = 0` holds
-- what the leader folded in from backends that are gone
-- (`slot::counts::fold`), which keeps the table to a few rows per live
-- connection. A counter can be negative in one backend's row (it released
-- what another acquired); only sums mean anything.
CREATE TABLE pool_slot_counts (
    pool                TEXT NOT NULL,
    deployment_platform TEXT NOT NULL,
    backend             INTEGER NOT NULL,
    idle                BIGINT NOT NULL DEFAULT 0,
    deploying           BIGINT NOT NULL DEFAULT 0,
    busy                BIGINT NOT NULL DEFAULT 0,
    error               BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (pool, deployment_platform, backend)
) WITH (fillfactor = 50); -- room for HOT updates: only counters change

-- Adds deltas to the writing backend's row of (p, dp). Only this backend
-- writes that row (a fold may delete it), so the plain UPDATE is the usual
-- path; the upsert covers a first change and a fold in between.
CREATE FUNCTION pool_slot_counts_add(p TEXT, dp TEXT, d_idle INT, d_deploying INT, d_busy INT, d_error INT)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pool_slot_counts
    SET idle = idle + d_idle, deploying = deploying + d_deploying, busy = busy + d_busy, error = error + d_error
    WHERE pool = p AND deployment_platform = dp AND backend = pg_backend_pid();
    IF NOT FOUND THEN
        INSERT INTO pool_slot_counts AS c (pool, deployment_platform, backend, idle, deploying, busy, error)
        VALUES (p, dp, pg_backend_pid(), d_idle, d_deploying, d_busy, d_error)
        ON CONFLICT (pool, deployment_platform, backend) DO UPDATE
        SET idle = c.idle + EXCLUDED.idle, deploying = c.deploying + EXCLUDED.deploying,
            busy = c.busy + EXCLUDED.busy, error = c.error + EXCLUDED.error;
    END IF;
END $$;

-- Adds a slot change to the writing backend's row: for a status change
-- within one pool and platform one row gets +1 and -1; otherwise the old
-- place loses the slot and the new one gains it. Plain statements in
-- PL/pgSQL, so their plans are cached per connection.
CREATE FUNCTION pool_slot_counts_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p TEXT;
    dp TEXT;
    d_idle INT := 0;
    d_deploying INT := 0;
    d_busy INT := 0;
    d_error INT := 0;
BEGIN
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

-- Updates that change neither the status nor where the slot counts
-- (descriptions, heartbeats, epochs) do not call the function at all.
CREATE TRIGGER pool_slot_counts_change
    AFTER UPDATE OF status, pool, deployment_platform ON pool_slots
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.pool IS DISTINCT FROM NEW.pool
          OR OLD.deployment_platform IS DISTINCT FROM NEW.deployment_platform)
    EXECUTE FUNCTION pool_slot_counts_track();
CREATE TRIGGER pool_slot_counts_insert_delete
    AFTER INSERT OR DELETE ON pool_slots
    FOR EACH ROW EXECUTE FUNCTION pool_slot_counts_track();
CREATE FUNCTION pool_slot_counts_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM pool_slot_counts;
    RETURN NULL;
END $$;
CREATE TRIGGER pool_slot_counts_truncate
    AFTER TRUNCATE ON pool_slots
    FOR EACH STATEMENT EXECUTE FUNCTION pool_slot_counts_clear();

-- The slots there are now, with no transition slipping in between the
-- count and the trigger taking over (writers wait for this migration).
LOCK TABLE pool_slots IN SHARE MODE;
INSERT INTO pool_slot_counts (pool, deployment_platform, backend, idle, deploying, busy, error)
SELECT pool, deployment_platform, 0,
       count(*) FILTER (WHERE status = 'idle'), count(*) FILTER (WHERE status = 'deploying'),
       count(*) FILTER (WHERE status = 'busy'), count(*) FILTER (WHERE status = 'error')
FROM pool_slots GROUP BY pool, deployment_platform;
