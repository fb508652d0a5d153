// The app's views: their ids, labels, nav icons and `g`-letters (the sidebar,
// the hash route, the command palette and the shortcuts list all read this).

export type View = "dashboard" | "pools" | "infrastructure" | "bots" | "history" | "settings";

export interface ViewInfo {
  id: View;
  label: string;
  /** The letter after `g` that switches to it (`g d`). */
  key: string;
  icon: string;
}

export const VIEWS: readonly ViewInfo[] = [
  { id: "dashboard", label: "Pool dashboard", key: "d", icon: "M3 3h7v9H3zM14 3h7v5h-7zM14 12h7v9h-7zM3 16h7v5H3z" },
  { id: "pools", label: "Pools", key: "p", icon: "M4 6h16M4 6v12h16V6M8 10h8M8 14h5" },
  { id: "infrastructure", label: "Infrastructure", key: "i", icon: "M4 5h16v4H4zM4 10h16v4H4zM4 15h16v4H4zM7 7h.01M7 12h.01M7 17h.01" },
  { id: "bots", label: "Bots", key: "b", icon: "M6 8h12v11H6zM12 4v4M9.5 12.5h.01M14.5 12.5h.01M9.5 16h5M3 12v3M21 12v3" },
  { id: "history", label: "History", key: "h", icon: "M4 4v16h16M7 15l4-5 3 3 5-6" },
  { id: "settings", label: "Settings", key: "s", icon: "M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0M14 4v4M8 10v4M16 16v4" },
];

export function isView(s: string | null | undefined): s is View {
  return VIEWS.some((v) => v.id === s);
}

/** The view a `g` + `key` sequence switches to, if any. */
export function viewOfKey(key: string): View | null {
  return VIEWS.find((v) => v.key === key.toLowerCase())?.id ?? null;
}
