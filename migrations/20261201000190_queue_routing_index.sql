-- What a dispatcher pass finds due (`queue::due`) includes the requests whose
-- routing hold is over (`stage = -2`, `stage_deadline` passed). Without an
-- index on that deadline the condition read the whole queue on every full
-- pass (1.2 ms at 10,000 queued against 0.12 ms with it, a bitmap OR of this
-- index and `deployment_queue_timeout_idx`). Only held entries are indexed.
CREATE INDEX deployment_queue_routing_idx ON deployment_queue (stage_deadline) WHERE stage = -2;
