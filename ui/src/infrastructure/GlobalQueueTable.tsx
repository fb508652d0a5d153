import { BotMenu } from "../actions/BotMenu";
import { useState } from "react";
import type { QueueEntry, QueueSnapshot } from "../api/types";
import { BotLink } from "../bots/BotLink";
import { URGENT_MS } from "../dashboard/QueueSection";
import { useRowCursor } from "../keyboard/tableCursor";
import { useNow } from "../shared/clock";
import { formatCountdown, formatDuration, meetingLabel, platformLabel } from "../shared/format";

export function GlobalQueueTable({
  snapshot,
  receivedAt,
  selected,
  onSelect,
}: {
  snapshot: QueueSnapshot | undefined;
  receivedAt: number;
  selected: number | null;
  onSelect: (botId: number) => void;
}) {
  const now = useNow();
  const [filter, setFilter] = useState("");
  const all = snapshot?.entries ?? [];
  const q = filter.trim().toLowerCase().replace(/^#/, "");
  const entries = q === "" ? all : all.filter((e) => [String(e.botId), e.pool, meetingLabel(e.meetingPlatform)].some((s) => s.toLowerCase().includes(q)));
  const serverNow = snapshot ? now + (Date.parse(snapshot.now) - receivedAt) : now;
  // j/k walk the waiting bots; Enter shows the highlighted one's decision trace.
  const cursor = useRowCursor({
    count: entries.length,
    describe: (i) => ({ kind: "bot", botId: entries[i]!.botId }),
    onOpen: (i) => onSelect(entries[i]!.botId),
  });
  return (
    <section aria-label="Global queue" className="panel">
      <div className="flex items-center justify-between gap-3 border-b border-line px-4 py-2.5">
        <h2 className="panel-title">
          Global queue <span className="text-fg">({entries.length === all.length ? all.length : `${entries.length} of ${all.length}`})</span>
        </h2>
        <input
          type="search"
          aria-label="Filter the queue"
          placeholder="Filter the queue   /"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-view-filter
          className="input ml-auto w-52"
        />
        <span className="text-[11px] text-dim">Select a bot to see its routing decisions</span>
      </div>
      {entries.length === 0 ? (
        <div className="px-4 py-6 text-center text-muted">{all.length === 0 ? "No bots waiting." : "No waiting bot matches."}</div>
      ) : (
        <table className="w-full font-mono text-[12px]">
          <thead>
            <tr className="border-b border-line text-left text-[10.5px] uppercase tracking-[0.14em] text-dim">
              <th className="px-4 py-2 font-semibold">Pos</th>
              <th className="py-2 font-semibold">Bot</th>
              <th className="py-2 font-semibold">Meeting platform</th>
              <th className="py-2 font-semibold">Waiting on</th>
              <th className="py-2 font-semibold">Prio</th>
              <th className="py-2 font-semibold">Queued for</th>
              <th className="py-2 pr-4 text-right font-semibold">Timeout in</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <QueueRow key={e.id} entry={e} serverNow={serverNow} selected={selected === e.botId} onSelect={onSelect} extra={cursor.rowProps(i)} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One waiting bot: position, bot (selects its trace), meeting platform, platform waited on, priority, wait, timeout. */
function QueueRow({
  entry: e,
  serverNow,
  selected,
  onSelect,
  extra,
}: {
  entry: QueueEntry;
  serverNow: number;
  selected: boolean;
  onSelect: (botId: number) => void;
  /** The keyboard cursor's marks. */
  extra: Record<string, string | undefined>;
}) {
  const remaining = Date.parse(e.timeoutAt) - serverNow;
  const urgent = remaining < URGENT_MS;
  return (
    <tr
      {...extra}
      aria-selected={selected}
      onClick={() => onSelect(e.botId)}
      className={`cursor-pointer border-b border-line/60 ${selected ? "bg-accent/10" : "hover:bg-tint/[0.03]"}`}
    >
      <td className="px-4 py-1.5 text-dim">#{e.position}</td>
      <td className="py-1.5">
        <button
          type="button"
          className="text-accent hover:underline"
          onClick={(ev) => {
            ev.stopPropagation();
            onSelect(e.botId);
          }}
        >
          Bot #{e.botId}
        </button>
        <BotLink id={e.botId} className="px-1 text-dim">
          ↗
        </BotLink>
        <BotMenu botId={e.botId} priority={e.priority} />
      </td>
      <td className="py-1.5 text-muted">{meetingLabel(e.meetingPlatform)}</td>
      <td className="py-1.5 text-muted">{e.waitingOn ? platformLabel(e.waitingOn) : "all (global)"}</td>
      <td className="py-1.5 tabular-nums">{e.priority}</td>
      <td className="py-1.5 tabular-nums">{formatDuration(serverNow - Date.parse(e.queuedAt))}</td>
      <td className={`py-1.5 pr-4 text-right tabular-nums ${urgent ? "font-semibold text-error" : ""}`} data-urgent={urgent}>
        {remaining <= 0 ? "expired" : formatCountdown(remaining)}
      </td>
    </tr>
  );
}
