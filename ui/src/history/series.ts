// Reading a `History` answer: bucket times, peaks and the one-line summaries
// the charts give assistive technology (and the tests read).
import type { History, HistorySpan } from "../api/types";
import { formatDuration } from "../shared/format";

/** A series as a chart draws it: one value per bucket (null: a gap). */
export type Values = readonly (number | null)[];

/** The window's start in ms since the epoch. */
export function startMs(h: History): number {
  return Date.parse(h.start);
}

/** When bucket `i` starts (ms since the epoch). */
export function bucketAt(h: History, i: number): number {
  return startMs(h) + i * h.bucketSeconds * 1000;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `14:05` in local time; a week's points also name the day (`Mon 14:05`). */
export function formatBucket(ms: number, span: HistorySpan): string {
  const d = new Date(ms);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return span === "week" ? `${d.toLocaleDateString(undefined, { weekday: "short" })} ${clock}` : clock;
}

/** An axis tick in local time: `14:00`, or `Mon 30` at a local midnight (day and week spans). */
export function formatTick(ms: number, span: HistorySpan): string {
  const d = new Date(ms);
  if (span !== "hour" && d.getHours() === 0 && d.getMinutes() === 0) {
    return `${d.toLocaleDateString(undefined, { weekday: "short" })} ${d.getDate()}`;
  }
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A count as the charts print it: whole numbers as they are, averages to one decimal. */
export function formatCount(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Seconds as the waits print them (`45s`, `1m 08s`). */
export function formatSeconds(v: number): string {
  // Waits under 10 s keep a decimal (a deploy that waited 0.4 s is not "0s").
  if (v > 0 && v < 10) return `${Number(v.toFixed(v < 1 ? 2 : 1))}s`;
  return formatDuration(v * 1000);
}

/** The highest value and its bucket; null when every value is null. */
export function peakOf(values: Values): { value: number; index: number } | null {
  let best: { value: number; index: number } | null = null;
  values.forEach((v, index) => {
    if (v !== null && (best === null || v > best.value)) best = { value: v, index };
  });
  return best;
}

/** Bucket-wise sum of several series (null where every one is null). */
export function sumSeries(series: readonly Values[]): (number | null)[] {
  const n = Math.max(0, ...series.map((s) => s.length));
  return Array.from({ length: n }, (_, i) => {
    const vs = series.map((s) => s[i] ?? null).filter((v): v is number => v !== null);
    return vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0);
  });
}

/** `peak 12 at 14:05` (or `none` when nothing was above zero). */
export function peakSummary(h: History, values: Values, format: (v: number) => string = formatCount): string {
  const peak = peakOf(values);
  if (!peak || peak.value <= 0) return "none";
  return `peak ${format(peak.value)} at ${formatBucket(bucketAt(h, peak.index), h.span)}`;
}

/** Nothing recorded in the window: no slot held a bot, no bot queued, deployed or failed. */
export function isEmptyHistory(h: History): boolean {
  const all = [
    ...h.busyByPlatform.map((s) => s.values),
    ...h.busyByPool.map((s) => s.values),
    h.queueLength,
    h.waitP50,
    h.waitP95,
    h.deployFailures,
  ];
  return all.every((values) => values.every((v) => v === null || v === 0));
}

/** Total of a series' values (nulls count as zero). */
export function totalOf(values: Values): number {
  return values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

export const SPANS: { id: HistorySpan; label: string }[] = [
  { id: "hour", label: "Last hour" },
  { id: "day", label: "Last day" },
  { id: "week", label: "Last week" },
];

/** Series colours: the theme's `--color-chart-N` when it defines them, else the app's status colours. */
export const PALETTE = [
  "var(--color-chart-1, var(--color-accent))",
  "var(--color-chart-2, var(--color-idle))",
  "var(--color-chart-3, var(--color-busy))",
  "var(--color-chart-4, #c084fc)",
  "var(--color-chart-5, #f472b6)",
  "var(--color-chart-6, var(--color-muted))",
];
export const colorAt = (i: number): string => PALETTE[i % PALETTE.length]!;
