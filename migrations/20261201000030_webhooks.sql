-- Outgoing webhooks (issue 13): subscriptions, the outbox of events and
-- their deliveries, written by triggers in the transaction of the change
-- each event describes.
--
-- Why triggers (and not Rust at each call site): a bot's status changes in
-- a dozen statements (reserve, deploy, failover, report, cancel, expiry,
-- recovery, reconciliation, the sweep, ...) run by any instance, one-shot
-- CLI processes included. A row trigger on `bots.status` sees every one of
-- them, from any path and any version of the code that writes the column,
-- and writes the event in the very statement that makes the change: it
-- commits with it or rolls back with it, and no future call site can forget
-- it. The same holds for the queue and platform health. The cost is one
-- cheap lookup of the (small) subscription table per change when nobody
-- subscribes, and one event row plus one delivery row per subscriber when
-- somebody does: no NOTIFY, no extra lock (see feed.rs for why that matters).

-- A bot's own webhook URL: its events go there too, signed with the
-- cluster's bot-URL secret (webhook_keys).
ALTER TABLE bots ADD COLUMN webhook_url TEXT CHECK (webhook_url IS NULL OR length(webhook_url) <= 2048);

CREATE TABLE webhook_subscriptions (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    url          TEXT NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    event_types  TEXT[] NOT NULL CHECK (
        cardinality(event_types) > 0
        AND event_types <@ ARRAY['bot.state_changed', 'bot.queued', 'bot.dispatched', 'bot.expired',
                                 'platform.health_changed', 'pool.exhausted']::text[]),
    -- Stored as issued (`whsec_` + base64): Berth signs with it, so it must
    -- be able to read it back (see webhook::secret for why it is not hashed).
    secret       TEXT NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by   TEXT NOT NULL
);

