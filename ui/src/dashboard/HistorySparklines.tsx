// The dashboard's last hour: slots in use, queue length and p95 wait as
// sparklines under the stats cards (from the same history query as the
// History view, so it refreshes throttled, not on every event).
import type { History } from "../api/types";
import { useHistory } from "../history/queries";
import { formatCount, formatSeconds, peakSummary, sumSeries, type Values } from "../history/series";
import { Sparkline } from "../history/Sparkline";

interface Line {
  id: string;
  title: string;
  values: Values;
  format: (v: number) => string;
  color: string;
}

function linesOf(h: History | undefined, pool: string | null): Line[] {
  const busy = !h ? [] : pool === null ? sumSeries(h.busyByPool.map((s) => s.values)) : (h.busyByPool.find((s) => s.key === pool)?.values ?? []);
  return [
    { id: "busy", title: pool === null ? "Slots in use" : `Slots in use · ${pool}`, values: busy, format: formatCount, color: "var(--color-busy)" },
    { id: "queue", title: "Queue length", values: h?.queueLength ?? [], format: formatCount, color: "var(--color-accent)" },
    { id: "wait", title: "p95 wait", values: h?.waitP95 ?? [], format: formatSeconds, color: "var(--color-deploying)" },
  ];
}

/** The latest value that is not a gap. */
function latest(values: Values): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i] as number;
  return null;
}

/** Three sparklines of the last hour; `pool` narrows the slots line to one pool (null: all). */
export function HistorySparklines({ pool }: { pool: string | null }) {
  const { data } = useHistory("hour");
  return (
    <section aria-label="Last hour" data-testid="sparklines" className="grid grid-cols-3 gap-3">
      {linesOf(data, pool).map((l) => {
        const now = latest(l.values);
        const summary = data ? `${l.title}, last hour: latest ${now === null ? "none" : l.format(now)}, ${peakSummary(data, l.values, l.format)}` : `${l.title}: loading`;
        return (
          <div key={l.id} className="panel flex flex-col gap-1.5 px-4 py-3">
            <div className="flex items-baseline justify-between gap-2">
              <span className="panel-title">{l.title}</span>
              <span data-testid={`spark-${l.id}-now`} className="font-mono text-[13px] tabular-nums text-fg">
                {now === null ? "—" : l.format(now)}
              </span>
            </div>
            <Sparkline values={l.values} color={l.color} label={summary} testId={`spark-${l.id}`} />
            <span className="font-mono text-[10px] text-dim">last hour</span>
          </div>
        );
      })}
    </section>
  );
}
