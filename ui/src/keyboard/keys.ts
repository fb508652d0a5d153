// The global shortcuts as a pure function of a key press: what it asks for.
// Typing in a field never triggers one (except Escape and Ctrl/Cmd+K).
import { viewOfKey, type View } from "../views";

/** How long after `g` its letter counts. */
export const SEQUENCE_MS = 1500;

export type KeyIntent =
  | { kind: "palette" }
  | { kind: "help" }
  | { kind: "filter" }
  | { kind: "sequence" }
  | { kind: "navigate"; view: View }
  | { kind: "move"; delta: 1 | -1 }
  | { kind: "open" }
  | { kind: "escape" };

/** The shortcuts as the `?` list shows them. */
export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: "Ctrl K / ⌘ K", what: "Command palette: every view and action by name" },
  { keys: "/", what: "Focus the current view's filter or search" },
  { keys: "g then a letter", what: "Switch view (the letters are listed below and in the palette)" },
  { keys: "j / k", what: "Move the row highlight down / up in the current table" },
  { keys: "Enter", what: "Open the highlighted row" },
  { keys: "?", what: "This list" },
  { keys: "Esc", what: "Close the palette or a dialog; leave the filter; close a bot's timeline; clear the row highlight" },
  { keys: "Tab / Shift Tab", what: "Move between controls" },
];

/** Whether the event comes from a place where keys type text. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.closest("[contenteditable=''], [contenteditable='true']")) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = (target as HTMLInputElement).type;
  return !["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"].includes(type);
}

/** Whether Enter on this element already does something (a button, a link, a field). */
function activatable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest("button, a[href], input, select, textarea, summary, [role='button'], [role='tab'], [role='radio']") !== null;
}

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

/**
 * What `e` asks for, or null (let it through). `pendingG` is whether `g`
 * was pressed less than `SEQUENCE_MS` ago.
 */
export function intentOf(e: KeyLike, pendingG: boolean): KeyIntent | null {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") return { kind: "palette" };
  if (e.key === "Escape") return { kind: "escape" };
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return null;
  if (pendingG) {
    const view = viewOfKey(e.key);
    return view ? { kind: "navigate", view } : null;
  }
  switch (e.key) {
    case "?":
      return { kind: "help" };
    case "/":
      return { kind: "filter" };
    case "g":
      return { kind: "sequence" };
    case "j":
      return { kind: "move", delta: 1 };
    case "k":
      return { kind: "move", delta: -1 };
    case "Enter":
      return activatable(e.target) ? null : { kind: "open" };
    default:
      return null;
  }
}
