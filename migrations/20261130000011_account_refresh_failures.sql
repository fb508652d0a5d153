-- The last failed automatic refresh of each pool's account source: when,
-- and why (an error code and message), so every instance and every face
-- shows it on the pool. A successful refresh removes it.
CREATE TABLE pool_account_refresh_failures (
    pool       TEXT PRIMARY KEY,
    failed_at  TIMESTAMPTZ NOT NULL,
    code       TEXT NOT NULL,
    message    TEXT NOT NULL CHECK (length(message) <= 2000)
);
