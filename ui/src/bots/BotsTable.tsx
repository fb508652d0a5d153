import { memo, useEffect, useMemo } from "react";
import { BotMenu } from "../actions/BotMenu";
import type { BotRow } from "../bindings";
import { useRowCursor } from "../keyboard/tableCursor";
import { formatDuration, formatTimestamp, meetingLabel, platformLabel } from "../shared/format";
import { usePageVirtualizer } from "../shared/pageVirtualizer";
import { SlotName } from "../shared/SlotName";
import { BotStatusBadge } from "./BotStatusBadge";
import { botLayout, HEADER_HEIGHT, ROW_HEIGHT, type BotLayout } from "./columns";
import { PAGE_SIZE } from "./filter";

/** Rows from the end at which the next page is asked for. */
const PREFETCH_ROWS = 40;
/** Back above this row with more than a page loaded: the pages below are let go. */
const TRIM_ABOVE = PAGE_SIZE - 2 * PREFETCH_ROWS;

/**
 * The bots loaded so far, virtualised (only the rows in view are in the
 * page). Scrolling (or j) near the end asks for the next page
 * (`onNearEnd`); back near the top with more than a page loaded,
 * `onBackAtTop` (the pages below are dropped, so a live refresh refetches
 * one page, not every page scrolled through). j/k move the highlight,
 * Enter or a click opens the bot.
 */
export function BotsTable({
  rows,
  openId,
  onOpen,
  onNearEnd,
  onBackAtTop,
  loadingMore,
  empty,
}: {
  rows: BotRow[];
  openId: number | null;
  onOpen: (id: number) => void;
  onNearEnd: () => void;
  onBackAtTop: () => void;
  loadingMore: boolean;
  empty: string;
}) {
  const { root, scrollRef, listRef, virtualizer } = usePageVirtualizer(rows.length, ROW_HEIGHT, HEADER_HEIGHT);
  const cursor = useRowCursor({
    count: rows.length,
    describe: (i) => ({ kind: "bot", botId: rows[i]!.id }),
    onOpen: (i) => onOpen(rows[i]!.id),
    reveal: (i) => virtualizer.scrollToIndex(i),
  });
  const layout = useMemo(() => botLayout(openId !== null), [openId]);
  const items = virtualizer.getVirtualItems();
  const lastShown = Math.max(items[items.length - 1]?.index ?? -1, cursor.cursor ?? -1);
  usePagingEdges(rows.length, lastShown, onNearEnd, onBackAtTop);

  return (
    <div
      ref={scrollRef}
      role="table"
      aria-label="Bots"
      aria-rowcount={rows.length + 1}
      data-testid="bots-scroll"
      className={root ? "relative" : "relative h-[480px] overflow-auto"}
    >
      <BotsHeader layout={layout} />
      {rows.length === 0 ? (
        <div className="px-4 py-10 text-center text-muted">{empty}</div>
      ) : (
        <div ref={listRef} className="relative" style={{ height: virtualizer.getTotalSize(), minWidth: layout.minWidth }}>
          {items.map((item) => {
            const bot = rows[item.index]!;
            return (
              <BotTableRow
                key={bot.id}
                bot={bot}
                index={item.index}
                top={item.start - virtualizer.options.scrollMargin}
                open={openId === bot.id}
                layout={layout}
                onOpen={onOpen}
                extra={cursor.rowProps(item.index)}
              />
            );
          })}
        </div>
      )}
      {loadingMore && <div className="px-4 py-2 text-center text-[12px] text-muted">Loading more bots…</div>}
    </div>
  );
}

/** Asks for the next page near the end of `count` rows; lets the lower pages go back near the top. */
function usePagingEdges(count: number, lastShown: number, onNearEnd: () => void, onBackAtTop: () => void) {
  const nearEnd = count > 0 && lastShown >= count - PREFETCH_ROWS;
  useEffect(() => {
    if (nearEnd) onNearEnd();
  }, [nearEnd, count, onNearEnd]);
  const backAtTop = count > PAGE_SIZE && lastShown >= 0 && lastShown < TRIM_ABOVE;
  useEffect(() => {
    if (backAtTop) onBackAtTop();
  }, [backAtTop, onBackAtTop]);
}

