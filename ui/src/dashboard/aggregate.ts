import type { PoolStats } from "../api/types";

export interface Totals {
  total: number;
  idle: number;
  deploying: number;
  busy: number;
  error: number;
  maxSize: number;
}

/** Sums the stats of one pool (or every pool when `pool` is null). */
export function totalsOf(stats: PoolStats[], pool: string | null): Totals {
  const t: Totals = { total: 0, idle: 0, deploying: 0, busy: 0, error: 0, maxSize: 0 };
  for (const s of stats) {
    if (pool !== null && s.pool !== pool) continue;
    t.total += s.total;
    t.idle += s.idle;
    t.deploying += s.deploying;
    t.busy += s.busy;
    t.error += s.error;
    t.maxSize += s.maxSize;
  }
  return t;
}
