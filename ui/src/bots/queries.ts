// The Bots view's queries: the bots matching a filter, page by page (keyset
// paging: each page asks for the ids below the last one seen), and one
// bot's timeline, and the schedule (upcoming scheduled bots, capacity booked
// per window). They go stale when bots, the queue, slots or the audit log
// change; the schedule also when the settings (the limits) do.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiError } from "../api/errors";
import type { Moved } from "../bindings";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";
import { toBotFilter, type BotQuery } from "./filter";

export const botsKeys = {
  /** Every list and timeline (their common prefix). */
  all: ["bots"] as const,
  list: (query: BotQuery) => ["bots", "list", query] as const,
  /** Every timeline (their common prefix). */
  timelines: ["bots", "timeline"] as const,
  timeline: (id: number) => ["bots", "timeline", id] as const,
  /** Every schedule read (their common prefix). */
  schedules: ["bots", "schedule"] as const,
  schedule: (hours: number) => ["bots", "schedule", hours] as const,
};

/**
 * Statuses, queue positions, waits and slots show in the lists and the
 * timelines; the actions taken (the audit log) only in a timeline.
 */
export const botsInvalidations: Invalidations = {
  bots: [botsKeys.all],
  queue: [botsKeys.all],
  slots: [botsKeys.all],
  audit: [botsKeys.timelines],
  // The schedule's capacity is the platforms' limits.
  settings: [botsKeys.schedules],
};

/** The bots matching `query`, newest first; `fetchNextPage` loads the next older page. */
export const useBotPages = (query: BotQuery) =>
  useInfiniteQuery({
    queryKey: botsKeys.list(query),
    queryFn: ({ pageParam }) => api.bots(toBotFilter(query, Date.now(), pageParam)),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.nextBefore ?? undefined,
    // A new filter keeps showing the old rows (dimmed) until its first page arrives.
    placeholderData: (previous) => previous,
  });

export const useBotTimeline = (id: number | null) =>
  useQuery({
    queryKey: botsKeys.timeline(id ?? -1),
    queryFn: () => api.botTimeline(id as number),
    enabled: id !== null,
  });

/** The scheduled bots of the next `hours` and the capacity booked per 15-minute window. */
export const useUpcomingSchedule = (hours: number) =>
  useQuery({
    queryKey: botsKeys.schedule(hours),
    queryFn: () => api.upcomingSchedule(hours),
  });

/** Moves a scheduled bot to another join time (RFC 3339); the bots and the schedule are read again after. */
export function useRescheduleBot() {
  const client = useQueryClient();
  return useMutation<Moved, ApiError, { id: number; joinAt: string }>({
    mutationFn: ({ id, joinAt }) => api.rescheduleBot(id, joinAt),
    onSettled: () => void client.invalidateQueries({ queryKey: botsKeys.all }),
  });
}
