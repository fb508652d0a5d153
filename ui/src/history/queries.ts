// The history view's query (also read by the dashboard's sparklines).
//
// History is not in the topic → key table (src/invalidations.ts): that table
// refetches at once on every event, and a burst of slot or bot changes (fifty
// deploys) would re-run the window query fifty times for a chart whose
// buckets are a minute wide at the finest. Instead the same topics refetch it
// throttled (at most once per LIVE_THROTTLE_MS, the last change always
// caught by a trailing refetch), plus a slow interval per span.
import { useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect } from "react";
import type { Topic } from "../api/invalidation";
import { api, onChange } from "../api/tauri";
import type { HistorySpan } from "../api/types";

export const historyKeys = {
  /** Every span (their common prefix). */
  all: ["history"] as const,
  span: (span: HistorySpan) => ["history", span] as const,
};

/** The topics that move the history: slots (utilisation, failures), bots and the queue (waits, queue length). */
export const HISTORY_TOPICS: readonly Topic[] = ["slots", "bots", "queue"];
/** A change refetches the history at most this often. */
export const LIVE_THROTTLE_MS = 10_000;
/** Safety-net refresh per span: about a bucket's width, at most a few minutes. */
export const REFETCH_MS: Record<HistorySpan, number> = { hour: 15_000, day: 60_000, week: 300_000 };

/** The pool's history over `span`, refetched (throttled) when slots, bots or the queue change. */
export function useHistory(span: HistorySpan) {
  const queryKey = historyKeys.span(span);
  useThrottledRefetch(queryKey, HISTORY_TOPICS, LIVE_THROTTLE_MS);
  return useQuery({
    queryKey,
    queryFn: () => api.history(span),
    refetchInterval: REFETCH_MS[span],
    staleTime: LIVE_THROTTLE_MS,
    // A span switch keeps the previous charts (dimmed) until the new answer: no layout jump.
    placeholderData: (prev) => prev,
  });
}

/**
 * Invalidates `key` when a change on one of `topics` arrives, at most once
 * per `ms` since its data last arrived: a change inside that time schedules
 * one trailing invalidation instead (later changes join it).
 */
export function useThrottledRefetch(key: QueryKey, topics: readonly Topic[], ms: number) {
  const client = useQueryClient();
  const id = JSON.stringify(key);
  const topicList = topics.join(",");
  useEffect(() => {
    const queryKey = JSON.parse(id) as QueryKey;
    const watched = topicList.split(",");
    let timer: ReturnType<typeof setTimeout> | null = null;
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    const fire = () => {
      timer = null;
      // A fetch already under way (another user of the key, the interval) is the refetch.
      void client.invalidateQueries({ queryKey, exact: true }, { cancelRefetch: false });
    };
    onChange((event) => {
      if (event.kind !== "changed" || !event.topics.some((t) => watched.includes(t)) || timer !== null) return;
      const last = client.getQueryState(queryKey)?.dataUpdatedAt ?? 0;
      const wait = last + ms - Date.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    })
      .then((fn) => {
        if (cancelled) fn();
        else unlisten = fn;
      })
      .catch(() => {});
    return () => {
      cancelled = true;
      unlisten?.();
      if (timer !== null) clearTimeout(timer);
    };
  }, [client, id, topicList, ms]);
}
