// Live invalidation: each view's query module declares which change-feed
// topics make which of its query keys stale (`Invalidations`); the app
// merges the declarations (src/invalidations.ts) and the provider applies
// every change event through the merged table.
import type { QueryClient, QueryKey } from "@tanstack/react-query";
import type { LiveStore } from "./live";
import { patchRows, type RowPatch } from "./rowPatch";
import type { ChangeEvent } from "./types";

/** A change-feed topic (`slots`, `queue`, `bots`, `settings`, `pools`, `peers`, `platforms`). */
export type Topic = ChangeEvent["topics"][number];

/** Which query keys (prefixes) each topic makes stale. */
export type Invalidations = Partial<Record<Topic, readonly QueryKey[]>>;

/** The union of several modules' declarations, per topic, without duplicate keys. */
export function mergeInvalidations(...parts: Invalidations[]): Invalidations {
  const merged: Partial<Record<Topic, QueryKey[]>> = {};
  for (const part of parts) {
    for (const [topic, keys] of Object.entries(part) as [Topic, readonly QueryKey[]][]) {
      const into = (merged[topic] ??= []);
      for (const key of keys) {
        if (!into.some((k) => JSON.stringify(k) === JSON.stringify(key))) into.push(key);
      }
    }
  }
  return merged;
}

/**
 * The lists patched row by row when an event names the slots it changed
 * (`slotIds`): their keys are then not invalidated for the `slots` topic.
 */
export interface RowPatches {
  slots?: RowPatch<{ id: number }>;
}

/**
 * Applies one change event to the cache (through `table`, and `patches`
 * for an event that names its slots) and the live state.
 */
export function applyChangeEvent(client: QueryClient, store: LiveStore, event: ChangeEvent, now: number, table: Invalidations, patches: RowPatches = {}) {
  if (event.kind === "disconnected") {
    store.update({ feedDisconnected: true, message: event.message ?? "The live feed is disconnected." });
    return;
  }
  store.update({ feedDisconnected: false, lastUpdatedAt: now });
  if (event.kind === "resync") {
    void client.invalidateQueries();
    return;
  }
  const slotPatch = event.slotIds !== null && event.topics.includes("slots") ? patches.slots : undefined;
  const patched = slotPatch ? JSON.stringify(slotPatch.key) : null;
  const seen = new Set<string>();
  for (const topic of event.topics) {
    for (const key of table[topic] ?? []) {
      const id = JSON.stringify(key);
      // Patched below, unless another topic of the event makes the list stale.
      if (seen.has(id) || (topic === "slots" && id === patched)) continue;
      seen.add(id);
      invalidate(client, key);
    }
  }
  if (slotPatch && patched !== null && !seen.has(patched)) {
    patchRows(client, slotPatch, event.slotIds ?? [], (key) => invalidate(client, key));
  }
}

/** Per client: the keys whose refetch is under way, and whether another change came meanwhile. */
const underWay = new WeakMap<QueryClient, Map<string, boolean>>();

/**
 * Invalidates `key` (refetching its active queries). While an earlier
 * refetch of the same key is under way, a new change does not cancel and
 * restart it (the default): it asks for one more refetch when that one
 * ends, however many changes came meanwhile. So a list that takes longer
 * to fetch than the gap between change events still arrives, and a burst
 * of events costs two fetches, not one per event. A refetch under way
 * that another caller started is followed by one more the same way.
 */
function invalidate(client: QueryClient, key: QueryKey) {
  let flights = underWay.get(client);
  if (!flights) underWay.set(client, (flights = new Map()));
  const id = JSON.stringify(key);
  if (flights.has(id)) {
    flights.set(id, true);
    return;
  }
  // A fetch already under way that this module did not start (a view's
  // mount, the safety-net interval) may have read before this change: it is
  // not restarted either, so one more follows it.
  flights.set(id, client.isFetching({ queryKey: key }) > 0);
  void client
    .invalidateQueries({ queryKey: key }, { cancelRefetch: false })
    .catch(() => undefined)
    .finally(() => {
      const again = flights.get(id) === true;
      flights.delete(id);
      if (again) invalidate(client, key);
    });
}
