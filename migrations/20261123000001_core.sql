-- Berth core schema: bots, pools, slots, queue, platform settings, leader/peers, history.
-- Invariants live here so that even a buggy caller cannot break them.

CREATE TABLE pools (
    name              TEXT PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    meeting_platform  TEXT NOT NULL CHECK (meeting_platform IN ('google-meet', 'microsoft-teams', 'zoom')),
    image             TEXT NOT NULL CHECK (image <> ''),
    max_size          INTEGER NOT NULL CHECK (max_size BETWEEN 1 AND 999),
    prewarm_count     INTEGER NOT NULL DEFAULT 0 CHECK (prewarm_count >= 0),
    -- NULL: every platform of the global priority list; otherwise a subset in order.
    allowed_platforms TEXT[],
    source            TEXT NOT NULL DEFAULT 'default',
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (prewarm_count <= max_size)
);

CREATE TABLE bots (
    id                  BIGSERIAL PRIMARY KEY,
    pool                TEXT NOT NULL REFERENCES pools(name),
    meeting_platform    TEXT NOT NULL CHECK (meeting_platform IN ('google-meet', 'microsoft-teams', 'zoom')),
    meeting_url         TEXT NOT NULL CHECK (meeting_url <> ''),
    status              TEXT NOT NULL DEFAULT 'QUEUED' CHECK (status IN
                          ('QUEUED', 'DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING', 'DONE', 'FATAL')),
    priority            INTEGER NOT NULL DEFAULT 100 CHECK (priority >= 0),
    queue_timeout_ms    INTEGER NOT NULL DEFAULT 300000 CHECK (queue_timeout_ms BETWEEN 0 AND 600000),
    -- The deployment platform the bot runs on (set while it holds capacity there).
    deployment_platform TEXT,
    error               TEXT,
    -- Decision trace: one JSON object per platform considered, in order.
    decision_trace      JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at            TIMESTAMPTZ,
    CHECK (status <> 'FATAL' OR error IS NOT NULL)
);
-- Capacity per platform is counted from bots in active states.
CREATE INDEX bots_active_platform_idx ON bots (deployment_platform)
    WHERE status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING');
CREATE INDEX bots_created_idx ON bots (created_at DESC);

CREATE TABLE pool_slots (
    id                  BIGSERIAL PRIMARY KEY,
    uuid                UUID NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    pool                TEXT NOT NULL REFERENCES pools(name) ON UPDATE CASCADE,
    meeting_platform    TEXT NOT NULL CHECK (meeting_platform IN ('google-meet', 'microsoft-teams', 'zoom')),
    deployment_platform TEXT NOT NULL CHECK (deployment_platform IN ('k8s', 'aws', 'coolify', 'local')),
    slot_name           TEXT NOT NULL UNIQUE,
    slot_number         INTEGER NOT NULL CHECK (slot_number BETWEEN 1 AND 999),
    status              TEXT NOT NULL CHECK (status IN ('idle', 'deploying', 'busy', 'error')),
    assigned_bot_id     BIGINT REFERENCES bots(id) ON DELETE SET NULL,
    -- Bumped by every acquisition; later transitions name the epoch they expect.
    epoch               BIGINT NOT NULL DEFAULT 0,
    -- The platform's identifier for the slot's resource, once created.
    platform_ref        TEXT,
    description         TEXT NOT NULL DEFAULT '',
    last_used_at        TIMESTAMPTZ,
    status_changed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    error_message       TEXT,
    recovery_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (recovery_attempts >= 0),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (pool, slot_number),
    -- A holding slot names its bot; an idle slot names none.
    CHECK (status NOT IN ('deploying', 'busy') OR assigned_bot_id IS NOT NULL),
    CHECK (status <> 'idle' OR assigned_bot_id IS NULL),
    CHECK (status <> 'error' OR error_message IS NOT NULL)
);
-- A bot holds at most one slot.
CREATE UNIQUE INDEX pool_slots_bot_uidx ON pool_slots (assigned_bot_id) WHERE assigned_bot_id IS NOT NULL;
-- Acquisition: idle slots of a pool on a platform, least recently used first.
CREATE INDEX pool_slots_acquire_idx ON pool_slots (pool, deployment_platform, last_used_at NULLS FIRST, id)
    WHERE status = 'idle';
CREATE INDEX pool_slots_status_idx ON pool_slots (status, status_changed_at);

