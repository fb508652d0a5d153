-- The slot transitions of every deployment (acquire, workload running,
-- release) do their own bookkeeping in the statement that makes them
-- (issue 15): measured with durable commits at 32 workers, the per-row
-- PL/pgSQL trigger cost about a quarter of an acquire→release cycle and the
-- foreign key from a slot to its bot about a sixth.
--
-- 1. `counted_inline` is flipped by a statement that adds the count deltas
--    of the rows it changes itself (and, going idle, the release minute and
--    the end of the pool's exhaustion), in CTEs of the same statement. The
--    trigger skips exactly those row changes; any other status change (an
--    error, a test's direct update, a pool renamed) is still counted by it,
--    so a writer that forgets the flip is counted, never lost.
ALTER TABLE pool_slots ADD COLUMN counted_inline BOOLEAN NOT NULL DEFAULT false;

DROP TRIGGER pool_slot_counts_change ON pool_slots;
CREATE TRIGGER pool_slot_counts_change
    AFTER UPDATE OF status, pool, deployment_platform ON pool_slots
    FOR EACH ROW
    WHEN ((OLD.status IS DISTINCT FROM NEW.status
           OR OLD.pool IS DISTINCT FROM NEW.pool
           OR OLD.deployment_platform IS DISTINCT FROM NEW.deployment_platform)
          AND OLD.counted_inline = NEW.counted_inline)
    EXECUTE FUNCTION pool_slot_counts_track();

-- 2. No foreign key from a slot to its bot. The check took a share lock on
--    the bot's row at every acquisition (a write to the bot's tuple). Berth
--    never deletes a bot (history and retention keep them), and a bot is
--    linked to a slot only by the acquisition that names it, inside the
--    dispatcher's transaction that has just read or created that bot.
ALTER TABLE pool_slots DROP CONSTRAINT pool_slots_assigned_bot_id_fkey;

-- 3. No unique index on the slot's uuid. Acquire and release are not HOT
--    updates (they change the bot and the acquisition order), so each wrote
--    an entry into every index of `pool_slots`, this one included: one WAL
--    record in about twelve. Nothing looks a slot up by its uuid (it is
--    shown and handed to platforms), and `gen_random_uuid()` makes it unique
--    by construction (122 random bits).
ALTER TABLE pool_slots DROP CONSTRAINT pool_slots_uuid_key;

-- 4. No primary key on the slot history. Its rows are appended, read by
--    slot (`slot_history_slot_idx`) or by time (the BRIN index and the
--    day partitions) and dropped a partition at a time; none is ever
--    looked up, updated or referenced by id (ids come from a sequence).
--    The key cost an index entry, a WAL record, on every slot transition.
ALTER TABLE slot_history DROP CONSTRAINT slot_history_pkey;
