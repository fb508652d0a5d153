-- The last health check of each platform, by whichever instance ran it, so
-- every instance and UI shows the same health.
CREATE TABLE platform_health (
    platform    TEXT PRIMARY KEY CHECK (platform IN ('k8s', 'aws', 'coolify', 'local')),
    health      TEXT NOT NULL CHECK (health IN ('healthy', 'degraded', 'down', 'unknown')),
    checked_at  TIMESTAMPTZ NOT NULL,
    checked_by  UUID NOT NULL
);
