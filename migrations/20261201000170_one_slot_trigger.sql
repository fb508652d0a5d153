-- One trigger call per slot transition (issue 15): the release-minute
-- counter (migration 20261201000100) joins the slot counters and the end of
-- a pool's exhaustion episode (migration 20261201000090) in
-- `pool_slot_counts_track`. A release fired two PL/pgSQL triggers; the
-- function call is a good part of a trigger's cost, and this one's
-- condition (a change of status, pool or platform) is a superset of the
-- release trigger's (busy or deploying → idle).
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
        IF OLD.status IN ('busy', 'deploying') THEN
            UPDATE slot_release_minutes SET releases = releases + 1
            WHERE minute = date_trunc('minute', now()) AND backend = pg_backend_pid();
            IF NOT FOUND THEN
                INSERT INTO slot_release_minutes AS m (minute, backend, releases)
                VALUES (date_trunc('minute', now()), pg_backend_pid(), 1)
                ON CONFLICT (minute, backend) DO UPDATE SET releases = m.releases + 1;
            END IF;
        END IF;
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

DROP TRIGGER slot_release_minutes_release ON pool_slots;
DROP FUNCTION slot_release_minutes_track();
