import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";
import { SLOT_STATUSES, type Slot, type SlotStatus } from "../api/types";
import { useNow } from "../shared/clock";
import { formatRelative, formatTimestamp, platformLabel, truncateMiddle } from "../shared/format";
import { StatusBadge } from "../shared/StatusBadge";
import { STATUS_STYLES } from "../shared/status";

export const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 34;

type SortKey =
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

interface Column {
  key: SortKey;
  label: string;
  width: string;
  align?: "right";
}

const COLUMNS: Column[] = [
  { key: "slotName", label: "Slot name", width: "minmax(150px,1.1fr)" },
  { key: "status", label: "Status", width: "108px" },
  { key: "assignedBotId", label: "Bot", width: "60px" },
  { key: "lastUsedAt", label: "Last used", width: "84px" },
  { key: "errorMessage", label: "Error", width: "minmax(100px,1.4fr)" },
  { key: "recoveryAttempts", label: "Recov.", width: "48px", align: "right" },
  { key: "uuid", label: "UUID", width: "108px" },
  { key: "createdAt", label: "Created", width: "116px" },
  { key: "pool", label: "Pool", width: "minmax(100px,0.8fr)" },
  { key: "deploymentPlatform", label: "Platform", width: "64px" },
];
const GRID = COLUMNS.map((c) => c.width).join(" ");
const STATUS_ORDER: Record<string, number> = { error: 0, deploying: 1, busy: 2, idle: 3 };

