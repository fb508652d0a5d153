-- The Bots view (issue 14): every bot's state changes with their times, the
-- accounts bots leased, and an index for listing bots by status.

-- One row per status a bot enters (its creation is its first QUEUED row),
-- written by a trigger so every path that changes a status, present or
-- future, is recorded, in the transaction of the change. `detail`: the
-- error of a FATAL bot, the deployment platform of a DEPLOYING one.
CREATE TABLE bot_events (
    id      BIGSERIAL PRIMARY KEY,
    bot_id  BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    -- clock_timestamp(): two changes in one transaction keep their order.
    at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    status  TEXT NOT NULL,
    detail  TEXT
);
-- A bot's timeline, oldest first; its wait (the first row after QUEUED).
CREATE INDEX bot_events_bot_idx ON bot_events (bot_id, at);

CREATE FUNCTION bot_event_record() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bot_events (bot_id, status, detail) VALUES (NEW.id, NEW.status,
        CASE NEW.status WHEN 'FATAL' THEN NEW.error WHEN 'DEPLOYING' THEN NEW.deployment_platform END);
    RETURN NULL;
END
$$;
CREATE TRIGGER bots_event_created AFTER INSERT ON bots
    FOR EACH ROW EXECUTE FUNCTION bot_event_record();
CREATE TRIGGER bots_event_status AFTER UPDATE OF status ON bots
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION bot_event_record();

-- Which account each lease gave a bot (pool_accounts forgets the bot when
-- its lease ends): a bot's timeline names the account it used. Only the
-- account's key, never its data (which may hold credentials).
CREATE TABLE bot_account_leases (
    id           BIGSERIAL PRIMARY KEY,
    bot_id       BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    pool         TEXT NOT NULL,
    account_key  TEXT NOT NULL,
    leased_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX bot_account_leases_bot_idx ON bot_account_leases (bot_id, id DESC);

CREATE FUNCTION bot_account_lease_record() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bot_account_leases (bot_id, pool, account_key, leased_at)
        VALUES (NEW.bot_id, NEW.pool, NEW.account_key, COALESCE(NEW.leased_at, now()));
    RETURN NULL;
END
$$;
CREATE TRIGGER pool_accounts_lease_recorded AFTER UPDATE OF bot_id ON pool_accounts
    FOR EACH ROW WHEN (NEW.bot_id IS NOT NULL AND OLD.bot_id IS DISTINCT FROM NEW.bot_id)
    EXECUTE FUNCTION bot_account_lease_record();

-- The Bots view lists bots newest first, keyset on (created_at, id), so a
-- time range anywhere is one range scan; this index replaces
-- bots_created_idx (its prefix). Rare statuses (QUEUED, FATAL) among many
-- DONE bots need their own. Status changes were already non-HOT updates
-- (bots_active_platform_idx's predicate reads status), so the status index
-- adds one index entry per change.
CREATE INDEX bots_created_id_idx ON bots (created_at DESC, id DESC);
DROP INDEX bots_created_idx;
CREATE INDEX bots_status_created_idx ON bots (status, created_at DESC, id DESC);

-- A bot's timeline names the bots that redeploy it.
CREATE INDEX bots_redeploy_of_idx ON bots (redeploy_of) WHERE redeploy_of IS NOT NULL;
