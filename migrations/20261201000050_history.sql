-- The history views (core/src/history.rs) scan `slot_history` by time. The
-- table is appended in time order, so a BRIN index finds a window's rows for
-- a few kilobytes of index and no measurable cost on the hot path's inserts
-- (a B-tree on `at` would add a page write to every transition).
CREATE INDEX slot_history_at_brin ON slot_history USING brin (at);

-- Closed buckets of the day (900 s) and week (3600 s) views, rolled up by
-- the leader (core/src/history/rollup.rs): values as the raw queries give
-- them (slot-seconds, bot-seconds, wait percentiles, counts).
CREATE TABLE history_rollup (
    width_s  INTEGER NOT NULL CHECK (width_s IN (900, 3600)),
    bucket   TIMESTAMPTZ NOT NULL,
    series   TEXT NOT NULL CHECK (series IN ('platform', 'pool', 'queued', 'wait_p50', 'wait_p95', 'failures')),
    key      TEXT NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (width_s, bucket, series, key)
);

-- How far each width is rolled up: every bucket before `rolled_until`
-- (written in the same transaction as this row).
CREATE TABLE history_rollup_progress (
    width_s       INTEGER PRIMARY KEY CHECK (width_s IN (900, 3600)),
    rolled_until  TIMESTAMPTZ NOT NULL
);
