-- Bounded history (issue 15): the four append-only history tables become
-- tables partitioned by day (native range partitioning on their time), so
-- the leader drops whole days past the retention instead of deleting rows
-- (core/src/history/partitions.rs), and no history table grows forever.
--
--   slot_history        by `at`          every slot transition
--   bot_events          by `at`          every status a bot enters
--   bot_account_leases  by `leased_at`   every account lease (a bot's timeline
--                                        names it; one row per lease, never
--                                        updated: history like the others)
--   audit_log           by `at`          every operator action
--
-- Each gets a DEFAULT partition, so an insert never fails for want of a
-- partition (a leader that stopped for days, a clock far off): its rows wait
-- there until the leader gives their day a partition (moving them) or they
-- pass the retention. Daily partitions `<table>_pYYYYMMDD` cover UTC days;
-- the leader creates them a few days ahead. Here only the days that already
-- hold rows get one (a fresh database gets none: the leader's first round
-- makes today's and the next ones).
--
-- Ids, their sequences and `ORDER BY id` stay as they were; the primary key
-- becomes (id, time), as partitioning requires the partition key in it.
-- Indexes are the ones the readers use, recreated on the parents (every
-- partition inherits them).

-- Partitions for the UTC days that hold rows of `old` (by `col`), of `parent`.
CREATE FUNCTION pg_temp.history_days(parent TEXT, old TEXT, col TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    d DATE;
BEGIN
    FOR d IN EXECUTE format('SELECT DISTINCT (%I AT TIME ZONE ''UTC'')::date FROM %I', col, old) LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
            parent || '_p' || to_char(d, 'YYYYMMDD'), parent,
            to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
    END LOOP;
END
$$;

-- slot_history --------------------------------------------------------------
ALTER TABLE slot_history RENAME TO slot_history_old;
ALTER TABLE slot_history_old DROP CONSTRAINT slot_history_pkey;
DROP INDEX slot_history_slot_idx, slot_history_release_idx, slot_history_at_brin;
CREATE TABLE slot_history (
    id           BIGINT NOT NULL DEFAULT nextval('slot_history_id_seq'),
    slot_id      BIGINT NOT NULL,
    slot_name    TEXT NOT NULL,
    epoch        BIGINT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    bot_id       BIGINT,
    reason       TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE slot_history_id_seq OWNED BY slot_history.id;
-- A slot's transitions in order (tests, investigations).
CREATE INDEX slot_history_slot_idx ON slot_history (slot_id, id);
-- No index for releases any more: the queue's release rate reads the
-- per-minute counters of migration 20261201000100 (every index here is paid
-- by every slot transition).
-- The history views' windows (history/raw.rs): within a day's partition
-- rows are still appended in time order.
CREATE INDEX slot_history_at_brin ON slot_history USING brin (at);
CREATE TABLE slot_history_default PARTITION OF slot_history DEFAULT;
SELECT pg_temp.history_days('slot_history', 'slot_history_old', 'at');
INSERT INTO slot_history (id, slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at)
    SELECT id, slot_id, slot_name, epoch, from_status, to_status, bot_id, reason, at
    FROM slot_history_old ORDER BY at, id;
DROP TABLE slot_history_old;

-- bot_events ----------------------------------------------------------------
ALTER TABLE bot_events RENAME TO bot_events_old;
ALTER TABLE bot_events_old DROP CONSTRAINT bot_events_pkey;
ALTER TABLE bot_events_old DROP CONSTRAINT bot_events_bot_id_fkey;
DROP INDEX bot_events_bot_idx;
CREATE TABLE bot_events (
    id      BIGINT NOT NULL DEFAULT nextval('bot_events_id_seq'),
    bot_id  BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    -- clock_timestamp(): two changes in one transaction keep their order.
    at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    status  TEXT NOT NULL,
    detail  TEXT,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE bot_events_id_seq OWNED BY bot_events.id;
-- A bot's timeline, oldest first; its wait (the first row after QUEUED).
CREATE INDEX bot_events_bot_idx ON bot_events (bot_id, at);
CREATE TABLE bot_events_default PARTITION OF bot_events DEFAULT;
SELECT pg_temp.history_days('bot_events', 'bot_events_old', 'at');
INSERT INTO bot_events (id, bot_id, at, status, detail)
    SELECT id, bot_id, at, status, detail FROM bot_events_old ORDER BY at, id;
DROP TABLE bot_events_old;

-- bot_account_leases --------------------------------------------------------
ALTER TABLE bot_account_leases RENAME TO bot_account_leases_old;
ALTER TABLE bot_account_leases_old DROP CONSTRAINT bot_account_leases_pkey;
ALTER TABLE bot_account_leases_old DROP CONSTRAINT bot_account_leases_bot_id_fkey;
DROP INDEX bot_account_leases_bot_idx;
CREATE TABLE bot_account_leases (
    id           BIGINT NOT NULL DEFAULT nextval('bot_account_leases_id_seq'),
    bot_id       BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    pool         TEXT NOT NULL,
    account_key  TEXT NOT NULL,
    leased_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, leased_at)
) PARTITION BY RANGE (leased_at);
ALTER SEQUENCE bot_account_leases_id_seq OWNED BY bot_account_leases.id;
-- A bot's latest lease (bot/timeline.rs).
CREATE INDEX bot_account_leases_bot_idx ON bot_account_leases (bot_id, id DESC);
CREATE TABLE bot_account_leases_default PARTITION OF bot_account_leases DEFAULT;
SELECT pg_temp.history_days('bot_account_leases', 'bot_account_leases_old', 'leased_at');
INSERT INTO bot_account_leases (id, bot_id, pool, account_key, leased_at)
    SELECT id, bot_id, pool, account_key, leased_at FROM bot_account_leases_old ORDER BY leased_at, id;
DROP TABLE bot_account_leases_old;

-- audit_log -----------------------------------------------------------------
ALTER TABLE audit_log RENAME TO audit_log_old;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_pkey;
DROP INDEX audit_log_target_idx;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_actor_check;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_target_kind_check;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_target_check;
ALTER TABLE audit_log_old DROP CONSTRAINT audit_log_reason_check;
CREATE TABLE audit_log (
    id           BIGINT NOT NULL DEFAULT nextval('audit_log_id_seq'),
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor        TEXT NOT NULL CHECK (actor <> ''),
    -- `<kind>.<verb>`: slot.drain, bot.cancel, platform.undrain, ...
    action       TEXT NOT NULL CHECK (action ~ '^[a-z]+\.[a-z_]+$'),
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('slot', 'bot', 'platform', 'settings')),
    target       TEXT NOT NULL CHECK (target <> ''),
    reason       TEXT CHECK (reason IS NULL OR (reason <> '' AND length(reason) <= 500)),
    -- What the action found and did (its typed outcome, as JSON).
    detail       JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
-- Newest first, for one target; for everything, the primary key's
-- partitions merged by id.
CREATE INDEX audit_log_target_idx ON audit_log (target_kind, target, id DESC);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
SELECT pg_temp.history_days('audit_log', 'audit_log_old', 'at');
INSERT INTO audit_log (id, at, actor, action, target_kind, target, reason, detail)
    SELECT id, at, actor, action, target_kind, target, reason, detail FROM audit_log_old ORDER BY at, id;
DROP TABLE audit_log_old;

ANALYZE slot_history, bot_events, bot_account_leases, audit_log;
