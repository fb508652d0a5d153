// The dashboard's queries: per-pool counts and the slots table.
import { useQuery, type QueryKey } from "@tanstack/react-query";
import type { Invalidations } from "../api/invalidation";
import type { RowPatch } from "../api/rowPatch";
import { api } from "../api/tauri";
import type { Slot } from "../api/types";
import { MAX_SLOTS_BY_IDS } from "../bindings";

export const dashboardKeys = {
  stats: ["stats"] as const,
  /** Every `slots(pool)` key (their common prefix). */
  allSlots: ["slots"] as const,
  slots: (pool: string | null) => ["slots", { pool }] as const,
};

/**
 * Slot changes and pool changes (applied, retired) move the counts; slot
 * changes the table (every change of a slot row, a pool's included, is
 * announced on `slots`; an event that names its slots patches their rows:
 * `slotRows`).
 */
export const dashboardInvalidations: Invalidations = {
  slots: [dashboardKeys.stats, dashboardKeys.allSlots],
  pools: [dashboardKeys.stats],
};

/** The slots tables' rows, read by id for an event that names its slots. */
export const slotRows: RowPatch<Slot> = {
  key: dashboardKeys.allSlots,
  read: (ids) => api.slotsByIds(ids),
  belongs: (queryKey: QueryKey, row) => {
    const pool = (queryKey[1] as { pool: string | null } | undefined)?.pool ?? null;
    return pool === null || pool === row.pool;
  },
  maxIds: MAX_SLOTS_BY_IDS,
};

export const usePoolStats = () => useQuery({ queryKey: dashboardKeys.stats, queryFn: api.poolStats });

/** Slots of one pool (null: all pools); the status filter is applied client-side. */
export const useSlots = (pool: string | null) =>
  useQuery({
    queryKey: dashboardKeys.slots(pool),
    queryFn: () => api.listSlots({ statuses: [], pool, platform: null }),
    placeholderData: (prev) => prev,
  });
