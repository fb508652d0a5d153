// The slots table's bulk selection: checkboxes, shift-click for a range of
// the visible rows, select-all of the visible rows; and the bar of actions
// on the selection.
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import { SLOT_ACTION_LABELS, askAction } from "../../actions/store";
import type { Slot } from "../../api/types";
import type { SlotAction } from "../../bindings";

/**
 * The selected slots (by name, kept across sorting and filtering; a slot
 * that disappears leaves the selection). `onCheck` is stable (rows memoise on it).
 */
export function useSlotSelection(slots: Slot[], rows: Slot[]) {
  const [names, setNames] = useState<ReadonlySet<string>>(new Set());
  const anchor = useRef<number | null>(null);
  const rowsRef = useRef(rows);
  useLayoutEffect(() => {
    rowsRef.current = rows;
  }, [rows]);
  const onCheck = useCallback((index: number, shift: boolean) => {
    const list = rowsRef.current;
    const name = list[index]?.slotName;
    if (name === undefined) return;
    // Read now: the updater runs later, after the anchor moved.
    const last = shift ? anchor.current : null;
    const from = last !== null ? Math.min(last, index) : index;
    const to = last !== null ? Math.max(last, index) : index;
    setNames((cur) => {
      const next = new Set(cur);
      const on = !cur.has(name);
      for (let i = from; i <= to; i++) {
        const n = list[i]?.slotName;
        if (n !== undefined) {
          if (on) next.add(n);
          else next.delete(n);
        }
      }
      return next;
    });
    anchor.current = index;
  }, []);
  const selected = useMemo(() => slots.filter((s) => names.has(s.slotName)), [slots, names]);
  // Memoised: the table renders again on every scroll frame, over 10,000 rows.
  const shownSelected = useMemo(() => (names.size === 0 ? 0 : rows.filter((r) => names.has(r.slotName)).length), [rows, names]);
  const allChecked = shownSelected === 0 ? false : shownSelected === rows.length ? true : null;
  const checkAll = () => setNames(allChecked === true ? new Set() : new Set(rows.map((r) => r.slotName)));
  const clear = () => setNames(new Set());
  return { names, selected, onCheck, allChecked, checkAll, clear };
}

const BULK: SlotAction[] = ["restart", "drain", "undrain", "delete", "recover"];

/** The actions on the selected slots (each asks for confirmation). */
export function BulkBar({ selected, onClear }: { selected: Slot[]; onClear: () => void }) {
  if (selected.length === 0) return null;
  return (
    <div role="toolbar" aria-label="Actions on the selected slots" className="flex items-center gap-1.5">
      <span className="font-mono text-[11.5px] text-fg" data-testid="selected-count">
        {selected.length} selected
      </span>
      {BULK.map((action) => (
        <button
          key={action}
          type="button"
          className={`btn ${action === "delete" ? "text-error" : ""}`}
          onClick={() => askAction({ kind: "slot", action, slots: selected })}
        >
          {SLOT_ACTION_LABELS[action]}
        </button>
      ))}
      <button type="button" className="btn" onClick={onClear}>
        Clear
      </button>
    </div>
  );
}
