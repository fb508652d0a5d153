import { useEffect, useRef, useState } from "react";
import { useRefreshAll } from "../api/provider";
import type { View } from "../views";
import { CommandPalette } from "./CommandPalette";
import { closeTopLayer } from "./escapeLayers";
import { GlobalCommands } from "./GlobalCommands";
import { intentOf, SEQUENCE_MS, type KeyIntent } from "./keys";
import { onPaletteRequest, type CommandContext } from "./registry";
import { ShortcutsHelp } from "./ShortcutsHelp";
import { activeTable, useSelection } from "./tableCursor";

/** Focuses the current view's filter (the element marked `data-view-filter`); false when it has none. */
export function focusViewFilter(): boolean {
  const el = document.querySelector<HTMLElement>("[data-view-filter]");
  if (!el) return false;
  el.focus();
  if (el instanceof HTMLInputElement) el.select();
  return true;
}

const modalOpen = () => document.querySelector("[aria-modal='true']") !== null;

/**
 * The global shortcuts (see `keys.ts`), the command palette and the
 * shortcuts list, for the view `view`; `navigate` switches views.
 */
export function KeyboardLayer({ view, navigate }: { view: View; navigate: (view: View, then?: () => void) => void }) {
  const [open, setOpen] = useState<"palette" | "help" | null>(null);
  const { refresh } = useRefreshAll();
  const selection = useSelection();
  const ctx: CommandContext = { view, navigate, refresh: () => void refresh(), showShortcuts: () => setOpen("help"), selection };
  const gAt = useRef(0);
  useEffect(() => onPaletteRequest(() => setOpen("palette")), []);

  useEffect(() => {
    const act = (intent: KeyIntent): boolean => {
      switch (intent.kind) {
        case "sequence":
          gAt.current = Date.now();
          return true;
        case "navigate":
          navigate(intent.view);
          return true;
        case "help":
          setOpen("help");
          return true;
        case "filter":
          return focusViewFilter();
        case "move":
          activeTable()?.move(intent.delta);
          return activeTable() !== undefined;
        case "open":
          return activeTable()?.open() ?? false;
        case "escape": {
          // Out of the view's filter (the shortcuts work again), else close the panel
          // opened last (a bot's timeline), else off the row highlight.
          const el = document.activeElement;
          if (el instanceof HTMLElement && el.hasAttribute("data-view-filter")) {
            el.blur();
            return true;
          }
          if (closeTopLayer()) return true;
          return activeTable()?.clear() ?? false;
        }
        default:
          return false;
      }
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const pendingG = Date.now() - gAt.current < SEQUENCE_MS;
      gAt.current = 0;
      const intent = intentOf(e, pendingG);
      if (intent === null) return;
      if (intent.kind === "palette") {
        if (modalOpen() && open !== "palette") return;
        e.preventDefault();
        setOpen((o) => (o === "palette" ? null : "palette"));
        return;
      }
      // The palette, the list and dialogs take their own keys.
      if (open !== null || modalOpen()) return;
      if (act(intent)) e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate, open]);

  return (
    <>
      {/* The cross-view commands' queries (definitions, queue) run only while the palette is open. */}
      {open === "palette" && <GlobalCommands />}
      {open === "palette" && <CommandPalette ctx={ctx} onClose={() => setOpen(null)} />}
      {open === "help" && <ShortcutsHelp onClose={() => setOpen(null)} />}
    </>
  );
}
