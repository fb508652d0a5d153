-- Capacity in use per deployment platform (bots in an active state), and
-- releases per minute, kept by triggers in the transaction of every change,
-- so a grant reads a few rows instead of counting every active bot under a
-- lock, and `berth status` reads a few rows instead of scanning the bots
-- and the slot history.
--
-- `platform_load` rows are deltas by writer, as `pool_slot_counts`
-- (20261201000080): the truth for a platform is the sum over its rows.
--   * A bot that starts holding capacity on a platform adds 1 to the
--     platform's shared row (`backend = 0`). That row is the platform's
--     grant lock: a router locks it (`platform_load_lock`) before checking
--     the limit, and any transaction that adds capacity writes it, so
--     row-locks it until commit. A router holding the lock therefore sees
--     every addition that could count (all committed), and concurrent
--     routers cannot overshoot a limit.
--   * A bot that gives capacity back subtracts 1 in its connection's own
--     row (`backend = pg_backend_pid()`): releases never wait on the lock
--     nor on each other. A release not yet committed is not seen by a
--     router (it sees more in use than there is: it waits for the release's
--     wake-up, as it did when it counted the bots).
-- The leader folds the rows of connections that are gone into the shared
-- row (`platform::load::fold`).
CREATE TABLE platform_load (
    platform TEXT NOT NULL,
    backend  INTEGER NOT NULL,
    active   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, backend)
) WITH (fillfactor = 50); -- room for HOT updates: only the counter changes

-- Locks `p`'s shared row for the caller's transaction (creating it on the
-- platform's first use) and returns the capacity in use there. Each
-- statement of a VOLATILE function takes a fresh snapshot, so the sum is
-- read after the lock was granted: it sees the commit of the previous
-- holder.
CREATE FUNCTION platform_load_lock(p TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
BEGIN
    PERFORM 1 FROM platform_load WHERE platform = p AND backend = 0 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO platform_load (platform, backend, active) VALUES (p, 0, 0)
        ON CONFLICT (platform, backend) DO NOTHING;
        PERFORM 1 FROM platform_load WHERE platform = p AND backend = 0 FOR UPDATE;
    END IF;
    SELECT COALESCE(sum(active), 0)::bigint INTO n FROM platform_load WHERE platform = p;
    RETURN n;
END $$;

CREATE FUNCTION platform_load_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was BOOLEAN := false;
    now_active BOOLEAN := false;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        was := OLD.deployment_platform IS NOT NULL
            AND OLD.status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING');
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        now_active := NEW.deployment_platform IS NOT NULL
            AND NEW.status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING');
    END IF;
    IF was AND now_active AND OLD.deployment_platform = NEW.deployment_platform THEN
        RETURN NULL; -- from one active state to another: no change
    END IF;
    IF was THEN
        UPDATE platform_load SET active = active - 1
        WHERE platform = OLD.deployment_platform AND backend = pg_backend_pid();
        IF NOT FOUND THEN
            INSERT INTO platform_load AS l (platform, backend, active)
            VALUES (OLD.deployment_platform, pg_backend_pid(), -1)
            ON CONFLICT (platform, backend) DO UPDATE SET active = l.active - 1;
        END IF;
    END IF;
    IF now_active THEN
        INSERT INTO platform_load AS l (platform, backend, active)
        VALUES (NEW.deployment_platform, 0, 1)
        ON CONFLICT (platform, backend) DO UPDATE SET active = l.active + 1;
    END IF;
    RETURN NULL;
END $$;

-- Updates that change neither the status nor the platform (traces,
-- timestamps, counters) do not call the function.
CREATE TRIGGER platform_load_change
    AFTER UPDATE OF status, deployment_platform ON bots
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.deployment_platform IS DISTINCT FROM NEW.deployment_platform)
    EXECUTE FUNCTION platform_load_track();
-- Inserts and deletes: once per statement over its rows (a statement that
-- inserts many bots in active states updates each platform's row once,
-- not once per bot: same-row updates within one transaction grow a chain
-- of versions that each next update walks).
CREATE FUNCTION platform_load_track_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO platform_load AS l (platform, backend, active)
        SELECT deployment_platform, 0, count(*) FROM new_rows
        WHERE deployment_platform IS NOT NULL
          AND status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')
        GROUP BY deployment_platform
        ON CONFLICT (platform, backend) DO UPDATE SET active = l.active + EXCLUDED.active;
    ELSE
        INSERT INTO platform_load AS l (platform, backend, active)
        SELECT deployment_platform, pg_backend_pid(), -count(*) FROM old_rows
        WHERE deployment_platform IS NOT NULL
          AND status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')
        GROUP BY deployment_platform
        ON CONFLICT (platform, backend) DO UPDATE SET active = l.active + EXCLUDED.active;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER platform_load_insert
    AFTER INSERT ON bots REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION platform_load_track_rows();
CREATE TRIGGER platform_load_delete
    AFTER DELETE ON bots REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION platform_load_track_rows();
CREATE FUNCTION platform_load_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM platform_load;
    RETURN NULL;
END $$;
CREATE TRIGGER platform_load_truncate
    AFTER TRUNCATE ON bots
    FOR EACH STATEMENT EXECUTE FUNCTION platform_load_clear();

-- Slot releases (busy or deploying → idle, as `queue::release_rate` counted
-- them in `slot_history`) per minute and writing connection: the release
-- rate reads about 16 minutes of rows, whatever the traffic. The leader
-- drops minutes past the rate's window.
CREATE TABLE slot_release_minutes (
    minute  TIMESTAMPTZ NOT NULL,
    backend INTEGER NOT NULL,
    releases BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, backend)
) WITH (fillfactor = 50);

CREATE FUNCTION slot_release_minutes_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE slot_release_minutes SET releases = releases + 1
    WHERE minute = date_trunc('minute', now()) AND backend = pg_backend_pid();
    IF NOT FOUND THEN
        INSERT INTO slot_release_minutes AS m (minute, backend, releases)
        VALUES (date_trunc('minute', now()), pg_backend_pid(), 1)
        ON CONFLICT (minute, backend) DO UPDATE SET releases = m.releases + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER slot_release_minutes_release
    AFTER UPDATE OF status ON pool_slots
    FOR EACH ROW
    WHEN (OLD.status IN ('busy', 'deploying') AND NEW.status = 'idle')
    EXECUTE FUNCTION slot_release_minutes_track();

-- What there is now, with no change slipping in between the count and the
-- triggers taking over (writers wait for this migration).
LOCK TABLE bots, pool_slots IN SHARE MODE;
INSERT INTO platform_load (platform, backend, active)
SELECT deployment_platform, 0, count(*) FROM bots
WHERE deployment_platform IS NOT NULL
  AND status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')
GROUP BY deployment_platform;
INSERT INTO slot_release_minutes (minute, backend, releases)
SELECT date_trunc('minute', at), 0, count(*) FROM slot_history
WHERE from_status IN ('busy', 'deploying') AND to_status = 'idle' AND at > now() - interval '16 minutes'
GROUP BY 1;
