// Reference 002: before a large deploy batch on a stale account source, the
// app asks to refresh the accounts first.

/** Batches of at least this many bots count as large. */
export const LARGE_BATCH = 10;

/**
 * Whether to ask "Refresh before deploying?": the batch is large, the pool
 * has an account source (`refreshIntervalMs` set) and its accounts were never
 * refreshed or longer ago than the interval.
 */
export function needsRefreshPrompt(
  lastRefresh: string | null,
  refreshIntervalMs: number | null,
  batchSize: number,
  now: number = Date.now(),
): boolean {
  if (refreshIntervalMs === null || batchSize < LARGE_BATCH) return false;
  if (lastRefresh === null) return true;
  const at = Date.parse(lastRefresh);
  return Number.isNaN(at) || now - at > refreshIntervalMs;
}