function compare(a: Slot, b: Slot, key: SortKey): number {
  switch (key) {
    case "status":
      return (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9);
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
      return a[key].localeCompare(b[key], undefined, { numeric: true });
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

export function SlotsTable({ slots, loading = false }: { slots: Slot[]; loading?: boolean }) {
  const [statuses, setStatuses] = useState<ReadonlySet<SlotStatus>>(new Set());
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<SortState>({ key: "slotName", dir: "asc" });
  const rows = useMemo(() => visibleSlots(slots, statuses, search, sort), [slots, statuses, search, sort]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const s of slots) c[s.status] = (c[s.status] ?? 0) + 1;
    return c;
  }, [slots]);

  const scrollRef = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual returns non-memoisable functions by design
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    scrollMargin: HEADER_HEIGHT,
  });

  const toggleSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: "asc" }));

  return (
    <section aria-label="Pool slots" className="panel flex min-h-0 flex-col">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-line px-4 py-2.5">
        <h2 className="panel-title">
          Pool slots{" "}
          <span className="text-fg" data-testid="slots-count">
            ({rows.length === slots.length ? slots.length : `${rows.length} of ${slots.length}`})
          </span>
        </h2>
        <div className="flex items-center gap-2">
          <input
            type="search"
            aria-label="Search slots"
            placeholder="Search name, bot, UUID, error"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            className="input w-64"
          />
          <StatusFilter selected={statuses} counts={counts} onChange={setStatuses} />
        </div>
      </div>
      <div
        ref={scrollRef}
        data-testid="slots-scroll"
        role="table"
        aria-label="Slots"
        aria-rowcount={rows.length + 1}
        className="relative h-[480px] overflow-auto"
      >
        <div
          role="row"
          className="sticky top-0 z-10 grid gap-x-2 min-w-[1000px] items-center border-b border-line bg-panel-2 px-3"
          style={{ gridTemplateColumns: GRID, height: HEADER_HEIGHT }}
        >
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
                  onClick={() => toggleSort(c.key)}
                  className={`inline-flex items-center gap-1 font-mono text-[10.5px] font-semibold uppercase tracking-[0.14em] ${active ? "text-fg" : "text-dim hover:text-muted"}`}
                >
                  {c.label}
                  <span aria-hidden className="w-2 text-accent">{active ? (sort.dir === "asc" ? "▲" : "▼") : ""}</span>
                </button>
              </div>
            );
          })}
        </div>
        {rows.length === 0 ? (
          <div className="px-4 py-10 text-center text-muted">{loading ? "Loading slots…" : "No slots match."}</div>
        ) : (
          <div className="relative min-w-[1000px]" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const slot = rows[item.index]!;
              return (
                <SlotRow
                  key={slot.id}
                  slot={slot}
                  index={item.index}
                  top={item.start - virtualizer.options.scrollMargin}
                />
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}

function SlotRow({ slot, index, top }: { slot: Slot; index: number; top: number }) {
  const now = useNow();
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      data-testid="slot-row"
      className={`absolute inset-x-0 grid items-center gap-x-2 border-b border-line/60 px-3 font-mono text-[12px] hover:bg-white/[0.03] ${slot.status === "error" ? "bg-error/[0.04]" : ""}`}
      style={{ gridTemplateColumns: GRID, height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <div role="cell" className="truncate text-fg" title={slot.description || slot.slotName}>
        {slot.slotName}
      </div>
      <div role="cell">
        <StatusBadge status={slot.status} />
      </div>
      <div role="cell" className={slot.assignedBotId === null ? "text-dim" : "text-fg"}>
        {slot.assignedBotId === null ? "—" : `#${slot.assignedBotId}`}
      </div>
      <div role="cell" className="text-muted" title={formatTimestamp(slot.lastUsedAt)}>
        {slot.lastUsedAt ? formatRelative(slot.lastUsedAt, now) : "never"}
      </div>
      <div role="cell" className={`truncate ${slot.errorMessage ? "text-error" : "text-dim"}`} title={slot.errorMessage ?? undefined}>
        {slot.errorMessage ?? "—"}
      </div>
      <div role="cell" className={`text-right tabular-nums ${slot.recoveryAttempts > 0 ? "text-busy" : "text-dim"}`}>
        {slot.recoveryAttempts}
      </div>
      <div role="cell">
        <UuidCell uuid={slot.uuid} />
      </div>
      <div role="cell" className="text-muted" title={formatTimestamp(slot.createdAt)}>
        {formatTimestamp(slot.createdAt).slice(0, 16)}
      </div>
      <div role="cell" className="truncate text-muted">{slot.pool}</div>
      <div role="cell" className="text-muted">{platformLabel(slot.deploymentPlatform)}</div>
    </div>
  );
}

function UuidCell({ uuid }: { uuid: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 1200);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <span className="group inline-flex items-center gap-1">
      <span title={uuid} className="text-muted">
        {truncateMiddle(uuid)}
      </span>
      <button
        type="button"
        aria-label={`Copy UUID ${uuid}`}
        title="Copy UUID"
        onClick={() => {
          void navigator.clipboard?.writeText(uuid).then(() => setCopied(true));
        }}
        className="text-dim opacity-0 transition-opacity hover:text-accent group-hover:opacity-100 focus:opacity-100"
      >
        {copied ? "✓" : (
          <svg viewBox="0 0 16 16" className="size-3" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden>
            <rect x="5" y="5" width="8" height="9" />
            <path d="M3 11V2h8" />
          </svg>
        )}
      </button>
    </span>
  );
}

/** Multi-select status filter (empty selection: all statuses). */
export function StatusFilter({
  selected,
  counts,
  onChange,
}: {
  selected: ReadonlySet<SlotStatus>;
  counts: Record<string, number>;
  onChange: (next: ReadonlySet<SlotStatus>) => void;
}) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  const label =
    selected.size === 0 ? "All" : SLOT_STATUSES.filter((s) => selected.has(s)).map((s) => STATUS_STYLES[s].label).join(", ");
  const toggle = (s: SlotStatus) => {
    const next = new Set(selected);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    onChange(next);
  };
  return (
    <div ref={ref} className="relative">
      <button type="button" className="btn" aria-haspopup="true" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        <span className="text-dim">Status:</span> {label}
        <span aria-hidden className="text-dim">▾</span>
      </button>
      {open && (
        <div role="group" aria-label="Status filter" className="absolute right-0 top-full z-20 mt-1 w-52 border border-line-2 bg-panel-2 p-1 shadow-2xl">
          {SLOT_STATUSES.map((s) => (
            <label key={s} className="flex cursor-pointer items-center gap-2 px-2 py-1.5 hover:bg-white/5">
              <input type="checkbox" checked={selected.has(s)} onChange={() => toggle(s)} className="accent-sky-400" />
              <StatusBadge status={s} />
              <span className="ml-auto font-mono text-[11px] text-dim">{counts[s] ?? 0}</span>
            </label>
          ))}
          <button
            type="button"
            className="mt-1 w-full border-t border-line px-2 py-1.5 text-left text-[12px] text-muted hover:text-fg"
            onClick={() => onChange(new Set())}
          >
            Show all statuses
          </button>
        </div>
      )}
    </div>
  );
}
