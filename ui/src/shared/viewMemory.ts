// The app reopens on the view it was left on, and each view gets back its
// scroll position (issue 14), kept in localStorage (per machine and user,
// nothing secret: a view's name and a number).
import { useEffect, useLayoutEffect } from "react";
import { isView, type View } from "../views";

const LAST_VIEW = "berth.lastView";
const scrollKey = (view: View) => `berth.scroll.${view}`;
/** How long a restore waits for the view's data to make the page tall enough. */
export const RESTORE_MS = 3_000;

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: start fresh
  }
}

function write(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage full or disabled: nothing is remembered, nothing breaks
  }
}

/** The view to open: the address's (`#/pools`), else the last one shown, else the dashboard. */
export function initialView(): View {
  const hash = window.location.hash.replace(/^#\/?/, "");
  if (isView(hash)) return hash;
  const last = read(LAST_VIEW);
  return isView(last) ? last : "dashboard";
}

export function rememberView(view: View) {
  write(LAST_VIEW, view);
}

export function savedScroll(view: View): number {
  const n = Number(read(scrollKey(view)));
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function setScrollTop(el: HTMLElement, top: number) {
  el.scrollTop = top;
}

/**
 * Keeps `root`'s scroll position per view: saved as the user scrolls,
 * restored when `view` shows again. The new view's data arrives after it
 * mounts, so the restore retries as the page grows, until it lands, the
 * user scrolls or types, or `RESTORE_MS` pass; nothing is saved meanwhile.
 */
export function useScrollMemory(root: HTMLElement | null, view: View) {
  useLayoutEffect(() => {
    if (!root) return;
    const target = savedScroll(view);
    let restoring = true;
    const stop = () => {
      restoring = false;
    };
    const attempt = () => {
      if (!restoring) return;
      setScrollTop(root, target);
      if (Math.abs(root.scrollTop - target) < 2) stop();
    };
    attempt();
    const grow = new ResizeObserver(attempt);
    if (root.firstElementChild) grow.observe(root.firstElementChild);
    const timer = setTimeout(stop, RESTORE_MS);
    const user = ["wheel", "touchstart", "pointerdown", "keydown"] as const;
    user.forEach((e) => root.addEventListener(e, stop, { passive: true }));
    let frame = 0;
    const onScroll = () => {
      if (restoring || frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        write(scrollKey(view), String(Math.round(root.scrollTop)));
      });
    };
    root.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      grow.disconnect();
      clearTimeout(timer);
      cancelAnimationFrame(frame);
      user.forEach((e) => root.removeEventListener(e, stop));
      root.removeEventListener("scroll", onScroll);
    };
  }, [root, view]);
  useEffect(() => rememberView(view), [view]);
}
