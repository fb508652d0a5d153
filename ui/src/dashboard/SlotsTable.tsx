import type { Virtualizer } from "@tanstack/react-virtual";
import { useMemo } from "react";
import { SLOT_STATUSES, type Slot, type SlotStatus } from "../api/types";
import { focusViewFilter } from "../keyboard/KeyboardLayer";
import { openPalette, useCommands, type CommandSpec } from "../keyboard/registry";
import { useRowCursor } from "../keyboard/tableCursor";
import { usePageVirtualizer } from "../shared/pageVirtualizer";
import { STATUS_STYLES } from "../shared/status";
import { SlotRow } from "./slots/SlotRow";
import { SlotsHeader } from "./slots/SlotsHeader";
import { BulkBar, useSlotSelection } from "./slots/selection";
import { HEADER_HEIGHT, MIN_ROW_WIDTH, ROW_HEIGHT, useSlotsView } from "./slots/slotsView";
import { StatusFilter } from "./slots/StatusFilter";

export { ROW_HEIGHT } from "./slots/slotsView";

/**
 * Every slot of the selected pools, searchable, filterable by status and
 * sortable by any column; the body is virtualised. In the app it scrolls
 * with the page (one scroll area, the header sticky); alone (no scroll
 * root) it scrolls in a box of its own.
 */
export function SlotsTable({ slots, loading = false }: { slots: Slot[]; loading?: boolean }) {
  const view = useSlotsView(slots);
  const { rows } = view;
  // Here, not in SlotRows: the scroll element's ref is attached only after its children's effects run.
  const { root, scrollRef, listRef, virtualizer } = usePageVirtualizer(rows.length, ROW_HEIGHT, HEADER_HEIGHT);
  // j/k walk the rows; Enter opens the palette over the highlighted slot (its actions).
  const cursor = useRowCursor({
    count: rows.length,
    describe: (i) => ({ kind: "slot", slot: rows[i]! }),
    onOpen: openPalette,
    reveal: (i) => virtualizer.scrollToIndex(i),
  });
  useSlotsCommands(view.setStatuses);
  const selection = useSlotSelection(slots, rows);

  return (
    <section aria-label="Pool slots" className="panel flex min-h-0 min-w-fit flex-col">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-line px-4 py-2.5">
        <h2 className="panel-title">
          Pool slots{" "}
          <span className="text-fg" data-testid="slots-count">
            ({rows.length === slots.length ? slots.length : `${rows.length} of ${slots.length}`})
          </span>
        </h2>
        <div className="flex flex-wrap items-center gap-2">
          <BulkBar selected={selection.selected} onClear={selection.clear} />
          <input
            type="search"
            aria-label="Search slots"
            placeholder="Search name, bot, UUID, error"
            value={view.search}
            onChange={(e) => view.setSearch(e.target.value)}
            data-view-filter
            className="input w-64"
          />
          <StatusFilter selected={view.statuses} counts={view.counts} onChange={view.setStatuses} />
        </div>
      </div>
      <div
        ref={scrollRef}
        data-testid="slots-scroll"
        role="table"
        aria-label="Slots"
        aria-rowcount={rows.length + 1}
        className={root ? "relative" : "relative h-[480px] overflow-auto"}
      >
        <SlotsHeader sort={view.sort} onSort={view.toggleSort} allChecked={selection.allChecked} onCheckAll={selection.checkAll} />
        {rows.length === 0 ? (
          <div className="px-4 py-10 text-center text-muted">{loading ? "Loading slots…" : "No slots match."}</div>
        ) : (
          <SlotRows rows={rows} virtualizer={virtualizer} rowProps={cursor.rowProps} listRef={listRef} checked={selection.names} onCheck={selection.onCheck} />
        )}
      </div>
    </section>
  );
}

/**
 * The visible rows, only those scrolled into view (plus an overscan)
 * rendered. Each row element is reused for the row that takes its place
 * (keyed by its place in the window, `index % window`): a row scrolled out
 * at the top comes back at the bottom with new text, and a jump of a whole
 * window (a fast scroll) changes text in place instead of building every
 * row again. State that belongs to a slot (its menu) is keyed by the slot.
 */
function SlotRows({
  rows,
  virtualizer,
  rowProps,
  listRef,
  checked,
  onCheck,
}: {
  rows: Slot[];
  checked: ReadonlySet<string>;
  onCheck: (index: number, shift: boolean) => void;
  listRef: React.RefObject<HTMLDivElement | null>;
  virtualizer: Virtualizer<HTMLElement, Element>;
  rowProps: (index: number) => Record<string, string | undefined>;
}) {
  return (
    <div ref={listRef} className="relative" style={{ height: virtualizer.getTotalSize(), minWidth: MIN_ROW_WIDTH }}>
      {virtualizer.getVirtualItems().map((item, _, window) => {
        const slot = rows[item.index]!;
        return <SlotRow key={item.index % window.length} slot={slot} index={item.index} top={item.start - virtualizer.options.scrollMargin} extra={rowProps(item.index)} checked={checked.has(slot.slotName)} onCheck={onCheck} />;
      })}
    </div>
  );
}

/** The palette's commands of the slots table: search, and the status filter. */
function useSlotsCommands(setStatuses: (s: ReadonlySet<SlotStatus>) => void) {
  const commands = useMemo(
    (): CommandSpec[] => [
      { id: "slots.search", group: "Slots", title: "Search slots", shortcut: "/", run: () => void focusViewFilter() },
      { id: "slots.status.all", group: "Slots", title: "Show slots of every status", run: () => setStatuses(new Set()) },
      ...SLOT_STATUSES.map(
        (s): CommandSpec => ({
          id: `slots.status.${s}`,
          group: "Slots",
          title: `Show only ${STATUS_STYLES[s].label.toLowerCase()} slots`,
          keywords: ["filter", s],
          run: () => setStatuses(new Set([s])),
        }),
      ),
    ],
    [setStatuses],
  );
  useCommands(commands);
}
