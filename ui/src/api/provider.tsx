// The query client, the core's change feed and freshness tracking for the
// whole app. Change events invalidate only the query keys their topics map
// to (the `invalidations` table the app passes in); a slow refetchInterval
// stays as a safety net.
import { QueryClient, QueryClientProvider, useIsFetching, useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { DATABASE_UNAVAILABLE, errorCode } from "./errors";
import { applyChangeEvent, type Invalidations, type RowPatches } from "./invalidation";
import { createLiveStore, type LiveState, type LiveStore } from "./live";
import { api, onChange } from "./tauri";

/** Safety-net refresh; events are the main mechanism. */
export const SAFETY_REFETCH_MS = 15_000;
/** Database probe (connection_status) period. */
export const PROBE_MS = 5_000;

/** The probe's key: never counted as data freshness, never refetched on recovery. */
export const connectionKey = ["connection"] as const;

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        refetchInterval: SAFETY_REFETCH_MS,
        refetchOnWindowFocus: false,
        staleTime: 2_000,
        // A view left behind keeps its data a minute, not five: the window stays open for days.
        gcTime: 60_000,
        retry: (count, error) => errorCode(error) !== DATABASE_UNAVAILABLE && count < 2,
      },
    },
  });
}

const LiveContext = createContext<LiveStore | null>(null);

function useLiveStore(): LiveStore {
  const store = useContext(LiveContext);
  if (!store) throw new Error("outside <ApiProvider>");
  return store;
}

export function useLiveState(): LiveState {
  const store = useLiveStore();
  return useSyncExternalStore(store.subscribe, store.get);
}

/** Query client + change feed + freshness tracking for the whole app. */
export function ApiProvider({
  children,
  invalidations,
  patches,
  client: given,
  liveStore: givenStore,
}: {
  children: ReactNode;
  /** Which query keys each change topic makes stale (every view's declaration, merged). */
  invalidations: Invalidations;
  /** The lists patched by row for an event that names what changed (none: every list is read again). */
  patches?: RowPatches;
  client?: QueryClient;
  liveStore?: LiveStore;
}) {
  const [client] = useState(() => given ?? createQueryClient());
  const [store] = useState(() => givenStore ?? createLiveStore());

  // Freshness from query results; database_unavailable anywhere raises the banner.
  useEffect(() => {
    return client.getQueryCache().subscribe((e) => {
      if (e.type !== "updated" || e.query.queryKey[0] === connectionKey[0]) return;
      if (e.action.type === "success") {
        store.update({ lastUpdatedAt: Date.now(), databaseDown: false });
      } else if (e.action.type === "error" && errorCode(e.action.error) === DATABASE_UNAVAILABLE) {
        store.update({ databaseDown: true, message: e.action.error.message });
      }
    });
  }, [client, store]);

  // The core's change feed.
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    onChange((event) => applyChangeEvent(client, store, event, Date.now(), invalidations, patches))
      .then((fn) => {
        if (cancelled) fn();
        else unlisten = fn;
      })
      .catch((e: unknown) => store.update({ feedDisconnected: true, message: String(e) }));
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, [client, store, invalidations, patches]);

  return (
    <QueryClientProvider client={client}>
      <LiveContext.Provider value={store}>
        <ConnectionProbe />
        {children}
      </LiveContext.Provider>
    </QueryClientProvider>
  );
}

/** Polls connection_status; on recovery after an outage, refetches everything. */
function ConnectionProbe() {
  const store = useLiveStore();
  const client = useQueryClient();
  const { data, error } = useQuery({
    queryKey: connectionKey,
    queryFn: api.connectionStatus,
    refetchInterval: PROBE_MS,
    retry: false,
  });
  useEffect(() => {
    if (!data) return;
    const wasDown = store.get().databaseDown;
    if (!data.databaseOk) {
      store.update({ databaseDown: true, message: data.message ?? "The database is unreachable." });
    } else {
      store.update({ databaseDown: false, lastUpdatedAt: Date.now(), ...(data.feedConnected ? { feedDisconnected: false } : {}) });
      if (wasDown) void client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== connectionKey[0] });
    }
  }, [data, store, client]);
  useEffect(() => {
    if (error && errorCode(error) === DATABASE_UNAVAILABLE) store.update({ databaseDown: true, message: error.message });
  }, [error, store]);
  return null;
}

/** Refetches every active query now; `refreshing` while anything is in flight. */
export function useRefreshAll() {
  const client = useQueryClient();
  const refreshing = useIsFetching() > 0;
  const refresh = useCallback(() => client.refetchQueries({ type: "active" }), [client]);
  return { refresh, refreshing };
}
