-- Applied pool definitions: every version, the newest in force. The `pools`
-- row the engine reads is updated in the same transaction as the insert.
CREATE TABLE pool_definitions (
    name        TEXT NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    version     INTEGER NOT NULL CHECK (version >= 1),
    hash        TEXT NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    text        TEXT NOT NULL,
    definition  JSONB NOT NULL,
    applied_by  TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);
