// The history view: what the pool did over the last hour, day or week.
import { useState } from "react";
import type { HistorySpan } from "../api/types";
import { usePoolStats } from "../dashboard/queries";
import { usePlatformsOverview } from "../infrastructure/queries";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { HistoryCharts, type Limits } from "./HistoryCharts";
import { useHistory } from "./queries";
import { isEmptyHistory, SPANS } from "./series";

export function HistoryPage() {
  const [span, setSpan] = useState<HistorySpan>("hour");
  const history = useHistory(span);
  const platforms = usePlatformsOverview();
  const stats = usePoolStats();
  const platformLimits: Limits = Object.fromEntries((platforms.data?.platforms ?? []).map((p) => [p.settings.platform, p.settings.botLimit]));
  const poolLimits: Limits = Object.fromEntries((stats.data ?? []).map((s) => [s.pool, s.maxSize]));
  const label = SPANS.find((s) => s.id === span)?.label.toLowerCase() ?? span;
  return (
    <div className="flex flex-col">
      <PageHeader title="History" subtitle="Utilisation, queue, waits and deploy failures over time (local time)">
        <SpanSwitch value={span} onChange={setSpan} />
      </PageHeader>
      <div className="flex flex-col gap-4 p-6">
        <QueryState query={history} errorTitle="Could not load the history" loading={<p data-testid="history-loading">Loading the {label}…</p>}>
          {(h) =>
            isEmptyHistory(h) ? (
              <div data-testid="history-empty" className="panel px-6 py-10 text-center">
                <p className="text-[14px] text-fg">No history for the {label} yet</p>
                <p className="mt-1 text-muted">No slot held a bot, no bot waited or failed to deploy in this window.</p>
              </div>
            ) : (
              <div aria-busy={history.isPlaceholderData} className={history.isPlaceholderData ? "opacity-50 transition-opacity" : "transition-opacity"}>
                <HistoryCharts history={h} platformLimits={platformLimits} poolLimits={poolLimits} />
              </div>
            )
          }
        </QueryState>
      </div>
    </div>
  );
}

/** Last hour / day / week, as a segmented radio group. */
export function SpanSwitch({ value, onChange }: { value: HistorySpan; onChange: (span: HistorySpan) => void }) {
  return (
    <div role="radiogroup" aria-label="Time span" className="flex border border-line-2 bg-bg">
      {SPANS.map((s) => {
        const active = s.id === value;
        return (
          <button
            key={s.id}
            type="button"
            role="radio"
            aria-checked={active}
            onClick={() => onChange(s.id)}
            className={`border-r border-line-2 px-3 py-1.5 font-mono text-[11.5px] last:border-r-0 ${
              active ? "bg-accent/15 text-accent" : "text-muted hover:bg-white/5 hover:text-fg"
            }`}
          >
            {s.label}
          </button>
        );
      })}
    </div>
  );
}
