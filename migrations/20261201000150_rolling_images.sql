-- Rolling image updates and the image pull gate across instances (issue 16).

-- The image each slot's resource runs. Slots made before this migration run
-- their pool's image.
ALTER TABLE pool_slots ADD COLUMN image TEXT;
UPDATE pool_slots s SET image = p.image FROM pools p WHERE p.name = s.pool;

-- A slot taken out of service for its image update: idle, not acquirable,
-- until the rollout job has updated its resource. Part of the acquisition
-- index's predicate (as `draining` is), so acquisition never sees one.
ALTER TABLE pool_slots ADD COLUMN updating BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE pool_slots ADD CONSTRAINT pool_slots_updating_idle_check
    CHECK (NOT updating OR status = 'idle');
DROP INDEX pool_slots_acquire_idx;
CREATE INDEX pool_slots_acquire_idx ON pool_slots (pool, deployment_platform, last_used_at NULLS FIRST, id)
    WHERE assigned_bot_id IS NULL AND error_message IS NULL AND NOT draining AND NOT updating;
CREATE INDEX pool_slots_updating_idx ON pool_slots (pool) WHERE updating;

-- One rollout per pool: the image its slots move to. `in_flight` counts the
-- slots taken for their update (`updating`), never above `max_updating`:
-- every claim increments it in the statement that flags the slot, so
-- concurrent claims (the rollout job, releases in any instance) serialise
-- on this row. The rollout is done when no slot of the pool runs another
-- image (`finished_at`).
CREATE TABLE pool_rollouts (
    pool          TEXT PRIMARY KEY REFERENCES pools(name) ON UPDATE CASCADE ON DELETE CASCADE,
    image         TEXT NOT NULL CHECK (image <> ''),
    max_updating  INTEGER NOT NULL CHECK (max_updating BETWEEN 1 AND 100),
    in_flight     INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at   TIMESTAMPTZ,
    last_error    TEXT
);

-- The image pull gate in the database: one row per (platform, image),
-- claimed in one statement. `pulling` rows name their holder and when the
-- claim lapses (a holder that died lets the next deploy retry); `failed`
-- rows are retried by the next deploy.
ALTER TABLE platform_images
    ADD COLUMN state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('pulling', 'done', 'failed')),
    ADD COLUMN holder UUID,
    ADD COLUMN lapses_at TIMESTAMPTZ,
    ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    ADD COLUMN error TEXT,
    ADD CONSTRAINT platform_images_pulling_check
        CHECK (state <> 'pulling' OR (holder IS NOT NULL AND lapses_at IS NOT NULL));

-- The simulator records what it was asked, shared by every instance that
-- simulates: the image each simulated resource runs and each pull made.
ALTER TABLE sim_workloads ADD COLUMN image TEXT;
CREATE TABLE sim_pulls (
    platform  TEXT NOT NULL,
    image     TEXT NOT NULL,
    pulls     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, image)
);
