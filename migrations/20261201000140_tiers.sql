-- Priority tiers (issue 16): named tiers mapped to priorities, with an
-- optional ageing bound, configured once in the shared settings
-- (`global_settings` key `tiers`, written by `berth_core::tier`).

-- The tier a bot was admitted in (NULL: a numeric priority no tier has),
-- and the tier's ageing bound as it was then: a bot keeps the bounds it was
-- admitted with, whatever the settings become later.
ALTER TABLE bots ADD COLUMN tier TEXT;
ALTER TABLE bots ADD COLUMN max_wait_ms INTEGER CHECK (max_wait_ms > 0);

-- When an entry ages (`queued_at + the bot's max_wait_ms`; NULL: never):
-- from then on it is served before entries that have not aged
-- (`berth_core::queue::dispatch_key!`). Only aged entries are read through
-- this index (a queue position counts them); the rest keep the order index.
ALTER TABLE deployment_queue ADD COLUMN aged_at TIMESTAMPTZ;
CREATE INDEX deployment_queue_aged_idx ON deployment_queue (aged_at, priority, queued_at, id)
    WHERE aged_at IS NOT NULL;

-- A pool's tier (`queue.tier` in its definition; NULL: none). A pool's
-- `queue.priority` is now NULL when its definition gives none: its requests
-- then take the default tier. 100 was the default written for "none".
ALTER TABLE pools ADD COLUMN queue_tier TEXT;
ALTER TABLE pools ALTER COLUMN queue_priority DROP NOT NULL;
ALTER TABLE pools ALTER COLUMN queue_priority DROP DEFAULT;
UPDATE pools SET queue_priority = NULL WHERE queue_priority = 100;

-- An API token's default tier (requests through it that name no tier or
-- priority) and the highest tier it may ask for (NULL: any).
ALTER TABLE api_tokens ADD COLUMN default_tier TEXT;
ALTER TABLE api_tokens ADD COLUMN max_tier TEXT;
