-- Scheduled bots (issue 16): a request may say when its bot must be in the
-- meeting (`join_at`). The bot is SCHEDULED, holding no slot and no queue
-- entry, until the leader's starter routes it at `start_at` (join_at minus
-- the lead time learned from observed deploys; for a staggered batch, a
-- not-before). A scheduled bot books capacity from `start_at` to
-- `booked_until` (join_at plus its expected duration) against the limits of
-- the platforms its pool may use; NULL books nothing (an unscheduled bot, or
-- one accepted with ifFull = queue into a full window).

ALTER TABLE bots DROP CONSTRAINT bots_status_check;
ALTER TABLE bots ADD CONSTRAINT bots_status_check CHECK (status IN
    ('SCHEDULED', 'QUEUED', 'DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING',
     'CALL_ENDED', 'DONE', 'FATAL'));

ALTER TABLE bots ADD COLUMN join_at TIMESTAMPTZ;
ALTER TABLE bots ADD COLUMN start_at TIMESTAMPTZ;
ALTER TABLE bots ADD COLUMN expected_duration_ms INTEGER
    CHECK (expected_duration_ms IS NULL OR expected_duration_ms > 0);
ALTER TABLE bots ADD COLUMN booked_until TIMESTAMPTZ;
ALTER TABLE bots ADD CONSTRAINT bots_scheduled_start_check
    CHECK (status <> 'SCHEDULED' OR start_at IS NOT NULL);
ALTER TABLE bots ADD CONSTRAINT bots_booking_check
    CHECK (booked_until IS NULL OR (join_at IS NOT NULL AND start_at IS NOT NULL AND booked_until > start_at));

-- The starter: scheduled bots by start time.
CREATE INDEX bots_scheduled_start_idx ON bots (start_at) WHERE status = 'SCHEDULED';
-- Bookings that still count (the bot has not ended), by pool and start.
CREATE INDEX bots_booking_idx ON bots (pool, start_at, booked_until)
    WHERE booked_until IS NOT NULL AND status NOT IN ('DONE', 'FATAL');

-- Deploy durations Berth observed (a workload's start, from its slot's
-- reservation to the workload running), per deployment platform and pool:
-- the lead time of scheduled bots is learned from the most recent ones
-- (`schedule::lead`), which keeps at most a window of rows per pair.
CREATE TABLE deploy_durations (
    id        BIGSERIAL PRIMARY KEY,
    platform  TEXT NOT NULL,
    pool      TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    ms        INTEGER NOT NULL CHECK (ms >= 0)
);
CREATE INDEX deploy_durations_recent_idx ON deploy_durations (platform, pool, id DESC);
