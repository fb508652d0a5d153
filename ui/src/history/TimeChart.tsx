// One history chart: a time axis in local time, a value axis, and the series
// as lines, a filled area or bars, with optional dashed limit lines. Axes
// are drawn here from the scales' ticks (no @visx/axis: it would bring
// @visx/text and friends for a dozen lines of SVG).
import { linear, time, type Linear } from "./scale";
import { Area, LinePath } from "@visx/shape";
import { useState, type KeyboardEvent, type PointerEvent } from "react";
import type { HistorySpan } from "../api/types";
import { formatBucket, formatCount, formatTick, type Values } from "./series";
import { useWidth } from "./useWidth";

/** A series as one chart shows it. */
export interface ChartSeries {
  key: string;
  label: string;
  values: Values;
  color: string;
  /** The ceiling it runs against (platform limit, pool max size), drawn dashed. */
  limit?: number | null;
  /** Drawn dashed (a secondary series, e.g. p50 under p95). */
  dashed?: boolean;
}

export interface TimeChartProps {
  title: string;
  /** What the chart shows, in words: its `aria-label` (e.g. `peak 12 at 14:05`). */
  summary: string;
  span: HistorySpan;
  /** The first bucket's start and one bucket's width (ms). */
  start: number;
  bucketMs: number;
  series: ChartSeries[];
  kind: "line" | "area" | "bar";
  formatY?: (v: number) => string;
  /** Counts of events: value ticks only at whole numbers. */
  integer?: boolean;
  testId: string;
}

const HEIGHT = 170;
const M = { top: 10, right: 14, bottom: 22, left: 44 };

export function TimeChart(props: TimeChartProps) {
  const { title, summary, series, testId } = props;
  const { ref, width } = useWidth<HTMLDivElement>(640);
  const n = bucketCount(series);
  const { cursor, setCursor, onKeyDown } = useCursor(n);
  const onPointerMove = (e: PointerEvent<SVGSVGElement>) => {
    const left = e.currentTarget.getBoundingClientRect().left;
    const innerW = Math.max(10, width - M.left - M.right);
    setCursor(Math.min(n - 1, Math.max(0, Math.floor(((e.clientX - left - M.left) / innerW) * n))));
  };
  return (
    <figure className="panel m-0 flex min-w-0 flex-col p-4" data-testid={testId} aria-labelledby={`${testId}-title`}>
      <figcaption className="flex flex-wrap items-baseline justify-between gap-2">
        <h3 id={`${testId}-title`} className="panel-title">
          {title}
        </h3>
        <Legend series={series} formatY={props.formatY ?? formatCount} />
      </figcaption>
      <div
        ref={ref}
        tabIndex={0}
        role="group"
        aria-label={`${title}: ←/→ read each point`}
        onKeyDown={onKeyDown}
        onBlur={() => setCursor(null)}
        aria-describedby={`${testId}-readout`}
        className="mt-2 w-full outline-none focus-visible:ring-1 focus-visible:ring-accent"
      >
        <svg
          width={width}
          height={HEIGHT}
          role="img"
          aria-label={`${title}: ${summary}`}
          className="block overflow-visible"
          onPointerMove={onPointerMove}
          onPointerLeave={() => setCursor(null)}
        >
          <Plot {...props} width={width} cursor={cursor} />
        </svg>
      </div>
      <p id={`${testId}-readout`} data-testid={`${testId}-readout`} aria-live="polite" className="mt-1 min-h-4 font-mono text-[10.5px] text-muted">
        {cursor === null ? "" : readout(props, cursor)}
      </p>
    </figure>
  );
}

/** The longest series' length (the buckets drawn). */
const bucketCount = (series: ChartSeries[]) => Math.max(0, ...series.map((s) => s.values.length));

/** `14:05 · K8s 9 · AWS —`: one bucket's values, for the pointer or the arrow keys. */
export function readout({ span, start, bucketMs, series, formatY = formatCount }: TimeChartProps, i: number): string {
  const values = series.map((s) => `${s.label} ${s.values[i] == null ? "—" : formatY(s.values[i] as number)}`);
  return [formatBucket(start + i * bucketMs, span), ...values].join(" · ");
}

/** The bucket read out: the pointer's, or moved with ←/→ (Home/End) while the chart has focus; Escape hides it. */
function useCursor(n: number) {
  const [cursor, setCursor] = useState<number | null>(null);
  const onKeyDown = (e: KeyboardEvent) => {
    const last = n - 1;
    const moves: Record<string, (c: number | null) => number | null> = {
      ArrowLeft: (c) => Math.max(0, (c ?? last + 1) - 1),
      ArrowRight: (c) => Math.min(last, (c ?? -1) + 1),
      Home: () => 0,
      End: () => last,
      Escape: () => null,
    };
    const move = moves[e.key];
    if (!move || n === 0) return;
    e.preventDefault();
    setCursor(move);
  };
  return { cursor, setCursor, onKeyDown };
}

