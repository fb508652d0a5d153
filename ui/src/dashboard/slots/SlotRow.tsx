import { memo, useEffect, useState } from "react";
import { SLOT_ACTION_LABELS, askAction, slotActionsFor } from "../../actions/store";
import type { Slot } from "../../api/types";
import { BotLink } from "../../bots/BotLink";
import { RowMenu } from "../../shared/RowMenu";
import { useNow } from "../../shared/clock";
import { formatRelative, formatTimestamp, platformLabel, truncateMiddle } from "../../shared/format";
import { SlotName } from "../../shared/SlotName";
import { StatusBadge } from "../../shared/StatusBadge";
import { GRID, ROW_HEIGHT } from "./slotsView";

/**
 * One slot, placed at `top` in the virtualised body; `index` is its position
 * among the visible rows; `onCheck(index, shift)` toggles it in the bulk selection.
 */
export const SlotRow = memo(function SlotRow({
  slot,
  index,
  top,
  extra,
  checked = false,
  onCheck,
}: {
  slot: Slot;
  index: number;
  top: number;
  extra?: Record<string, string | undefined>;
  checked?: boolean;
  onCheck?: (index: number, shift: boolean) => void;
}) {
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
      <SelectCell slot={slot} index={index} checked={checked} onCheck={onCheck} />
      <div role="cell" className="flex min-w-0 items-center gap-1 text-fg">
        <span className="min-w-0">
          <SlotName name={slot.slotName} title={slot.description ? `${slot.slotName}\n${slot.description}` : slot.slotName} />
        </span>
        {slot.draining && (
          <span className="badge shrink-0 border-busy/40 text-busy" title="Draining: takes no new bot, removed once idle">
            DRAINING
          </span>
        )}
      </div>
      {/* Clipped, never drawn over the next column (the column fits the widest badge). */}
      <div role="cell" className="min-w-0 overflow-hidden">
        <StatusBadge status={slot.status} />
      </div>
      <div role="cell" className={slot.assignedBotId === null ? "text-dim" : "text-fg"}>
        {slot.assignedBotId === null ? "—" : <BotLink id={slot.assignedBotId} />}
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
});

/** The row's checkbox (shift-click: a range) and its actions menu. */
function SelectCell({ slot, index, checked, onCheck }: { slot: Slot; index: number; checked: boolean; onCheck?: (index: number, shift: boolean) => void }) {
  return (
    <div role="cell" className="flex items-center gap-1">
      <input
        type="checkbox"
        aria-label={`Select ${slot.slotName}`}
        checked={checked}
        onChange={() => {}}
        onClick={(e) => {
          e.stopPropagation();
          onCheck?.(index, e.shiftKey);
        }}
      />
      <RowMenu
        label={`Actions for ${slot.slotName}`}
        items={slotActionsFor(slot).map((action) => ({
          label: SLOT_ACTION_LABELS[action],
          danger: action === "delete",
          run: () => askAction({ kind: "slot", action, slots: [slot] }),
        }))}
      />
    </div>
  );
}

function UuidCell({ uuid }: { uuid: string }) {
  const [copied, setCopied] = useState(false);
  // A row element reused for another slot (scrolling) does not show this one's "copied".
  const [copiedOf, setCopiedOf] = useState(uuid);
  if (copiedOf !== uuid) {
    setCopiedOf(uuid);
    setCopied(false);
  }
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
        // Hidden by a transparent colour, not opacity: an element with opacity
        // below 1 is painted apart and blended, on every row of every scroll
        // frame (WebKit without compositing); a transparent stroke paints nothing.
        className="text-transparent hover:text-accent group-hover:text-dim focus:text-dim"
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
