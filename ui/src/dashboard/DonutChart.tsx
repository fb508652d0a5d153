import { Pie } from "@visx/shape";
import { useState } from "react";
import { SLOT_STATUSES, type SlotStatus } from "../api/types";
import { STATUS_STYLES } from "../shared/status";
import type { Totals } from "./aggregate";

const SIZE = 184;
const OUTER = SIZE / 2;
const INNER = OUTER - 22;

/**
 * Status donut: one segment per status, total/max in the centre, hover for
 * exact counts. Segments change without a tween: with live traffic the
 * counts change every second or so, and a 0.9 s tween re-rendered the chart
 * on every frame most of the time.
 */
export function DonutChart({ totals }: { totals: Totals }) {
  const values = SLOT_STATUSES.map((s) => totals[s]);
  const [hovered, setHovered] = useState<SlotStatus | null>(null);
  const data = SLOT_STATUSES.map((status, i) => ({ status, value: values[i] ?? 0, count: values[i] ?? 0 }));
  const sum = data.reduce((a, d) => a + d.value, 0);
  const h = hovered ? data.find((d) => d.status === hovered) : null;

  return (
    <section aria-label="Slot status distribution" className="panel flex flex-col p-4" data-testid="donut">
      <span className="panel-title">Distribution</span>
      <div className="relative mx-auto mt-2" style={{ width: SIZE, height: SIZE }}>
        <svg width={SIZE} height={SIZE} role="img" aria-label={`${totals.total} of ${totals.maxSize} slots`}>
          <g transform={`translate(${OUTER},${OUTER})`}>
            <circle r={(OUTER + INNER) / 2} fill="none" stroke="currentColor" className="text-tint/5" strokeWidth={OUTER - INNER} />
            {sum > 0 && (
              <Pie data={data} pieValue={(d) => d.value} outerRadius={OUTER} innerRadius={INNER} padAngle={0.012} pieSort={null}>
                {(pie) =>
                  pie.arcs.map((arc) => (
                    <path
                      key={arc.data.status}
                      d={pie.path(arc) ?? undefined}
                      data-testid={`donut-segment-${arc.data.status}`}
                      data-count={arc.data.count}
                      opacity={hovered && hovered !== arc.data.status ? 0.35 : 1}
                      style={{ fill: STATUS_STYLES[arc.data.status].color, transition: "opacity 120ms" }}
                      onMouseEnter={() => setHovered(arc.data.status)}
                      onMouseLeave={() => setHovered(null)}
                    />
                  ))
                }
              </Pie>
            )}
          </g>
        </svg>
        <div className="pointer-events-none absolute inset-0 flex flex-col items-center justify-center">
          <div data-testid="donut-center" className="font-mono text-[24px] font-semibold leading-none tabular-nums">
            {totals.total}
            <span className="text-[15px] text-dim">/{totals.maxSize}</span>
          </div>
          <div className="mt-1 font-mono text-[10px] uppercase tracking-[0.16em] text-dim">created / max</div>
        </div>
        {h && (
          <div
            role="tooltip"
            data-testid="donut-tooltip"
            className="pointer-events-none absolute left-1/2 top-0 z-10 -translate-x-1/2 -translate-y-full whitespace-nowrap border border-line-2 bg-panel-2 px-2.5 py-1.5 font-mono text-[11px] shadow-xl"
          >
            <span className={STATUS_STYLES[h.status].text}>[{STATUS_STYLES[h.status].badge}]</span>{" "}
            <span className="font-semibold">{h.count}</span>
            <span className="text-dim"> of {totals.total} · {totals.total > 0 ? Math.round((h.count / totals.total) * 100) : 0}%</span>
          </div>
        )}
      </div>
      <ul className="mt-3 grid grid-cols-2 gap-x-4 gap-y-1 font-mono text-[11px]">
        {data.map((d) => (
          <li
            key={d.status}
            className="flex items-center justify-between gap-2"
            onMouseEnter={() => setHovered(d.status)}
            onMouseLeave={() => setHovered(null)}
            // The keyboard gets what hovering shows (the segment's share in the centre).
            tabIndex={0}
            onFocus={() => setHovered(d.status)}
            onBlur={() => setHovered(null)}
          >
            <span className="flex items-center gap-1.5 text-muted">
              <span className="size-2" style={{ background: STATUS_STYLES[d.status].color }} />
              {STATUS_STYLES[d.status].label}
            </span>
            <span className="tabular-nums">{d.count}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
