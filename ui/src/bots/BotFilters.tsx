// The Bots view's filter bar: search (id or meeting URL), statuses (several),
// platform, pool and time. Every control is a plain form control: Tab reaches it.
import { useEffect, useRef, useState } from "react";
import type { BotStatus, PlatformKind } from "../api/types";
import { platformLabel } from "../shared/format";
import { BotStatusBadge } from "./BotStatusBadge";
import { BOT_STATUSES, PLATFORMS, TIME_CHOICES, type BotQuery, type TimeRange } from "./filter";

/** How long the search waits after the last key before it asks the core. */
export const SEARCH_DEBOUNCE_MS = 250;

export function BotFilters({ query, onChange, pools }: { query: BotQuery; onChange: (q: BotQuery) => void; pools: string[] }) {
  const set = (patch: Partial<BotQuery>) => onChange({ ...query, ...patch });
  return (
    <div className="flex flex-wrap items-center gap-2">
      <SearchBox value={query.search} onChange={(search) => set({ search })} />
      <StatusPicker selected={query.statuses} onChange={(statuses) => set({ statuses })} />
      <select
        aria-label="Platform"
        className="input w-32"
        value={query.platforms[0] ?? ""}
        onChange={(e) => set({ platforms: e.target.value === "" ? [] : [e.target.value as PlatformKind] })}
      >
        <option value="">Any platform</option>
        {PLATFORMS.map((p) => (
          <option key={p} value={p}>
            {platformLabel(p)}
          </option>
        ))}
      </select>
      <select aria-label="Pool" className="input w-40" value={query.pools[0] ?? ""} onChange={(e) => set({ pools: e.target.value === "" ? [] : [e.target.value] })}>
        <option value="">Any pool</option>
        {[...new Set([...pools, ...query.pools])].map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <TimePicker value={query.time} onChange={(time) => set({ time })} />
    </div>
  );
}

/** The search: typed freely, sent once typing pauses. `/` focuses it (`data-view-filter`). */
function SearchBox({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [text, setText] = useState(value);
  const sent = useRef(value);
  // A search set from outside (a command clearing it) shows here.
  useEffect(() => {
    if (value !== sent.current) {
      sent.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    if (text === sent.current) return;
    const t = setTimeout(() => {
      sent.current = text;
      onChange(text);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [text, onChange]);
  return (
    <input
      type="search"
      aria-label="Search bots"
      placeholder="#id or meeting URL   /"
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        // Enter searches at once and hands the keys back to the table (j/k, Enter opens).
        if (e.key === "Enter") {
          sent.current = text;
          onChange(text);
          e.currentTarget.blur();
        }
      }}
      data-view-filter
      className="input w-60"
    />
  );
}

/** Several statuses at once (none: every status), as a drop-down of checkboxes. */
function StatusPicker({ selected, onChange }: { selected: BotStatus[]; onChange: (s: BotStatus[]) => void }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);
  const toggle = (s: BotStatus) => onChange(BOT_STATUSES.filter((x) => (x === s ? !selected.includes(x) : selected.includes(x))));
  const label = selected.length === 0 ? "All" : selected.length <= 2 ? selected.join(", ") : `${selected.length} statuses`;
  return (
    <div
      ref={ref}
      className="relative"
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) {
          e.stopPropagation();
          setOpen(false);
        }
      }}
    >
      <button type="button" className="btn" aria-haspopup="true" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        <span className="text-dim">Status:</span> {label}
        <span aria-hidden className="text-dim">
          ▾
        </span>
      </button>
      {open && (
        <div role="group" aria-label="Bot status filter" className="absolute right-0 top-full z-20 mt-1 w-56 border border-line-2 bg-panel-2 p-1 shadow-2xl">
          {BOT_STATUSES.map((s) => (
            <label key={s} className="flex cursor-pointer items-center gap-2 px-2 py-1.5 hover:bg-tint/5">
              <input type="checkbox" aria-label={s} checked={selected.includes(s)} onChange={() => toggle(s)} className="accent-accent" />
              <BotStatusBadge status={s} />
            </label>
          ))}
          <button type="button" className="mt-1 w-full border-t border-line px-2 py-1.5 text-left text-[12px] text-muted hover:text-fg" onClick={() => onChange([])}>
            Show all statuses
          </button>
        </div>
      )}
    </div>
  );
}

/** Last hour / day / week, all time, or since a local date and time. */
function TimePicker({ value, onChange }: { value: TimeRange; onChange: (t: TimeRange) => void }) {
  return (
    <>
      <select
        aria-label="Created"
        className="input w-32"
        value={value.kind}
        onChange={(e) => {
          const kind = e.target.value as TimeRange["kind"];
          onChange(kind === "since" ? { kind, at: "" } : { kind });
        }}
      >
        {TIME_CHOICES.map((c) => (
          <option key={c.kind} value={c.kind}>
            {c.label}
          </option>
        ))}
        <option value="since">Since…</option>
      </select>
      {value.kind === "since" && (
        <input type="datetime-local" aria-label="Created since" className="input w-48" value={value.at} onChange={(e) => onChange({ kind: "since", at: e.target.value })} />
      )}
    </>
  );
}
