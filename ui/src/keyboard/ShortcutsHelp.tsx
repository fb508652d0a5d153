import { useEffect, useRef } from "react";
import { trapTab } from "../shared/focusTrap";
import { VIEWS } from "../views";
import { SHORTCUTS } from "./keys";

/** The `?` list: every shortcut and the `g` letters of the views. */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement;
    close.current?.focus();
    return () => {
      if (before instanceof HTMLElement && before.isConnected) before.focus();
    };
  }, []);
  return (
    <div
      className="fixed inset-0 z-[60] flex items-center justify-center bg-black/50"
      onMouseDown={(e) => e.target === e.currentTarget && onClose()}
      onKeyDown={(e) => {
        trapTab(e, e.currentTarget);
        if (e.key === "Escape" || e.key === "?") {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <div role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" className="panel w-[520px] max-w-[92vw] p-4">
        <div className="flex items-center justify-between">
          <h2 id="shortcuts-title" className="text-[14px] font-semibold">
            Keyboard shortcuts
          </h2>
          <button ref={close} type="button" className="btn px-2 py-0.5" onClick={onClose}>
            Close
          </button>
        </div>
        <dl className="mt-3 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1.5 text-[12.5px]">
          {SHORTCUTS.map((s) => (
            <Row key={s.keys} keys={s.keys} what={s.what} />
          ))}
          {VIEWS.map((v) => (
            <Row key={v.id} keys={`g ${v.key}`} what={`Go to ${v.label}`} />
          ))}
        </dl>
        <p className="mt-3 text-[11.5px] text-dim">Shortcuts do nothing while you type in a field, except Esc and Ctrl/⌘ K.</p>
      </div>
    </div>
  );
}

function Row({ keys, what }: { keys: string; what: string }) {
  return (
    <>
      <dt>
        <kbd className="kbd">{keys}</kbd>
      </dt>
      <dd className="text-muted">{what}</dd>
    </>
  );
}