-- Every slot transition with its reason and time.
CREATE TABLE slot_history (
    id           BIGSERIAL PRIMARY KEY,
    slot_id      BIGINT NOT NULL,
    slot_name    TEXT NOT NULL,
    epoch        BIGINT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    bot_id       BIGINT,
    reason       TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX slot_history_slot_idx ON slot_history (slot_id, id);
CREATE INDEX slot_history_release_idx ON slot_history (at) WHERE from_status IN ('busy', 'deploying') AND to_status = 'idle';

-- Requests waiting for capacity: on one platform (stage >= 0, until stage_deadline)
-- or in the global queue (stage = -1, until timeout_at).
CREATE TABLE deployment_queue (
    id              BIGSERIAL PRIMARY KEY,
    bot_id          BIGINT NOT NULL UNIQUE REFERENCES bots(id) ON DELETE CASCADE,
    priority        INTEGER NOT NULL DEFAULT 100 CHECK (priority >= 0),
    queued_at       TIMESTAMPTZ NOT NULL,
    timeout_at      TIMESTAMPTZ NOT NULL,
    stage           INTEGER NOT NULL DEFAULT -1 CHECK (stage >= -1),
    stage_platform  TEXT,
    stage_deadline  TIMESTAMPTZ,
    CHECK (timeout_at >= queued_at),
    CHECK ((stage = -1) = (stage_platform IS NULL))
);
CREATE INDEX deployment_queue_order_idx ON deployment_queue (priority, queued_at, id);
CREATE INDEX deployment_queue_timeout_idx ON deployment_queue (timeout_at);

-- Platform settings shared by every instance. `pinned_by` names the environment
-- variable that fixed a value at start-up (shown read-only to administrators).
CREATE TABLE platform_settings (
    platform          TEXT PRIMARY KEY CHECK (platform IN ('k8s', 'aws', 'coolify', 'local')),
    position          INTEGER NOT NULL CHECK (position >= 0),
    enabled           BOOLEAN NOT NULL DEFAULT true,
    bot_limit         INTEGER CHECK (bot_limit IS NULL OR bot_limit >= 0),
    queue_timeout_ms  INTEGER NOT NULL CHECK (queue_timeout_ms BETWEEN 0 AND 3600000),
    pinned            JSONB NOT NULL DEFAULT '{}'::jsonb,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by        TEXT NOT NULL DEFAULT 'default'
);

CREATE TABLE global_settings (
    key         TEXT PRIMARY KEY,
    value       JSONB NOT NULL,
    pinned_by   TEXT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by  TEXT NOT NULL DEFAULT 'default'
);

-- Who changed which setting, when, from what to what.
CREATE TABLE settings_history (
    id          BIGSERIAL PRIMARY KEY,
    subject     TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   JSONB,
    new_value   JSONB,
    changed_by  TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Instances sharing the database, and the one leader row (with an expiry).
CREATE TABLE peers (
    id            UUID PRIMARY KEY,
    hostname      TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    mode          TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE leader (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      UUID NOT NULL,
    term        BIGINT NOT NULL DEFAULT 1,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
);

-- Which images each platform already holds, so only the first deploy waits for a pull.
CREATE TABLE platform_images (
    platform   TEXT NOT NULL,
    image      TEXT NOT NULL,
    pulled_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, image)
);

-- The simulated platform's cluster state, shared by every instance that simulates.
CREATE TABLE sim_workloads (
    platform     TEXT NOT NULL,
    resource     TEXT NOT NULL,
    bot_id       BIGINT,
    epoch        BIGINT,
    state        TEXT NOT NULL CHECK (state IN ('created', 'running', 'succeeded', 'failed')),
    started_at   TIMESTAMPTZ,
    run_until    TIMESTAMPTZ,
    description  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (platform, resource)
);

CREATE TABLE sim_knobs (
    platform           TEXT PRIMARY KEY,
    deploy_latency_ms  INTEGER NOT NULL DEFAULT 0 CHECK (deploy_latency_ms >= 0),
    pull_latency_ms    INTEGER NOT NULL DEFAULT 0 CHECK (pull_latency_ms >= 0),
    failure_rate       DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (failure_rate BETWEEN 0 AND 1),
    -- NULL: a bot runs until told (it reports DONE/FATAL itself).
    run_ms             INTEGER CHECK (run_ms IS NULL OR run_ms >= 0),
    stop_fails         BOOLEAN NOT NULL DEFAULT false,
    list_fails         BOOLEAN NOT NULL DEFAULT false
);
