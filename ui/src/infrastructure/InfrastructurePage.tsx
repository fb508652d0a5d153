import { AuditLogPanel } from "../audit/AuditLogPanel";
import { useMemo, useState } from "react";
import { peekIntent, useIntentTaken } from "../keyboard/intents";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import { usePlatformsOverview, useQueue, useQueueStats } from "./queries";
import { formatDuration } from "../shared/format";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { DecisionTrace } from "./DecisionTrace";
import { GlobalQueueTable } from "./GlobalQueueTable";
import { PlatformSection } from "./PlatformSection";

export function InfrastructurePage() {
  const overview = usePlatformsOverview();
  const queue = useQueue();
  const queueStats = useQueueStats();
  // A command run from another view may have asked for a bot's trace.
  const [botId, setBotId] = useState<number | null>(() => peekIntent("infrastructure")?.botId ?? null);
  useIntentTaken("infrastructure");
  const qs = queueStats.data;
  useTraceCommands(queue.data?.entries.map((e) => e.botId) ?? [], botId, setBotId);
  return (
    <div className="flex flex-col">
      <PageHeader title="Infrastructure" subtitle="Deployment platforms in priority order, their capacity, health and the global queue">
        {qs && qs.length > 0 && (
          <span className="badge border-busy/40 bg-busy/10 text-busy" data-testid="queue-badge">
            Queue: {qs.length} bot{qs.length === 1 ? "" : "s"} waiting
          </span>
        )}
      </PageHeader>
      <div className="grid grid-cols-[minmax(0,1fr)_340px] gap-4 p-6">
        <div className="flex min-w-0 flex-col gap-3">
          <QueryState query={overview} errorTitle="Could not load platforms" loading="Loading platforms…">
            {(o) => (
              <>
                {[...o.platforms]
                  .sort((a, b) => a.settings.position - b.settings.position)
                  .map((p, i) => (
                    <PlatformSection key={p.settings.platform} overview={p} rank={i + 1} />
                  ))}
                <div className="font-mono text-[11px] text-dim">
                  Global queue timeout {formatDuration(o.globalQueueTimeoutMs)}
                  {o.globalQueueTimeoutPinnedBy ? ` (pinned by ${o.globalQueueTimeoutPinnedBy})` : ""}
                  {qs ? ` · avg wait ${formatDuration(qs.avgWaitMs)} · ${(qs.releasesPerMinute ?? 0).toFixed(1)} releases/min` : ""}
                </div>
              </>
            )}
          </QueryState>
          <GlobalQueueTable
            snapshot={queue.data}
            receivedAt={queue.dataUpdatedAt}
            selected={botId}
            onSelect={(id) => setBotId((cur) => (cur === id ? null : id))}
          />
          <QueryState query={queue} errorTitle="Could not load the queue" />
          <AuditLogPanel />
        </div>
        <DecisionTrace botId={botId} onClose={() => setBotId(null)} />
      </div>
    </div>
  );
}

/** The palette's "decision trace of bot #N" per waiting bot, and closing it. */
function useTraceCommands(botIds: number[], open: number | null, setBotId: (id: number | null) => void) {
  const key = botIds.join(",");
  const commands = useMemo((): CommandSpec[] => {
    const ids = key === "" ? [] : key.split(",").map(Number);
    const list = ids.map(
      (id): CommandSpec => ({ id: `trace.${id}`, group: "Infrastructure", title: `Show the decision trace of bot #${id}`, keywords: ["queue", "routing"], run: () => setBotId(id) }),
    );
    if (open !== null) list.unshift({ id: "trace.close", group: "Infrastructure", title: "Close the decision trace", run: () => setBotId(null) });
    return list;
  }, [key, open, setBotId]);
  useCommands(commands);
}
