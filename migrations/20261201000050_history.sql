-- The history views (core/src/history.rs) scan `slot_history` by time. The
-- table is appended in time order, so a BRIN index finds a window's rows for
-- a few kilobytes of index and no measurable cost on the hot path's inserts
-- (a B-tree on `at` would add a page write to every transition).
CREATE INDEX slot_history_at_brin ON slot_history USING brin (at);
