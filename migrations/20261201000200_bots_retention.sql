-- The history retention also deletes the bots that ended before it
-- (`bot::retention`): they are found by when they ended, without reading
-- the bots still running. A bot enters this index once, when it ends.
CREATE INDEX bots_ended_idx ON bots (ended_at) WHERE status IN ('DONE', 'FATAL');