-- The secret the events sent to bots' own webhook URLs are signed with: one
-- per database (every instance sharing it signs alike). Created on first use.
CREATE TABLE webhook_keys (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    bot_url_secret  TEXT NOT NULL CHECK (bot_url_secret LIKE 'whsec\_%'),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The outbox: one row per event that has at least one receiver.
CREATE TABLE webhook_events (
    -- Stable across retries: the receivers' de-duplication key (`webhook-id`).
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    type          TEXT NOT NULL,
    -- Deliveries to one receiver with the same key go out in order.
    ordering_key  TEXT NOT NULL,
    payload       JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

-- One event to one receiver: a subscription, or a bot's own URL.
CREATE TABLE webhook_deliveries (
    id                BIGSERIAL PRIMARY KEY,
    event_id          UUID NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    subscription_id   BIGINT REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    bot_id            BIGINT,
    -- The receiver (`subscription:<id>` or `bot:<id>`), for ordering.
    target            TEXT NOT NULL,
    url               TEXT NOT NULL,
    ordering_key      TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    first_attempt_at  TIMESTAMPTZ,
    last_attempt_at   TIMESTAMPTZ,
    -- NULL: due at once (a new delivery); else the next retry (on the
    -- instances' clock).
    next_attempt_at   TIMESTAMPTZ,
    -- An attempt under way by `claimed_by` until then; past it, the attempt
    -- counts as lost (its instance died) and any instance tries again.
    claimed_until     TIMESTAMPTZ,
    claimed_by        UUID,
    last_status       INTEGER,
    last_error        TEXT,
    done_at           TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    CHECK ((subscription_id IS NULL) <> (bot_id IS NULL))
);
-- Ordering: an earlier pending delivery to the same receiver and key.
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (target, ordering_key, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
-- The leader prunes settled events after a week (webhook::log::prune).
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- Pools a request found exhausted since capacity last came back: one
-- `pool.exhausted` per episode, not one per request.
CREATE TABLE pool_exhaustion (
    pool      TEXT PRIMARY KEY REFERENCES pools(name) ON UPDATE CASCADE ON DELETE CASCADE,
    platform  TEXT NOT NULL,
    since     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A time as the payloads carry it (RFC 3339, UTC, microseconds).
CREATE FUNCTION webhook_time(t TIMESTAMPTZ) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Writes one event and a delivery per receiver: every subscription to its
-- type, and the bot's own URL when given. Nothing when nobody receives it.
CREATE FUNCTION webhook_emit(p_type TEXT, p_key TEXT, p_data JSONB, p_bot_id BIGINT, p_bot_url TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    ev UUID;
BEGIN
    IF p_bot_url IS NULL
       AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE p_type = ANY (event_types)) THEN
        RETURN;
    END IF;
    ev := gen_random_uuid();
    INSERT INTO webhook_events (id, type, ordering_key, payload) VALUES (ev, p_type, p_key, p_data);
    INSERT INTO webhook_deliveries (event_id, subscription_id, target, url, ordering_key)
        SELECT ev, s.id, 'subscription:' || s.id, s.url, p_key
        FROM webhook_subscriptions s WHERE p_type = ANY (s.event_types) ORDER BY s.id;
    IF p_bot_url IS NOT NULL THEN
        INSERT INTO webhook_deliveries (event_id, bot_id, target, url, ordering_key)
            VALUES (ev, p_bot_id, 'bot:' || p_bot_id, p_bot_url, p_key);
    END IF;
END
$$;

-- bot.state_changed on every status (creation included, `from` null), with
-- bot.dispatched (QUEUED -> DEPLOYING: it holds a slot) and bot.expired
-- (QUEUED -> FATAL 'queue timeout', written only by queue::expire).
CREATE FUNCTION webhook_bot_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    k TEXT := 'bot:' || NEW.id;
    from_status TEXT := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
    at TEXT := webhook_time(clock_timestamp());
BEGIN
    -- Nobody listens (the usual case on a hot path): nothing to build.
    IF NEW.webhook_url IS NULL AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions) THEN
        RETURN NULL;
    END IF;
    PERFORM webhook_emit('bot.state_changed', k, jsonb_build_object(
        'botId', NEW.id, 'from', from_status, 'to', NEW.status, 'pool', NEW.pool,
        'meetingPlatform', NEW.meeting_platform, 'platform', NEW.deployment_platform,
        'error', NEW.error, 'at', at), NEW.id, NEW.webhook_url);
    IF from_status = 'QUEUED' AND NEW.status = 'DEPLOYING' THEN
        PERFORM webhook_emit('bot.dispatched', k, jsonb_build_object(
            'botId', NEW.id, 'pool', NEW.pool, 'platform', NEW.deployment_platform,
            'slot', (SELECT slot_name FROM pool_slots WHERE assigned_bot_id = NEW.id),
            'at', at), NEW.id, NEW.webhook_url);
    ELSIF from_status = 'QUEUED' AND NEW.status = 'FATAL' AND NEW.error = 'queue timeout' THEN
        PERFORM webhook_emit('bot.expired', k, jsonb_build_object(
            'botId', NEW.id, 'pool', NEW.pool, 'error', NEW.error, 'at', at), NEW.id, NEW.webhook_url);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER bots_webhook_created AFTER INSERT ON bots
    FOR EACH ROW EXECUTE FUNCTION webhook_bot_changed();
CREATE TRIGGER bots_webhook_status AFTER UPDATE OF status ON bots
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION webhook_bot_changed();

-- bot.queued: the request starts waiting for capacity (on a full platform
-- or in the global queue), from its router's walk (stage -2) or anew.
CREATE FUNCTION webhook_bot_queued() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    b RECORD;
BEGIN
    SELECT pool, webhook_url INTO b FROM bots WHERE id = NEW.bot_id;
    IF b.webhook_url IS NULL AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions) THEN
        RETURN NULL;
    END IF;
    PERFORM webhook_emit('bot.queued', 'bot:' || NEW.bot_id, jsonb_build_object(
        'botId', NEW.bot_id, 'pool', b.pool, 'waitingOn', NEW.stage_platform, 'priority', NEW.priority,
        'queuedAt', webhook_time(NEW.queued_at), 'until', webhook_time(NEW.timeout_at),
        'at', webhook_time(clock_timestamp())), NEW.bot_id, b.webhook_url);
    RETURN NULL;
END
$$;
CREATE TRIGGER deployment_queue_webhook_entered AFTER INSERT ON deployment_queue
    FOR EACH ROW WHEN (NEW.stage >= -1) EXECUTE FUNCTION webhook_bot_queued();
CREATE TRIGGER deployment_queue_webhook_waits AFTER UPDATE OF stage ON deployment_queue
    FOR EACH ROW WHEN (OLD.stage = -2 AND NEW.stage >= -1) EXECUTE FUNCTION webhook_bot_queued();

-- platform.health_changed: the shared health row, from whichever instance
-- checked (a first row that says nothing yet, `unknown`, is no change).
CREATE FUNCTION webhook_platform_health() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit('platform.health_changed', 'platform:' || NEW.platform, jsonb_build_object(
        'platform', NEW.platform, 'from', CASE WHEN TG_OP = 'UPDATE' THEN OLD.health END,
        'to', NEW.health, 'detail', NEW.detail, 'at', webhook_time(clock_timestamp())), NULL, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER platform_health_webhook_first AFTER INSERT ON platform_health
    FOR EACH ROW WHEN (NEW.health <> 'unknown') EXECUTE FUNCTION webhook_platform_health();
CREATE TRIGGER platform_health_webhook_changed AFTER UPDATE OF health ON platform_health
    FOR EACH ROW WHEN (OLD.health IS DISTINCT FROM NEW.health) EXECUTE FUNCTION webhook_platform_health();

-- Capacity came back to a pool (a slot turned idle or went away, or its
-- max size grew): its exhaustion episode is over.
CREATE FUNCTION webhook_pool_capacity_returned() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'pools' THEN
        DELETE FROM pool_exhaustion WHERE pool = NEW.name;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM pool_exhaustion WHERE pool = OLD.pool;
    ELSE
        DELETE FROM pool_exhaustion WHERE pool = NEW.pool;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pool_slots_capacity_created AFTER INSERT ON pool_slots
    FOR EACH ROW WHEN (NEW.status = 'idle') EXECUTE FUNCTION webhook_pool_capacity_returned();
CREATE TRIGGER pool_slots_capacity_released AFTER UPDATE OF status ON pool_slots
    FOR EACH ROW WHEN (NEW.status = 'idle' AND OLD.status <> 'idle') EXECUTE FUNCTION webhook_pool_capacity_returned();
CREATE TRIGGER pool_slots_capacity_deleted AFTER DELETE ON pool_slots
    FOR EACH ROW EXECUTE FUNCTION webhook_pool_capacity_returned();
CREATE TRIGGER pools_capacity_grown AFTER UPDATE OF max_size ON pools
    FOR EACH ROW WHEN (NEW.max_size > OLD.max_size) EXECUTE FUNCTION webhook_pool_capacity_returned();
