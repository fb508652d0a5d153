// The history view's charts, from one `History` answer and the current
// ceilings (platform limits, pool max sizes) read from the live queries.
import type { History } from "../api/types";
import { platformLabel } from "../shared/format";
import {
  bucketAt,
  colorAt,
  formatBucket,
  formatCount,
  formatSeconds,
  peakOf,
  peakSummary,
  startMs,
  totalOf,
} from "./series";
import { TimeChart, type ChartSeries } from "./TimeChart";

/** Current ceilings by series key: a platform's bot limit, a pool's max size (absent: unknown or none). */
export type Limits = Record<string, number | null | undefined>;

const isPlatform = (k: string): k is "k8s" | "aws" | "coolify" | "local" => ["k8s", "aws", "coolify", "local"].includes(k);

/** `K8s: peak 12 at 14:05 of 20; AWS: none`. */
function utilisationSummary(h: History, series: ChartSeries[]): string {
  if (series.length === 0) return "no slots";
  return series
    .map((s) => `${s.label}: ${peakSummary(h, s.values)}${s.limit != null ? ` of ${formatCount(s.limit)}` : ""}`)
    .join("; ");
}

function failuresSummary(h: History): string {
  const total = totalOf(h.deployFailures);
  const peak = peakOf(h.deployFailures);
  if (total === 0 || !peak) return "no deploy failures";
  const at = formatBucket(bucketAt(h, peak.index), h.span);
  return `${formatCount(total)} deploy failure${total === 1 ? "" : "s"}, most ${formatCount(peak.value)} at ${at}`;
}

function waitsSummary(h: History): string {
  if (h.waitP95.every((v) => v === null)) return "no bot deployed";
  return `p95 ${peakSummary(h, h.waitP95, formatSeconds)}; p50 ${peakSummary(h, h.waitP50, formatSeconds)}`;
}

export function HistoryCharts({ history: h, platformLimits, poolLimits }: { history: History; platformLimits: Limits; poolLimits: Limits }) {
  const common = { span: h.span, start: startMs(h), bucketMs: h.bucketSeconds * 1000 };
  const platforms: ChartSeries[] = h.busyByPlatform.map((s, i) => ({
    key: s.key,
    label: isPlatform(s.key) ? platformLabel(s.key) : s.key,
    values: s.values,
    color: colorAt(i),
    limit: platformLimits[s.key],
  }));
  const pools: ChartSeries[] = h.busyByPool.map((s, i) => ({ key: s.key, label: s.key, values: s.values, color: colorAt(i), limit: poolLimits[s.key] }));
  return (
    <div className="grid grid-cols-1 gap-3 xl:grid-cols-2">
      <TimeChart {...common} testId="chart-platforms" title="Busy slots per platform" kind="line" series={platforms} summary={utilisationSummary(h, platforms)} />
      <TimeChart {...common} testId="chart-pools" title="Busy slots per pool" kind="line" series={pools} summary={utilisationSummary(h, pools)} />
      <TimeChart
        {...common}
        testId="chart-queue"
        title="Queue length"
        kind="area"
        series={[{ key: "queue", label: "Waiting", values: h.queueLength, color: "var(--color-busy)" }]}
        summary={h.queueLength.some((v) => (v ?? 0) > 0) ? `${peakSummary(h, h.queueLength)} waiting` : "no bot waited"}
      />
      <TimeChart
        {...common}
        testId="chart-waits"
        title="Wait before deploy"
        kind="line"
        formatY={formatSeconds}
        series={[
          { key: "p95", label: "p95", values: h.waitP95, color: "var(--color-deploying)" },
          { key: "p50", label: "p50", values: h.waitP50, color: "var(--color-idle)", dashed: true },
        ]}
        summary={waitsSummary(h)}
      />
      <TimeChart
        {...common}
        testId="chart-failures"
        title="Deploy failures"
        kind="bar"
        integer
        series={[{ key: "failures", label: "Failures", values: h.deployFailures, color: "var(--color-error)" }]}
        summary={failuresSummary(h)}
      />
    </div>
  );
}
