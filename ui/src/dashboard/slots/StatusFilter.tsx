import { useEffect, useRef, useState } from "react";
import { SLOT_STATUSES, type SlotStatus } from "../../api/types";
import { StatusBadge } from "../../shared/StatusBadge";
import { STATUS_STYLES } from "../../shared/status";

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
            <label key={s} className="flex cursor-pointer items-center gap-2 px-2 py-1.5 hover:bg-tint/5">
              <input type="checkbox" checked={selected.has(s)} onChange={() => toggle(s)} className="accent-accent" />
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
