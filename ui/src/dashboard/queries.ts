// The dashboard's queries: per-pool counts and the slots table.
import { useQuery } from "@tanstack/react-query";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";

export const dashboardKeys = {
  stats: ["stats"] as const,
  /** Every `slots(pool)` key (their common prefix). */
  allSlots: ["slots"] as const,
  slots: (pool: string | null) => ["slots", { pool }] as const,
};

/** Slot changes and pool changes (applied, retired) move the counts and the table. */
export const dashboardInvalidations: Invalidations = {
  slots: [dashboardKeys.stats, dashboardKeys.allSlots],
  pools: [dashboardKeys.stats, dashboardKeys.allSlots],
};

export const usePoolStats = () => useQuery({ queryKey: dashboardKeys.stats, queryFn: api.poolStats });

/** Slots of one pool (null: all pools); the status filter is applied client-side. */
export const useSlots = (pool: string | null) =>
  useQuery({
    queryKey: dashboardKeys.slots(pool),
    queryFn: () => api.listSlots({ statuses: [], pool, platform: null }),
    placeholderData: (prev) => prev,
  });
