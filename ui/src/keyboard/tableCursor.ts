// The keyboard's row cursor: `j`/`k` move a highlight through the rows of the
// current view's table and Enter opens the highlighted row. One table is the
// keyboard's at a time: the last one mounted (each view has one).
import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { Selection } from "./registry";

interface TableHandle {
  id: string;
  move: (delta: number) => void;
  open: () => boolean;
  clear: () => boolean;
}

const tables: TableHandle[] = [];
let selection: Selection | null = null;
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

/** The table the keys drive now (the last mounted). */
export function activeTable(): TableHandle | undefined {
  return tables[tables.length - 1];
}

/** The highlighted row of the active table as a `Selection` (for commands). */
export function useSelection(): Selection | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => selection,
  );
}

function same(a: Selection | null, b: Selection | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind === "slot") return b.kind === "slot" && a.slot === b.slot;
  if (a.kind === "pool") return b.kind === "pool" && a.name === b.name;
  return b.kind === "bot" && a.botId === b.botId;
}

function setSelection(s: Selection | null) {
  if (same(s, selection)) return;
  selection = s;
  notify();
}

/**
 * A table's row cursor over `count` rows. `describe(i)` says what row `i`
 * is (the selection commands see), `onOpen(i)` runs on Enter, `reveal(i)`
 * scrolls the row into view (a virtualised table scrolls its virtualiser;
 * the default scrolls the element marked with `rowProps(i)`).
 */
export function useRowCursor({
  count,
  describe,
  onOpen,
  reveal,
}: {
  count: number;
  describe: (index: number) => Selection | null;
  onOpen: (index: number) => void;
  reveal?: (index: number) => void;
}) {
  const id = useId();
  const [raw, setCursor] = useState<number | null>(null);
  // Rows filtered away: the cursor stays on the last one left.
  const cursor = raw === null || count === 0 ? null : Math.min(raw, count - 1);
  const latest = useRef({ count, cursor, describe, onOpen, reveal });
  useLayoutEffect(() => {
    latest.current = { count, cursor, describe, onOpen, reveal };
  });

  useEffect(() => {
    const handle: TableHandle = {
      id,
      move: (delta) => {
        const { count: n, cursor: c } = latest.current;
        if (n === 0) return;
        const next = c === null ? (delta > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, c + delta));
        setCursor(next);
      },
      open: () => {
        const c = latest.current.cursor;
        if (c === null) return false;
        latest.current.onOpen(c);
        return true;
      },
      clear: () => {
        if (latest.current.cursor === null) return false;
        setCursor(null);
        return true;
      },
    };
    tables.push(handle);
    return () => {
      tables.splice(tables.indexOf(handle), 1);
      setSelection(null);
    };
  }, [id]);

  // Every render: the row under the cursor may have new data (a live refetch).
  useEffect(() => {
    if (activeTable()?.id === id) setSelection(cursor === null ? null : latest.current.describe(cursor));
  });
  // Only when the cursor moves: a refetch must not scroll the user's view back.
  useEffect(() => {
    if (cursor === null || activeTable()?.id !== id) return;
    if (latest.current.reveal) latest.current.reveal(cursor);
    else document.querySelector(`[data-cursor-table="${CSS.escape(id)}"][data-cursor="true"]`)?.scrollIntoView?.({ block: "nearest" });
  }, [id, cursor]);

  // Two objects for every row, the same from render to render: a memoised
  // row given them renders again only when the cursor comes or goes.
  const props = useMemo(
    () => ({
      plain: { "data-cursor-table": id, "data-cursor": undefined },
      marked: { "data-cursor-table": id, "data-cursor": "true" },
    }),
    [id],
  );
  /** Props for row `i`: marks the highlighted one (styled by `.row-cursor` in index.css). */
  const rowProps = useCallback((i: number) => (cursor === i ? props.marked : props.plain), [props, cursor]);
  return { cursor, setCursor, rowProps };
}
