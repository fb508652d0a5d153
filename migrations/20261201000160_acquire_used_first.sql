-- Acquisition takes slots that have run a bot before (least recently used
-- first) and never-used slots last. A pre-warmed slot is idle from the
-- moment its row exists, while its resource is still being made on the
-- platform (a minute or more); taking it first made a request that arrived
-- during that minute start cold although warm slots stood idle (the day
-- simulation showed ad-hoc bots late for exactly this reason). A slot that
-- has run a bot is known to have its resource. Same columns as before, so
-- acquire and release stay HOT updates.
DROP INDEX pool_slots_acquire_idx;
CREATE INDEX pool_slots_acquire_idx ON pool_slots (pool, deployment_platform, last_used_at NULLS LAST, id)
    WHERE assigned_bot_id IS NULL AND error_message IS NULL AND NOT draining AND NOT updating;
