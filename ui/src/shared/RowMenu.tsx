// A row's actions menu: a small "⋯" button opening a list of actions. The
// list is drawn over the page (a portal at the button's place), so a
// virtualised row's stacking does not clip it; Escape or a click outside closes it.
import { useEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";

export interface RowMenuItem {
  label: string;
  run: () => void;
  danger?: boolean;
}

export function RowMenu({ label, items }: { label: string; items: RowMenuItem[] }) {
  const button = useRef<HTMLButtonElement>(null);
  const [at, setAt] = useState<{ top: number; left: number } | null>(null);
  const menu = useRef<HTMLUListElement>(null);
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
