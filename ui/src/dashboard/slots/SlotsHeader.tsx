import { COLUMNS, GRID, HEADER_HEIGHT, MIN_ROW_WIDTH, type SortKey, type SortState } from "./slotsView";

/** The sticky header row: one sort button per column, the active one marked ▲/▼. */
export function SlotsHeader({
  sort,
  onSort,
  allChecked,
  onCheckAll,
}: {
  sort: SortState;
  onSort: (key: SortKey) => void;
  /** Whether every visible row is selected (`null`: some are). */
  allChecked?: boolean | null;
  onCheckAll?: () => void;
}) {
  return (
    <div
      role="row"
      className="sticky top-0 z-10 grid gap-x-2 items-center border-b border-line bg-panel-2 px-3"
      style={{ gridTemplateColumns: GRID, height: HEADER_HEIGHT, minWidth: MIN_ROW_WIDTH }}
    >
      <div role="columnheader">
        <input
          type="checkbox"
          aria-label="Select every shown slot"
          checked={allChecked === true}
          ref={(el) => {
            if (el) el.indeterminate = allChecked === null;
          }}
          onChange={() => onCheckAll?.()}
        />
      </div>
      {COLUMNS.map((c) => {
        const active = sort.key === c.key;
        return (
          <div
            key={c.key}
            role="columnheader"
            aria-sort={active ? (sort.dir === "asc" ? "ascending" : "descending") : "none"}
            className={c.align === "right" ? "text-right" : ""}
          >
            <button
              type="button"
              onClick={() => onSort(c.key)}
              className={`inline-flex items-center gap-1 font-mono text-[10.5px] font-semibold uppercase tracking-[0.14em] ${active ? "text-fg" : "text-dim hover:text-muted"}`}
            >
              {c.label}
              <span aria-hidden className="w-2 text-accent">{active ? (sort.dir === "asc" ? "▲" : "▼") : ""}</span>
            </button>
          </div>
        );
      })}
    </div>
  );
}
