import { useState } from "react";
import { useQueue } from "../infrastructure/queries";
import { usePoolStats, useSlots } from "./queries";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { totalsOf } from "./aggregate";
import { DonutChart } from "./DonutChart";
import { HistorySparklines } from "./HistorySparklines";
import { PoolSelector } from "./PoolSelector";
import { QueueSection } from "./QueueSection";
import { SlotsTable } from "./SlotsTable";
import { StatsCards } from "./StatsCards";

export function DashboardPage() {
  const [pool, setPool] = useState<string | null>(null);
  const stats = usePoolStats();
  const queue = useQueue();
  const all = stats.data ?? [];
  // A pool that disappeared falls back to "all pools".
  const selected = pool !== null && all.some((s) => s.pool === pool) ? pool : null;
  const slots = useSlots(selected);
  const totals = totalsOf(all, selected);
  // One notice for the page: the first of its queries' errors.
  const error = stats.error ?? queue.error ?? slots.error;

  return (
    <div className="flex flex-col">
      <PageHeader title="Pool Management" subtitle="Monitor bot pool capacity and deployment queue">
        <PoolSelector stats={all} value={selected} onChange={setPool} />
      </PageHeader>
      <div className="flex flex-col gap-4 p-6">
        <QueryState query={{ error }} errorTitle="Could not load pool data" />
        <div className="grid grid-cols-[minmax(0,1fr)_300px] gap-3">
          <StatsCards totals={totals} />
          <DonutChart totals={totals} />
        </div>
        <HistorySparklines pool={selected} />
        <QueueSection snapshot={queue.data} receivedAt={queue.dataUpdatedAt} pool={selected} />
        <SlotsTable slots={slots.data ?? []} loading={slots.isPending} />
      </div>
    </div>
  );
}
