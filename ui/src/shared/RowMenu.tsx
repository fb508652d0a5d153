// A row's actions menu: a small "⋯" button opening a list of actions. The
// list is drawn over the page (a portal at the button's place), so a
// virtualised row's stacking does not clip it; it opens upwards (and moves
// left) when it would leave the window, since a row near the bottom would
// otherwise put its actions out of reach. Arrow keys move between items;
// Escape or a click outside closes it. (Two lines of geometry: no
// positioning library for one menu.)
import { useEffect, useLayoutEffect, useRef, useState } from "react";

/** Keeps a menu of `size` opened under `anchor` inside a `view`-sized window: flipped above the anchor when it would overflow below. */
export function placeMenu(
  anchor: { top: number; bottom: number; left: number },
  size: { width: number; height: number },
  view: { width: number; height: number },
): { top: number; left: number } {
  const below = anchor.bottom + 2;
  const top = below + size.height <= view.height ? below : Math.max(0, anchor.top - 2 - size.height);
  const left = Math.max(0, Math.min(anchor.left, view.width - size.width));
  return { top, left };
}
import { createPortal } from "react-dom";

export interface RowMenuItem {
  label: string;
  run: () => void;
  danger?: boolean;
}

type At = { top: number; left: number } | null;

/** Once the menu is drawn (so its size is known), before the paint: moves it back inside the window. */
function useOnScreen(
  at: At,
  setAt: (at: At) => void,
  menu: React.RefObject<HTMLElement | null>,
  anchor: React.RefObject<HTMLElement | null>,
) {
  useLayoutEffect(() => {
    if (!at || !menu.current || !anchor.current) return;
    const m = menu.current.getBoundingClientRect();
    const placed = placeMenu(
      anchor.current.getBoundingClientRect(),
      { width: m.width, height: m.height },
      { width: window.innerWidth, height: window.innerHeight },
    );
    if (placed.top !== at.top || placed.left !== at.left) setAt(placed);
  }, [at, setAt, menu, anchor]);
}

/**
 * Closes a menu open for one target when its row is reused for another
 * (a virtualised table reuses row elements while scrolling): its actions
 * would otherwise act on the new target. Adjusted during render, so the
 * old target's menu never shows with the new target's actions.
 */
function useClosedOnNewTarget(label: string, setAt: (at: At) => void) {
  const [openOf, setOpenOf] = useState(label);
  if (openOf !== label) {
    setOpenOf(label);
    setAt(null);
  }
}

/** Focuses the menu's next (`step` 1) or previous (-1) item, wrapping around. */
function moveFocus(menu: HTMLElement | null, step: 1 | -1) {
  const items = [...(menu?.querySelectorAll<HTMLButtonElement>("[role='menuitem']") ?? [])];
  const now = items.indexOf(document.activeElement as HTMLButtonElement);
  items[(now + step + items.length) % items.length]?.focus();
}

export function RowMenu({ label, items }: { label: string; items: RowMenuItem[] }) {
  const button = useRef<HTMLButtonElement>(null);
  const [at, setAt] = useState<At>(null);
  useClosedOnNewTarget(label, setAt);
  const menu = useRef<HTMLUListElement>(null);
  useOnScreen(at, setAt, menu, button);
  useEffect(() => {
    if (!at) return;
    menu.current?.querySelector("button")?.focus();
    const away = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && e.target !== button.current) setAt(null);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [at]);
  const close = () => {
    setAt(null);
    button.current?.focus();
  };
  return (
    <>
      <button
        ref={button}
        type="button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={at !== null}
        className="px-1 font-mono text-dim hover:text-accent"
        onClick={(e) => {
          e.stopPropagation();
          const r = button.current!.getBoundingClientRect();
          setAt(at ? null : { top: r.bottom + 2, left: r.left });
        }}
      >
        ⋯
      </button>
      {at &&
        createPortal(
          <ul
            ref={menu}
            role="menu"
            aria-label={label}
            className="panel fixed z-40 min-w-40 py-1 text-[12.5px] shadow-lg"
            style={{ top: at.top, left: at.left }}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                e.stopPropagation();
                close();
              } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
                e.preventDefault();
                e.stopPropagation();
                moveFocus(menu.current, e.key === "ArrowDown" ? 1 : -1);
              }
            }}
          >
            {items.map((item) => (
              <li key={item.label} role="none">
                <button
                  type="button"
                  role="menuitem"
                  className={`block w-full px-3 py-1 text-left hover:bg-tint/5 focus:bg-tint/5 ${item.danger ? "text-error" : ""}`}
                  onClick={(e) => {
                    e.stopPropagation();
                    setAt(null);
                    item.run();
                  }}
                >
                  {item.label}
                </button>
              </li>
            ))}
          </ul>,
          document.body,
        )}
    </>
  );
}
