// The mock backend's history: smooth, deterministic series shaped like a
// working day, one value per bucket, for the history view and sparklines.
import type { History, HistorySpan as Span } from "../api/types";

const SHAPES: Record<Span, { buckets: number; seconds: number }> = {
  hour: { buckets: 60, seconds: 60 },
  day: { buckets: 96, seconds: 900 },
  week: { buckets: 168, seconds: 3600 },
};

/** A day-shaped wave between 0 and `peak` (bucket `i` of `n`, phase `p`). */
function wave(i: number, n: number, peak: number, p: number): number {
  const x = Math.sin(((i + p) / n) * Math.PI * 2) * 0.5 + 0.5;
  return Math.round(x * peak * 100) / 100;
}

export function mockHistory(span: Span, platforms: string[], pools: string[], now: number): History {
  const { buckets: n, seconds } = SHAPES[span];
  const series = (keys: string[], peak: number) =>
    keys.map((key, k) => ({ key, values: Array.from({ length: n }, (_, i) => wave(i, n, peak, k * 7)) }));
  return {
    span,
    start: new Date(now - n * seconds * 1000).toISOString(),
    bucketSeconds: seconds,
    busyByPlatform: series(platforms, 12),
    busyByPool: series(pools, 9),
    queueLength: Array.from({ length: n }, (_, i) => Math.max(0, wave(i, n, 6, 20) - 3)),
    waitP50: Array.from({ length: n }, (_, i) => (i % 5 === 4 ? null : 2 + wave(i, n, 20, 3))),
    waitP95: Array.from({ length: n }, (_, i) => (i % 5 === 4 ? null : 8 + wave(i, n, 60, 3))),
    deployFailures: Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 1 : 0)),
  };
}
