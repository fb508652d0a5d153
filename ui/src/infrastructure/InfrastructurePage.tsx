import { useState } from "react";
import { usePlatformsOverview, useQueue, useQueueStats } from "./queries";
import { ErrorNotice } from "../shared/ErrorNotice";
import { formatDuration } from "../shared/format";
import { PageHeader } from "../shared/PageHeader";
import { DecisionTrace } from "./DecisionTrace";
import { GlobalQueueTable } from "./GlobalQueueTable";
import { PlatformSection } from "./PlatformSection";

export function InfrastructurePage() {
  const overview = usePlatformsOverview();
  const queue = useQueue();
  const queueStats = useQueueStats();
  const [botId, setBotId] = useState<number | null>(null);
  const platforms = [...(overview.data?.platforms ?? [])].sort((a, b) => a.settings.position - b.settings.position);
  const qs = queueStats.data;
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
          {overview.error && <ErrorNotice error={overview.error} title="Could not load platforms" />}
          {overview.isPending && <div className="text-muted">Loading platforms…</div>}
          {platforms.map((p, i) => (
            <PlatformSection key={p.settings.platform} overview={p} rank={i + 1} />
          ))}
          {overview.data && (
            <div className="font-mono text-[11px] text-dim">
              Global queue timeout {formatDuration(overview.data.globalQueueTimeoutMs)}
              {overview.data.globalQueueTimeoutPinnedBy ? ` (pinned by ${overview.data.globalQueueTimeoutPinnedBy})` : ""}
              {qs ? ` · avg wait ${formatDuration(qs.avgWaitMs)} · ${(qs.releasesPerMinute ?? 0).toFixed(1)} releases/min` : ""}
            </div>
          )}
          <GlobalQueueTable
            snapshot={queue.data}
            receivedAt={queue.dataUpdatedAt}
            selected={botId}
            onSelect={(id) => setBotId((cur) => (cur === id ? null : id))}
          />
          {queue.error && <ErrorNotice error={queue.error} title="Could not load the queue" />}
        </div>
        <DecisionTrace botId={botId} onClose={() => setBotId(null)} />
      </div>
    </div>
  );
}
