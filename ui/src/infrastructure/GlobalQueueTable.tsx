import { BotMenu } from "../actions/BotMenu";
import { memo, useState } from "react";
import type { QueueEntry, QueueSnapshot } from "../api/types";
import { BotLink } from "../bots/BotLink";
import { URGENT_MS } from "../dashboard/QueueSection";
import { useRowCursor } from "../keyboard/tableCursor";
import { useNow } from "../shared/clock";
import { formatCountdown, formatDuration, meetingLabel, platformLabel } from "../shared/format";
import { usePageVirtualizer } from "../shared/pageVirtualizer";

/** Height of one row and of the sticky header, in pixels (the body is virtualised). */
const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 32;
const GRID = "56px minmax(150px,1.4fr) minmax(110px,1fr) minmax(100px,1fr) 48px 90px 90px";
const HEADERS = ["Pos", "Bot", "Meeting platform", "Waiting on", "Tier", "Queued for", "Timeout in"];

/**
 * Every waiting bot, filterable; the body is virtualised (only the rows in
 * view are in the page, and only they re-render on the clock's tick), so
 * 10,000 waiting bots cost what 30 do.
 */
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
  const { root, scrollRef, listRef, virtualizer } = usePageVirtualizer(entries.length, ROW_HEIGHT, HEADER_HEIGHT);
  // j/k walk the waiting bots; Enter shows the highlighted one's decision trace.
  const cursor = useRowCursor({
    count: entries.length,
    describe: (i) => ({ kind: "bot", botId: entries[i]!.botId }),
    onOpen: (i) => onSelect(entries[i]!.botId),
    reveal: (i) => virtualizer.scrollToIndex(i),
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
        <div ref={scrollRef} role="table" aria-label="Waiting bots" aria-rowcount={entries.length + 1} className={`font-mono text-[12px] ${root ? "relative" : "relative h-[480px] overflow-auto"}`}>
          <div
            role="row"
            className="sticky top-0 z-10 grid items-center gap-x-2 border-b border-line bg-panel px-4 text-left text-[10.5px] font-semibold uppercase tracking-[0.14em] text-dim"
            style={{ gridTemplateColumns: GRID, height: HEADER_HEIGHT }}
          >
            {HEADERS.map((h, i) => (
              <div key={h} role="columnheader" className={i === HEADERS.length - 1 ? "text-right" : ""}>
                {h}
              </div>
            ))}
          </div>
          <div ref={listRef} className="relative" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const e = entries[item.index]!;
              return (
                <QueueRow
                  key={e.id}
                  entry={e}
                  index={item.index}
                  top={item.start - virtualizer.options.scrollMargin}
                  serverNow={serverNow}
                  selected={selected === e.botId}
                  onSelect={onSelect}
                  extra={cursor.rowProps(item.index)}
                />
              );
            })}
          </div>
        </div>
      )}
    </section>
  );
}

/** One waiting bot: position, bot (selects its trace), meeting platform, platform waited on, priority, wait, timeout. */
const QueueRow = memo(function QueueRow({
  entry: e,
  index,
  top,
  serverNow,
  selected,
  onSelect,
  extra,
}: {
  entry: QueueEntry;
  index: number;
  top: number;
  serverNow: number;
  selected: boolean;
  onSelect: (botId: number) => void;
  /** The keyboard cursor's marks. */
  extra: Record<string, string | undefined>;
}) {
  const remaining = Date.parse(e.timeoutAt) - serverNow;
  const urgent = remaining < URGENT_MS;
  return (
    <div
      {...extra}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      onClick={() => onSelect(e.botId)}
      className={`absolute inset-x-0 grid cursor-pointer items-center gap-x-2 border-b border-line/60 px-4 ${selected ? "bg-accent/10" : "hover:bg-tint/[0.03]"}`}
      style={{ gridTemplateColumns: GRID, height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <div role="cell" className="text-dim">
        #{e.position}
      </div>
      <div role="cell" className="flex min-w-0 items-center">
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
      </div>
      <div role="cell" className="truncate text-muted">
        {meetingLabel(e.meetingPlatform)}
      </div>
      <div role="cell" className="truncate text-muted">
        {e.waitingOn ? platformLabel(e.waitingOn) : "all (global)"}
      </div>
      <div role="cell" className="truncate tabular-nums" title={`priority ${e.priority}`}>
        {e.tier ?? e.priority}
        {e.agedAt !== null && Date.parse(e.agedAt) <= serverNow && <span className="ml-1 text-busy">aged</span>}
      </div>
      <div role="cell" className="tabular-nums">
        {formatDuration(serverNow - Date.parse(e.queuedAt))}
      </div>
      <div role="cell" className={`text-right tabular-nums ${urgent ? "font-semibold text-error" : ""}`} data-urgent={urgent}>
        {remaining <= 0 ? "expired" : formatCountdown(remaining)}
      </div>
    </div>
  );
});
