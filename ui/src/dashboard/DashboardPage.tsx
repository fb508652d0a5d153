import { useMemo, useState } from "react";
import type { PoolStats } from "../api/types";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import { usePlatformsOverview, useQueue } from "../infrastructure/queries";
import { usePoolStats, useSlots } from "./queries";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { useFirstMark } from "../shared/startupMarks";
import { totalsOf } from "./aggregate";
import { DonutChart } from "./DonutChart";
import { idleBreakdown } from "./idleReasons";
import { HistorySparklines } from "./HistorySparklines";
import { PoolSelector } from "./PoolSelector";
import { QueueIdle, QueueSection } from "./QueueSection";
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
  // Which idle slots a waiting bot can take (its pool, a platform with room).
  const platforms = usePlatformsOverview();
  const idle = useMemo(() => {
    const waiting = (queue.data?.entries ?? []).filter((e) => selected === null || e.pool === selected);
    return idleBreakdown(slots.data ?? [], waiting, platforms.data?.platforms);
  }, [slots.data, queue.data, selected, platforms.data]);
  // One notice for the page: the first of its queries' errors.
  const error = stats.error ?? queue.error ?? slots.error;
  usePoolCommands(all, setPool);
  useFirstMark("berth:numbers", stats.data !== undefined);
  useFirstMark("berth:slots", (slots.data?.length ?? 0) > 0);

  return (
    <div className="flex flex-col">
      <PageHeader title="Pool Management" subtitle="Monitor bot pool capacity and deployment queue">
        <PoolSelector stats={all} value={selected} onChange={setPool} />
      </PageHeader>
      <div className="flex flex-col gap-4 p-6">
        <QueryState query={{ error }} errorTitle="Could not load pool data" />
        <div className="grid grid-cols-[minmax(0,1fr)_300px] gap-3">
          <StatsCards totals={totals} idle={slots.data ? idle : undefined} />
          <DonutChart totals={totals} />
        </div>
        <HistorySparklines pool={selected} />
        {/* Bots waiting, or the same box empty: the table below never jumps. */}
        {idle.queued > 0 ? <QueueSection snapshot={queue.data} receivedAt={queue.dataUpdatedAt} pool={selected} /> : <QueueIdle />}
        <SlotsTable slots={slots.data ?? []} loading={slots.isPending} />
      </div>
    </div>
  );
}

/** The palette's pool choices (the header's pool selector). */
function usePoolCommands(stats: PoolStats[], setPool: (pool: string | null) => void) {
  const names = stats.map((s) => s.pool).join("\n");
  const commands = useMemo(
    (): CommandSpec[] =>
      names === ""
        ? []
        : [
            { id: "dashboard.pool.all", group: "Dashboard", title: "Show all pools", keywords: ["pool", "filter"], run: () => setPool(null) },
            ...names.split("\n").map(
              (name): CommandSpec => ({ id: `dashboard.pool.${name}`, group: "Dashboard", title: `Show pool ${name}`, keywords: ["pool", "filter"], run: () => setPool(name) }),
            ),
          ],
    [names, setPool],
  );
  useCommands(commands);
}
