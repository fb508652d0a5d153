-- Platform state every instance routes by (issue 11, items 13 and 14).
--
-- `platform_health` already held each platform's last health check; it now
-- also says why a platform is not healthy (`detail`: the failing check, or
-- the circuit breaker's reason) and carries the platform's run of failed
-- deploys, so a one-shot command skips a platform exactly as a running
-- instance would. A row may exist for its deploy record alone: its check
-- then dates from the epoch and reads as unknown.
ALTER TABLE platform_health ADD COLUMN detail TEXT;
-- Consecutive failed deploys on the platform, from any instance; a
-- successful deploy resets it.
ALTER TABLE platform_health ADD COLUMN deploy_failures INTEGER NOT NULL DEFAULT 0
    CHECK (deploy_failures >= 0);
-- No new deploy onto the platform before this time (backoff after failed
-- deploys). Reserving the one trial after it moves it on again.
ALTER TABLE platform_health ADD COLUMN deploy_retry_at TIMESTAMPTZ;
ALTER TABLE platform_health ADD COLUMN last_deploy_error TEXT;

-- How many slots were created for one request: capped, so a request whose
-- deploys keep failing cannot fill its pool with broken slots.
ALTER TABLE bots ADD COLUMN slots_created INTEGER NOT NULL DEFAULT 0 CHECK (slots_created >= 0);
-- Entries dropped from the middle of a bounded decision trace.
ALTER TABLE bots ADD COLUMN decision_trace_omitted INTEGER NOT NULL DEFAULT 0
    CHECK (decision_trace_omitted >= 0);

-- The simulated platform remembers the newest lease epoch started in each
-- resource (as a real platform's per-lease workload names do), so a start
-- or stop of an older lease never touches a newer lease's workload.
ALTER TABLE sim_workloads ADD COLUMN last_epoch BIGINT;
