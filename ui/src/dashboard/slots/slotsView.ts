// The slots table's columns, order and filter: pure functions plus the hook
// holding the user's choices (status filter, search, sort).
import { useMemo, useState } from "react";
import type { Slot, SlotStatus } from "../../api/types";

/** Height of one virtualised row, in pixels. */
export const ROW_HEIGHT = 32;
/** Height of the sticky header row (the virtualiser's scroll margin). */
export const HEADER_HEIGHT = 34;

export type SortKey =
  | "slotName"
  | "status"
  | "assignedBotId"
  | "lastUsedAt"
  | "errorMessage"
  | "recoveryAttempts"
  | "uuid"
  | "createdAt"
  | "pool"
  | "deploymentPlatform";

export interface Column {
  key: SortKey;
  label: string;
  width: string;
  align?: "right";
}

// The minimum widths add up to `MIN_ROW_WIDTH`, which fits the table at a
// 1280 px window (1280 - the 192 px sidebar - padding, border and scrollbar
// = 1028 px) without a horizontal scroll; the spare width goes to the `fr`s.
export const COLUMNS: Column[] = [
  { key: "slotName", label: "Slot name", width: "minmax(160px,1.3fr)" },
  // Fits `[DEPLOYING]` with its spinner: about 113 px in a 0.6 em monospace
  // (slotsLayout.test.ts), 121 px measured in WebKit with a wider fallback font.
  { key: "status", label: "Status", width: "132px" },
  { key: "assignedBotId", label: "Bot", width: "64px" },
  { key: "lastUsedAt", label: "Last used", width: "84px" },
  { key: "errorMessage", label: "Error", width: "minmax(56px,1.4fr)" },
  { key: "recoveryAttempts", label: "Recov.", width: "48px", align: "right" },
  { key: "uuid", label: "UUID", width: "100px" },
  { key: "createdAt", label: "Created", width: "120px" },
  { key: "pool", label: "Pool", width: "minmax(60px,0.7fr)" },
  { key: "deploymentPlatform", label: "Platform", width: "64px" },
];
/** The leading column: the row's checkbox (bulk actions) and its actions menu (⋯). */
export const SELECT_WIDTH = 34;
export const GRID = [`${SELECT_WIDTH}px`, ...COLUMNS.map((c) => c.width)].join(" ");
/** Column gap and row padding of the grid (`gap-x-2`, `px-3`). */
const GAP_PX = 8;
const PADDING_PX = 24;
/** The least width of a row: every column's minimum, the gaps and the padding. */
export const MIN_ROW_WIDTH =
  COLUMNS.reduce((sum, c) => sum + Number(/(\d+)px/.exec(c.width)![1]), SELECT_WIDTH) + GAP_PX * COLUMNS.length + PADDING_PX;
/**
 * One collator for every comparison: `localeCompare` with options may build
 * a collator per call, and a sort of 10,000 rows (again after every row
 * patched in) makes 130,000 of them.
 */
const NUMERIC = new Intl.Collator(undefined, { numeric: true });
// Keyed by the bindings' union: a status added in Rust without an order fails `tsc`.
const STATUS_ORDER: Record<SlotStatus, number> = { error: 0, deploying: 1, busy: 2, idle: 3 };

function compare(a: Slot, b: Slot, key: SortKey): number {
  switch (key) {
    case "status":
      return STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
    case "assignedBotId":
    case "recoveryAttempts": {
      const x = a[key];
      const y = b[key];
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return x - y;
    }
    case "lastUsedAt":
    case "createdAt":
    case "errorMessage": {
      const x = a[key];
      const y = b[key];
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return x < y ? -1 : 1;
    }
    default:
      return NUMERIC.compare(a[key], b[key]);
  }
}

export interface SortState {
  key: SortKey;
  dir: "asc" | "desc";
}

/** Sorted, filtered slots (nulls last in both directions). */
export function visibleSlots(slots: Slot[], statuses: ReadonlySet<string>, search: string, sort: SortState): Slot[] {
  const q = search.trim().toLowerCase();
  const rows = slots.filter(
    (s) =>
      (statuses.size === 0 || statuses.has(s.status)) &&
      (q === "" ||
        s.slotName.toLowerCase().includes(q) ||
        s.uuid.toLowerCase().includes(q) ||
        (s.assignedBotId !== null && `#${s.assignedBotId}`.includes(q)) ||
        (s.errorMessage ?? "").toLowerCase().includes(q)),
  );
  const sign = sort.dir === "asc" ? 1 : -1;
  return rows.sort((a, b) => {
    const nullsLast =
      (sort.key === "assignedBotId" || sort.key === "lastUsedAt" || sort.key === "errorMessage") && (a[sort.key] === null) !== (b[sort.key] === null);
    const c = compare(a, b, sort.key);
    return nullsLast ? c : sign * c || a.id - b.id;
  });
}

/**
 * The table's view state over `slots`: the status filter, the search text
 * and the sort (a header toggles its column, ascending first), the rows they
 * leave, and every status's count over all slots (for the filter's menu).
 */
export function useSlotsView(slots: Slot[]) {
  const [statuses, setStatuses] = useState<ReadonlySet<SlotStatus>>(new Set());
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<SortState>({ key: "slotName", dir: "asc" });
  const rows = useMemo(() => visibleSlots(slots, statuses, search, sort), [slots, statuses, search, sort]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const s of slots) c[s.status] = (c[s.status] ?? 0) + 1;
    return c;
  }, [slots]);
  const toggleSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: "asc" }));
  return { rows, counts, statuses, setStatuses, search, setSearch, sort, toggleSort };
}
