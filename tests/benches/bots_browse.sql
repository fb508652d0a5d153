-- The Bots view's list at 1M bots (issue 14): generates a fleet in a
-- scratch database migrated to the current schema, then times the list's
-- queries as bot::browse writes them. Run by hand:
--   createdb berth_bots_perf; for f in migrations/*.sql; do psql -d berth_bots_perf -f $f; done
--   psql -d berth_bots_perf -f tests/benches/bots_browse.sql
-- Figures of one run are in the commit that added this file.
INSERT INTO pools (name, meeting_platform, image, max_size)
  SELECT 'pool-' || i, 'zoom', 'img:1', 100 FROM generate_series(1, 5) i ON CONFLICT DO NOTHING;
ALTER TABLE bots DISABLE TRIGGER USER;
-- 1M bots over 30 days, newest last; 90% DONE, 6% FATAL, 2% IN_CALL, 1% DEPLOYING/JOINING, 0.5% QUEUED (the newest)
INSERT INTO bots (pool, meeting_platform, meeting_url, status, deployment_platform, error, created_at, updated_at, ended_at, display_name, priority)
SELECT 'pool-' || (1 + i % 5), 'zoom',
       'https://zoom.us/j/' || (10000000 + (i::bigint * 7919) % 89999999)::text || '?pwd=' || md5(i::text),
       s.status,
       CASE WHEN s.status = 'QUEUED' THEN NULL ELSE (ARRAY['k8s','aws','coolify','local'])[1 + i % 4] END,
       CASE WHEN s.status = 'FATAL' THEN 'deploy failed: ' || (i % 13) END,
       t, t + interval '30 minutes',
       CASE WHEN s.status IN ('DONE','FATAL') THEN t + interval '30 minutes' END,
       CASE WHEN i % 3 = 0 THEN 'Notetaker ' || (i % 1000) END,
       100 - (i % 3) * 10
FROM generate_series(1, 1000000) i
CROSS JOIN LATERAL (SELECT now() - interval '30 days' + (i * interval '30 days' / 1000000) AS t) tt
CROSS JOIN LATERAL (SELECT CASE
    WHEN i > 995000 THEN 'QUEUED'
    WHEN i > 990000 THEN (ARRAY['DEPLOYING','JOINING_CALL','IN_CALL'])[1 + i % 3]
    WHEN i % 50 = 0 THEN 'IN_CALL'
    WHEN i % 16 = 0 THEN 'FATAL'
    ELSE 'DONE' END AS status) s;
ALTER TABLE bots ENABLE TRIGGER USER;
INSERT INTO deployment_queue (bot_id, priority, queued_at, timeout_at, stage)
  SELECT id, priority, created_at, created_at + interval '1 hour', -1 FROM bots WHERE status = 'QUEUED';
-- events: QUEUED at creation, DEPLOYING 0-60 s later, the final state 30 min later
INSERT INTO bot_events (bot_id, at, status, detail)
  SELECT id, created_at, 'QUEUED', NULL FROM bots
  UNION ALL SELECT id, created_at + (id % 60) * interval '1 second', 'DEPLOYING', deployment_platform FROM bots WHERE status <> 'QUEUED'
  UNION ALL SELECT id, created_at + interval '30 minutes', status, error FROM bots WHERE status IN ('DONE','FATAL','IN_CALL');
ANALYZE;

\timing on
-- First page, no filter; a deep page; rare status; a day a month ago; a text search (worst case: no match).
SELECT count(*) FROM (SELECT b.id FROM bots b ORDER BY b.created_at DESC, b.id DESC LIMIT 101) p;
SELECT count(*) FROM (SELECT b.id FROM bots b
    WHERE (b.created_at, b.id) < ((SELECT created_at FROM bots WHERE id = (SELECT min(id) + 500000 FROM bots)), (SELECT min(id) + 500000 FROM bots))
    ORDER BY b.created_at DESC, b.id DESC LIMIT 101) p;
SELECT count(*) FROM (SELECT b.id FROM bots b WHERE b.status = ANY('{QUEUED}') ORDER BY b.created_at DESC, b.id DESC LIMIT 101) p;
SELECT count(*) FROM (SELECT b.id FROM bots b WHERE b.created_at >= now() - interval '29 days' AND b.created_at < now() - interval '28 days'
    ORDER BY b.created_at DESC, b.id DESC LIMIT 101) p;
SELECT count(*) FROM (SELECT 1 FROM bots b WHERE b.status = ANY('{FATAL}') LIMIT 10001) m;
SELECT count(*) FROM (SELECT b.id FROM bots b WHERE b.meeting_url ILIKE '%no-such-meeting%' ESCAPE '\' OR b.display_name ILIKE '%no-such-meeting%' ESCAPE '\'
    ORDER BY b.created_at DESC, b.id DESC LIMIT 101) p;