/** The sticky header row. */
function BotsHeader({ layout }: { layout: BotLayout }) {
  return (
    <div
      role="row"
      className="sticky top-0 z-10 grid items-center gap-x-1.5 border-b border-line bg-panel-2 px-3 text-[10.5px] font-semibold uppercase tracking-[0.14em] text-dim"
      style={{ gridTemplateColumns: layout.grid, height: HEADER_HEIGHT, minWidth: layout.minWidth }}
    >
      {layout.columns.map((c) => (
        <div key={c.key} role="columnheader" className={c.align === "right" ? "text-right" : ""}>
          {c.label}
        </div>
      ))}
    </div>
  );
}

/** One bot: id, status, pool, meeting, infrastructure (pin), slot, queue position, wait, priority, created, error, actions. */
const BotTableRow = memo(function BotTableRow({
  bot,
  index,
  top,
  open,
  layout,
  onOpen,
  extra,
}: {
  bot: BotRow;
  index: number;
  top: number;
  open: boolean;
  layout: BotLayout;
  onOpen: (id: number) => void;
  extra: Record<string, string | undefined>;
}) {
  return (
    <div
      {...extra}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={open}
      data-testid="bot-row"
      data-bot-id={bot.id}
      onClick={() => onOpen(bot.id)}
      className={`absolute inset-x-0 grid cursor-pointer items-center gap-x-1.5 border-b border-line/60 px-3 font-mono text-[12px] ${
        open ? "bg-accent/10" : "hover:bg-tint/[0.03]"
      }`}
      style={{ gridTemplateColumns: layout.grid, height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <div role="cell" className="text-accent">
        #{bot.id}
      </div>
      <div role="cell" className="min-w-0 overflow-hidden">
        <BotStatusBadge status={bot.status} />
      </div>
      {layout.shows("pool") && (
        <div role="cell" className="truncate text-muted">
          {bot.pool}
        </div>
      )}
      <div role="cell" className="truncate" title={bot.displayName ? `${bot.displayName}\n${bot.meetingUrl}` : bot.meetingUrl}>
        <span className="text-muted">{meetingLabel(bot.meetingPlatform)}</span> <span className="text-dim">{bot.meetingUrl}</span>
      </div>
      <InfraCell bot={bot} />
      {layout.shows("slot") && (
        <div role="cell" className="min-w-0">
          {bot.slotName ? <SlotName name={bot.slotName} /> : <span className="text-dim">—</span>}
        </div>
      )}
      <div role="cell" className="text-right tabular-nums">
        {bot.queuePosition === null ? <span className="text-dim">—</span> : `#${bot.queuePosition}`}
      </div>
      {layout.shows("wait") && (
        <div role="cell" className={`text-right tabular-nums ${bot.status === "QUEUED" ? "text-busy" : "text-muted"}`}>
          {bot.waitMs === null ? <span className="text-dim">—</span> : formatDuration(bot.waitMs)}
        </div>
      )}
      {layout.shows("priority") && (
        <div role="cell" className="truncate text-right tabular-nums text-muted" title={`priority ${bot.priority}`}>
          {bot.tier ?? bot.priority}
        </div>
      )}
      {layout.shows("created") && (
        <div role="cell" className="text-muted" title={formatTimestamp(bot.createdAt)}>
          {formatTimestamp(bot.createdAt).slice(5, 16)}
        </div>
      )}
      {layout.shows("error") && (
        <div role="cell" className={`truncate ${bot.error ? "text-error" : "text-dim"}`} title={bot.error ?? undefined}>
          {bot.error ?? "—"}
        </div>
      )}
      <div role="cell" onClick={(e) => e.stopPropagation()}>
        <BotMenu botId={bot.id} priority={bot.priority} status={bot.status} />
      </div>
    </div>
  );
});

/** Where the bot runs or ran (reference 004's "Infra"), marked when an operator pinned it. */
function InfraCell({ bot }: { bot: BotRow }) {
  return (
    <div role="cell" className="flex items-center gap-1" title={bot.pinnedPlatform ? `pinned to ${platformLabel(bot.pinnedPlatform)}` : undefined}>
      {bot.deploymentPlatform ? <span className="badge border-line-2 text-fg">{platformLabel(bot.deploymentPlatform)}</span> : <span className="text-dim">—</span>}
      {bot.pinnedPlatform && (
        <span className="text-[10px] text-busy" aria-label={`pinned to ${platformLabel(bot.pinnedPlatform)}`}>
          ⌖
        </span>
      )}
    </div>
  );
}