function Legend({ series, formatY }: { series: ChartSeries[]; formatY: (v: number) => string }) {
  if (series.length < 2 && series.every((s) => s.limit == null)) return null;
  return (
    <ul className="flex flex-wrap gap-x-3 gap-y-1 font-mono text-[10.5px] text-muted">
      {series.map((s) => (
        <li key={s.key} className="flex items-center gap-1.5">
          <span aria-hidden className="inline-block h-0.5 w-3" style={{ background: s.color }} />
          {s.label}
          {s.limit != null && <span className="text-dim">/ {formatY(s.limit)}</span>}
        </li>
      ))}
    </ul>
  );
}

function Plot({ span, start, bucketMs, series, kind, formatY = formatCount, integer, width, cursor }: TimeChartProps & { width: number; cursor: number | null }) {
  const n = bucketCount(series);
  const innerW = Math.max(10, width - M.left - M.right);
  const innerH = HEIGHT - M.top - M.bottom;
  const x = time([new Date(start), new Date(start + n * bucketMs)], [M.left, M.left + innerW]);
  const highest = Math.max(1, ...series.flatMap((s) => [...s.values.map((v) => v ?? 0), s.limit ?? 0]));
  const y = linear([0, highest], [M.top + innerH, M.top], true);
  const mid = (i: number) => x(new Date(start + (i + 0.5) * bucketMs));
  return (
    <>
      {y.ticks(4).filter((t) => !integer || Number.isInteger(t)).map((t) => (
        <g key={`y${t}`}>
          <line x1={M.left} x2={M.left + innerW} y1={y(t)} y2={y(t)} style={{ stroke: "var(--color-line)" }} />
          <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="font-mono text-[10px]" style={{ fill: "var(--color-dim)" }}>
            {formatY(t)}
          </text>
        </g>
      ))}
      {x.ticks(Math.max(2, Math.floor(innerW / 90))).map((t) => (
        <text key={`x${t.getTime()}`} x={x(t)} y={HEIGHT - 6} textAnchor="middle" className="font-mono text-[10px]" style={{ fill: "var(--color-dim)" }}>
          {formatTick(t.getTime(), span)}
        </text>
      ))}
      {series.map((s) => (
        <g key={s.key} data-testid={`series-${s.key}`} data-points={s.values.filter((v) => v !== null).length}>
          {kind === "bar" ? (
            <Bars values={s.values} color={s.color} x={(i) => x(new Date(start + i * bucketMs))} w={innerW / Math.max(1, n)} y={y} />
          ) : (
            <SeriesPath values={s.values} color={s.color} dashed={s.dashed} area={kind === "area"} x={mid} y={y} />
          )}
          {s.limit != null && (
            <line x1={M.left} x2={M.left + innerW} y1={y(s.limit)} y2={y(s.limit)} strokeDasharray="5 4" strokeWidth={1} style={{ stroke: s.color, opacity: 0.7 }} />
          )}
        </g>
      ))}
      <line x1={M.left} x2={M.left + innerW} y1={M.top + innerH} y2={M.top + innerH} style={{ stroke: "var(--color-line-2)" }} />
      {cursor !== null && <line data-testid="cursor" x1={mid(cursor)} x2={mid(cursor)} y1={M.top} y2={M.top + innerH} style={{ stroke: "var(--color-muted)" }} />}
    </>
  );
}

type Scale = (v: number) => number;
type ValueScale = Linear;
const points = (values: Values) => values.map((v, i) => ({ i, v }));

function SeriesPath({ values, color, dashed, area, x, y }: { values: Values; color: string; dashed?: boolean; area: boolean; x: Scale; y: ValueScale }) {
  const data = points(values);
  const defined = (d: { v: number | null }) => d.v !== null;
  return (
    <>
      {area && (
        <Area data={data} x={(d) => x(d.i)} y0={y(0)} y1={(d) => y(d.v ?? 0)} defined={defined} style={{ fill: color, opacity: 0.18 }} />
      )}
      <LinePath
        data={data}
        x={(d) => x(d.i)}
        y={(d) => y(d.v ?? 0)}
        defined={defined}
        strokeWidth={1.6}
        strokeDasharray={dashed ? "4 3" : undefined}
        fill="none"
        style={{ stroke: color }}
      />
    </>
  );
}

function Bars({ values, color, x, w, y }: { values: Values; color: string; x: Scale; w: number; y: Scale }) {
  const base = y(0);
  return (
    <>
      {values.map((v, i) =>
        v !== null && v > 0 ? (
          <rect key={i} x={x(i) + w * 0.15} width={Math.max(1, w * 0.7)} y={y(v)} height={base - y(v)} style={{ fill: color }} />
        ) : null,
      )}
    </>
  );
}
