-- How a running bot talks back to Berth (issue 13): per-lease bot tokens,
-- heartbeats, and the CALL_ENDED status.

-- CALL_ENDED (reference 001's status): the bot has left its meeting and may
-- still be finishing (an upload); it holds its slot until DONE/FATAL, but no
-- longer counts against its platform's limit. `bots_active_platform_idx`
-- (the capacity count) therefore stays as it is, without CALL_ENDED.
ALTER TABLE bots DROP CONSTRAINT bots_status_check;
ALTER TABLE bots ADD CONSTRAINT bots_status_check CHECK (status IN
    ('QUEUED', 'DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING', 'CALL_ENDED', 'DONE', 'FATAL'));

-- The bot's last sign of life through its token (a heartbeat or a status
-- report). NULL until the first: its lease's start (the slot's
-- last_used_at) counts instead. A bot silent for the heartbeat timeout is
-- stuck (see crate::bot_lease::stuck).
ALTER TABLE bots ADD COLUMN last_heartbeat_at TIMESTAMPTZ;

-- One token per lease: issued when the lease's workload is started and
-- given to it (BERTH_BOT_TOKEN); only its SHA-256 is kept. A token is valid
-- while its slot is still held by its bot at its epoch and the bot has not
-- ended; the row stays after that so an old token reads as "lease ended"
-- rather than unknown, until pruned.
CREATE TABLE bot_tokens (
    slot_id     BIGINT NOT NULL,
    epoch       BIGINT NOT NULL,
    bot_id      BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    issued_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (slot_id, epoch)
);
CREATE INDEX bot_tokens_issued_idx ON bot_tokens (issued_at);

-- The simulated platform keeps the environment a workload was started
-- with, as a real platform does (a Job's spec, an ECS task's overrides, a
-- Coolify application's variables), while it runs; a stop clears it.
-- Development only.
ALTER TABLE sim_workloads ADD COLUMN env JSONB;
