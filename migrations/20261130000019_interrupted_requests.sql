-- Requests that survive the process routing them (issue 11, items 19-21).

-- The end of a request's wait for capacity, fixed when it is accepted: its
-- queue timeout (capped by the global ceiling) counted from its creation.
-- Platform waits and the global queue all end by it. NULL for rows written
-- without it (older versions, direct inserts): read as created_at plus the
-- request's own timeout.
ALTER TABLE bots ADD COLUMN deadline TIMESTAMPTZ;
UPDATE bots SET deadline = created_at + queue_timeout_ms * interval '1 millisecond'
    WHERE status IN ('QUEUED', 'DEPLOYING');

-- Bots that still need something to act on them (queued or deploying): the
-- sweep looks among them for the ones nothing acts on any more. Keyed by id
-- (never updated) so the index adds no work to status changes.
CREATE INDEX bots_unsettled_idx ON bots (id) WHERE status IN ('QUEUED', 'DEPLOYING');

-- A third kind of queue entry, stage -2 "routing": the request's router is
-- walking the platforms for it right now, until `stage_deadline`; after that
-- any dispatcher takes it over (its router was interrupted). Created with
-- the bot, in the same transaction, so an accepted request always has
-- either an entry, a slot, or an end.
ALTER TABLE deployment_queue DROP CONSTRAINT deployment_queue_stage_check;
ALTER TABLE deployment_queue DROP CONSTRAINT deployment_queue_check1;
ALTER TABLE deployment_queue ADD CONSTRAINT deployment_queue_stage_check CHECK (stage >= -2);
ALTER TABLE deployment_queue ADD CONSTRAINT deployment_queue_stage_platform_check
    CHECK ((stage >= 0) = (stage_platform IS NOT NULL));
ALTER TABLE deployment_queue ADD CONSTRAINT deployment_queue_routing_check
    CHECK (stage <> -2 OR stage_deadline IS NOT NULL);

-- The last sign of life of the router deploying into a `deploying` slot: it
-- renews this while the platform start runs (the later of this and
-- status_changed_at counts, so a value left by an earlier deploy is moot). A deploy whose router stopped
-- renewing it for a leader lease was interrupted (the process died); one
-- still renewed is merely slow and is left to the deploying timeout.
ALTER TABLE pool_slots ADD COLUMN deploy_alive_at TIMESTAMPTZ;
