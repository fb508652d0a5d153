import { formatDuration } from "../shared/format";
import type { PlatformDraft, Row } from "./draft";
import { FieldLabel, NumberField, PinNote } from "./fields";
import { parseQueueTimeout, spanOf, type SettingsRules } from "./validation";

/** One platform of the priority list: reorder buttons, rank, enabled switch, bot limit and queue timeout. */
export function PlatformRow({
  row: r,
  rules,
  index: i,
  count,
  orderPinned,
  onMove,
  onPatch,
}: {
  row: Row;
  /** The core's ranges, for the field hints. */
  rules: SettingsRules;
  index: number;
  count: number;
  /** The order is pinned by the environment: no reordering. */
  orderPinned: boolean;
  onMove: (index: number, delta: -1 | 1) => void;
  onPatch: (name: string, d: PlatformDraft) => void;
}) {
  return (
    <li data-testid={`settings-${r.p.platform}`} className="grid grid-cols-[64px_110px_120px_minmax(0,1fr)_minmax(0,1fr)] items-start gap-4 px-4 py-3">
      <div className="flex items-center gap-1 pt-5">
        <button type="button" className="btn px-1.5 py-0.5" aria-label={`Move ${r.p.label} up`} disabled={i === 0 || orderPinned} onClick={() => onMove(i, -1)}>
          ↑
        </button>
        <button
          type="button"
          className="btn px-1.5 py-0.5"
          aria-label={`Move ${r.p.label} down`}
          disabled={i === count - 1 || orderPinned}
          onClick={() => onMove(i, 1)}
        >
          ↓
        </button>
      </div>
      <div className="pt-5">
        <div className="flex items-center gap-2">
          <span className="font-mono text-[11px] text-dim">P{i + 1}</span>
          <span className="text-[14px] font-semibold">{r.p.label}</span>
        </div>
      </div>
      <div>
        <FieldLabel>Enabled</FieldLabel>
        <label className="mt-1 inline-flex items-center gap-2">
          <input
            type="checkbox"
            role="switch"
            aria-label={`${r.p.label} enabled`}
            checked={r.enabled}
            disabled={Boolean(r.p.pinned.enabled)}
            onChange={(e) => onPatch(r.p.platform, { enabled: e.target.checked })}
            className="size-4 accent-accent"
          />
          <span className={r.enabled ? "text-idle" : "text-muted"}>{r.enabled ? "on" : "off"}</span>
        </label>
        {r.p.pinned.enabled && <PinNote variable={r.p.pinned.enabled} />}
      </div>
      <NumberField
        label="Bot limit"
        name={`${r.p.label} bot limit`}
        value={r.limit}
        placeholder="no limit"
        pinnedBy={r.p.pinned.botLimit}
        error={r.limitError}
        hint={`${spanOf(rules.botLimit)} bots`}
        onChange={(v) => onPatch(r.p.platform, { limit: v })}
      />
      <NumberField
        label="Queue timeout ms"
        name={`${r.p.label} queue timeout`}
        value={r.timeout}
        pinnedBy={r.p.pinned.queueTimeoutMs}
        error={r.timeoutError}
        hint={parseQueueTimeout(r.timeout, rules).ok ? `= ${formatDuration(Number(r.timeout))} · ${spanOf(rules.queueTimeoutMs)}` : spanOf(rules.queueTimeoutMs)}
        onChange={(v) => onPatch(r.p.platform, { timeout: v })}
      />
    </li>
  );
}
