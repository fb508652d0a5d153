import { useEffect, useState } from "react";
import type { Slot } from "../../api/types";
import { useNow } from "../../shared/clock";
import { formatRelative, formatTimestamp, platformLabel, truncateMiddle } from "../../shared/format";
import { SlotName } from "../../shared/SlotName";
import { StatusBadge } from "../../shared/StatusBadge";
import { GRID, ROW_HEIGHT } from "./slotsView";

/** One slot, placed at `top` in the virtualised body; `index` is its position among the visible rows. */
export function SlotRow({ slot, index, top, extra }: { slot: Slot; index: number; top: number; extra?: Record<string, string | undefined> }) {
  const now = useNow();
  return (
    <div
      {...extra}
      role="row"
      aria-rowindex={index + 2}
      data-testid="slot-row"
      className={`absolute inset-x-0 grid items-center gap-x-2 border-b border-line/60 px-3 font-mono text-[12px] hover:bg-tint/[0.03] ${slot.status === "error" ? "bg-error/[0.04]" : ""}`}
      style={{ gridTemplateColumns: GRID, height: ROW_HEIGHT, transform: `translateY(${top}px)` }}
    >
      <div role="cell" className="min-w-0 text-fg">
        <SlotName name={slot.slotName} title={slot.description ? `${slot.slotName}\n${slot.description}` : slot.slotName} />
      </div>
      {/* Clipped, never drawn over the next column (the column fits the widest badge). */}
      <div role="cell" className="min-w-0 overflow-hidden">
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
