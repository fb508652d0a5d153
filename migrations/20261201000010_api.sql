-- The HTTP API (issue 13): what a product may say about its bot, API tokens,
-- and idempotency keys for bot creation.

-- A bot's name in the meeting and the caller's own data, kept as given.
ALTER TABLE bots ADD COLUMN display_name TEXT;
ALTER TABLE bots ADD COLUMN metadata JSONB;
ALTER TABLE bots ADD CONSTRAINT bots_metadata_object_check
    CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object');
-- Lists filter on these, newest first (by id).
CREATE INDEX bots_pool_id_idx ON bots (pool, id DESC);

-- API tokens: only the SHA-256 of each token is kept (the token itself is
-- shown once, at creation). A name is unique among live tokens, so it names
-- one token in `berth tokens revoke` and in `api:<name>` actors; a revoked
-- token keeps its row (who made it, who revoked it).
CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    scope       TEXT NOT NULL CHECK (scope IN ('bots:read', 'bots:write', 'admin')),
    token_hash  BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by  TEXT NOT NULL,
    revoked_at  TIMESTAMPTZ,
    revoked_by  TEXT,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX api_tokens_live_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;

-- Idempotency keys of bot creation: per owner (an API token), a key names
-- the one bot its first request created, with a fingerprint of that
-- request (a different request under the same key is refused). Written in
-- the transaction that creates the bot, so a key never names a bot that
-- was not created, and two racing requests with one key create one bot.
CREATE TABLE idempotency_keys (
    owner       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    bot_id      BIGINT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
