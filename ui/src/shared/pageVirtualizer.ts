// A virtualised table body that scrolls with the page (the app's one
// scroll area, `useScrollRoot`) below a sticky header, or, alone (tests,
// no scroll root), in a box of its own (`scrollRef`). Used by the slots
// and bots tables.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useLayoutEffect, useRef, useState } from "react";
import { useScrollRoot } from "./scrollRoot";

/**
 * Where the rows start in the page's scroll area `root` (the virtualiser's
 * scroll margin), measured again whenever the page above them changes size
 * (the queue appears, an error notice grows).
 */
export function useOffsetIn(root: HTMLElement | null, list: React.RefObject<HTMLDivElement | null>, shown: boolean): number {
  const [offset, setOffset] = useState(0);
  useLayoutEffect(() => {
    if (!root) return;
    const measure = () => {
      const el = list.current;
      if (el) setOffset(el.getBoundingClientRect().top - root.getBoundingClientRect().top + root.scrollTop);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(root.firstElementChild ?? root);
    return () => observer.disconnect();
  }, [root, list, shown]);
  return offset;
}

/**
 * The virtualiser of `count` rows of `rowHeight` under a header of
 * `headerHeight`: attach `listRef` to the rows' container and, with no
 * scroll root, `scrollRef` to the box that scrolls.
 */
export function usePageVirtualizer(count: number, rowHeight: number, headerHeight: number) {
  const root = useScrollRoot();
  const scrollRef = useRef<HTMLDivElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const offset = useOffsetIn(root, listRef, count > 0);
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual returns non-memoisable functions by design
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => root ?? scrollRef.current,
    estimateSize: () => rowHeight,
    // Few rows beyond the view: a fast scroll renders a whole new window every frame.
    overscan: 6,
    scrollMargin: root ? offset : headerHeight,
    // A row scrolled to (j/k) lands below the sticky header, not under it.
    scrollPaddingStart: headerHeight,
  });
  return { root, scrollRef, listRef, virtualizer };
}
