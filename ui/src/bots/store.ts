// Which bot the Bots view shows the timeline of, and the ways any view opens
// one (a bot id's link, the palette). Kept across view switches: coming
// back to the Bots view shows the bot left open.
import { useSyncExternalStore } from "react";
import { navigateTo } from "../shared/navigation";

let openId: number | null = null;
let searchWanted = false;
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

/** The bot whose timeline is open, if any. */
export function useOpenBot(): number | null {
  return useSyncExternalStore(subscribe, () => openId);
}

/** The bot whose timeline is open, read outside React. */
export const openBotId = () => openId;

/** Opens `id`'s timeline in the Bots view (null closes it); does not switch views. */
export function setOpenBot(id: number | null) {
  if (openId === id) return;
  openId = id;
  notify();
}

/** Switches to the Bots view with bot `id` open (from any view). */
export function openBot(id: number) {
  navigateTo("bots", () => setOpenBot(id));
}

/** Switches to the Bots view and focuses its search (the palette's "Open bot…"). */
export function findBot() {
  navigateTo("bots", () => {
    searchWanted = true;
    notify();
  });
}

/** Whether the Bots view should focus its search (cleared by `searchFocused`). */
export function useSearchWanted(): boolean {
  return useSyncExternalStore(subscribe, () => searchWanted);
}

export function searchFocused() {
  if (!searchWanted) return;
  searchWanted = false;
  notify();
}

/** Test helper: nothing open, nothing asked. */
export function resetBotStore() {
  openId = null;
  searchWanted = false;
  notify();
}
