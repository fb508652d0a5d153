import type { PoolStats } from "../api/types";
import { meetingLabel } from "../shared/format";

/** Up to this many pools get segmented buttons; more get a drop-down, so the header never overflows. */
export const SEGMENTED_MAX = 5;

/** Pool selector, shown when there are several pools: segmented, or a drop-down for many. */
export function PoolSelector({
  stats,
  value,
  onChange,
}: {
  stats: PoolStats[];
  value: string | null;
  onChange: (pool: string | null) => void;
}) {
  if (stats.length < 2) return null;
  const options: { id: string | null; label: string; hint: string }[] = [
    { id: null, label: "All pools", hint: `${stats.length}` },
    ...stats.map((s) => ({ id: s.pool, label: s.pool, hint: meetingLabel(s.meetingPlatform) })),
  ];
  if (stats.length > SEGMENTED_MAX) {
    return (
      <label className="flex items-center gap-2 font-mono text-[11.5px] text-muted">
        Pool
        <select
          aria-label="Pool"
          className="input w-56 py-1.5"
          value={value ?? ""}
          onChange={(e) => onChange(e.target.value === "" ? null : e.target.value)}
        >
          {options.map((o) => (
            <option key={o.id ?? "__all"} value={o.id ?? ""}>
              {o.id === null ? `All pools (${o.hint})` : `${o.label} · ${o.hint}`}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <div role="radiogroup" aria-label="Pool" className="flex border border-line-2 bg-bg">
      {options.map((o) => {
        const active = o.id === value;
        return (
          <button
            key={o.id ?? "__all"}
            type="button"
            role="radio"
            aria-checked={active}
            title={o.hint}
            onClick={() => onChange(o.id)}
            className={`border-r border-line-2 px-3 py-1.5 font-mono text-[11.5px] last:border-r-0 ${
              active ? "bg-accent/15 text-accent" : "text-muted hover:bg-tint/5 hover:text-fg"
            }`}
          >
            {o.label}
          </button>
        );
      })}
    </div>
  );
}
