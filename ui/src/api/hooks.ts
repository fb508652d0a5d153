// Typed data hooks over the API module (TanStack Query). Change events
// from the core invalidate only the query keys of their topics; a slow
// refetchInterval stays as a safety net.
import {
  QueryClient,
  QueryClientProvider,
  useIsFetching,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryKey,
} from "@tanstack/react-query";
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { ApiError, DATABASE_UNAVAILABLE, errorCode } from "./errors";
import { createLiveStore, type LiveState, type LiveStore } from "./live";
import { api, onChange, onCloseRequested } from "./tauri";
import type { AccountRefresh, ChangeEvent, CloseAnswer, CloseRequested, DeployBatch, DeployRequest, PlatformEdit, Settings } from "./types";

/** Safety-net refresh; events are the main mechanism. */
export const SAFETY_REFETCH_MS = 15_000;
/** Database probe (connection_status) period. */
export const PROBE_MS = 5_000;

export const queryKeys = {
  stats: ["stats"] as const,
  pools: ["pools"] as const,
  slots: (pool: string | null) => ["slots", { pool }] as const,
  queue: ["queue", "entries"] as const,
  queueStats: ["queue", "stats"] as const,
  platforms: ["platforms"] as const,
  settings: ["settings"] as const,
  history: (limit: number) => ["settings", "history", limit] as const,
  bot: (id: number) => ["bot", id] as const,
  connection: ["connection"] as const,
  // Under "pools" so the pools topic refreshes them.
  definitions: ["pools", "definitions"] as const,
  definition: (name: string) => ["pools", "definition", name] as const,
};

/** Which query keys (prefixes) each change-feed topic makes stale. */
export const TOPIC_KEYS: Record<string, QueryKey[]> = {
  slots: [["stats"], ["slots"], ["platforms"]],
  queue: [["queue"]],
  settings: [["settings"], ["platforms"]],
  platforms: [["platforms"]],
  bots: [["bot"], ["platforms"]],
  pools: [["pools"], ["stats"], ["slots"]],
};

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        refetchInterval: SAFETY_REFETCH_MS,
        refetchOnWindowFocus: false,
        staleTime: 2_000,
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

/** Applies one change event to the cache and the live state. */
export function applyChangeEvent(client: QueryClient, store: LiveStore, event: ChangeEvent, now: number) {
  if (event.kind === "disconnected") {
    store.update({ feedDisconnected: true, message: event.message ?? "The live feed is disconnected." });
    return;
  }
  store.update({ feedDisconnected: false, lastUpdatedAt: now });
  if (event.kind === "resync") {
    void client.invalidateQueries();
    return;
  }
  const seen = new Set<string>();
  for (const topic of event.topics) {
    for (const key of TOPIC_KEYS[topic] ?? []) {
      const id = JSON.stringify(key);
      if (seen.has(id)) continue;
      seen.add(id);
      void client.invalidateQueries({ queryKey: key });
    }
  }
}

/** Query client + change feed + freshness tracking for the whole app. */
export function ApiProvider({
  children,
  client: given,
  liveStore: givenStore,
}: {
  children: ReactNode;
  client?: QueryClient;
  liveStore?: LiveStore;
}) {
  const [client] = useState(() => given ?? createQueryClient());
  const [store] = useState(() => givenStore ?? createLiveStore());

  // Freshness from query results; database_unavailable anywhere raises the banner.
  useEffect(() => {
    return client.getQueryCache().subscribe((e) => {
      if (e.type !== "updated" || e.query.queryKey[0] === "connection") return;
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
    onChange((event) => applyChangeEvent(client, store, event, Date.now()))
      .then((fn) => {
        if (cancelled) fn();
        else unlisten = fn;
      })
      .catch((e: unknown) => store.update({ feedDisconnected: true, message: String(e) }));
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, [client, store]);

  return createElement(
    QueryClientProvider,
    { client },
    createElement(LiveContext.Provider, { value: store }, createElement(ConnectionProbe), children),
  );
}

/** Polls connection_status; on recovery after an outage, refetches everything. */
function ConnectionProbe() {
  const store = useLiveStore();
  const client = useQueryClient();
  const { data, error } = useQuery({
    queryKey: queryKeys.connection,
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
      if (wasDown) void client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "connection" });
    }
  }, [data, store, client]);
  useEffect(() => {
    if (error && errorCode(error) === DATABASE_UNAVAILABLE) store.update({ databaseDown: true, message: error.message });
  }, [error, store]);
  return null;
}

// ---- queries ----------------------------------------------------------------

export const usePoolStats = () => useQuery({ queryKey: queryKeys.stats, queryFn: api.poolStats });
export const usePools = () => useQuery({ queryKey: queryKeys.pools, queryFn: api.listPools });
export const useQueue = () => useQuery({ queryKey: queryKeys.queue, queryFn: api.queueEntries });
export const useQueueStats = () => useQuery({ queryKey: queryKeys.queueStats, queryFn: api.queueStats });
export const usePlatformsOverview = () => useQuery({ queryKey: queryKeys.platforms, queryFn: api.platformsOverview });
export const useSettings = () => useQuery({ queryKey: queryKeys.settings, queryFn: api.getSettings });
/** The core's settings ranges; constant while the app runs, so fetched once (no topic invalidates them). */
export const useSettingsRules = () => useQuery({ queryKey: ["settings-rules"], queryFn: api.settingsRules, staleTime: Infinity });

/** Slots of one pool (null: all pools); the status filter is applied client-side. */
export const useSlots = (pool: string | null) =>
  useQuery({
    queryKey: queryKeys.slots(pool),
    queryFn: () => api.listSlots({ statuses: [], pool, platform: null }),
    placeholderData: (prev) => prev,
  });

export const useSettingsHistory = (limit = 20) =>
  useQuery({ queryKey: queryKeys.history(limit), queryFn: () => api.settingsHistory(limit) });

export const useBotDetails = (id: number | null) =>
  useQuery({
    queryKey: queryKeys.bot(id ?? -1),
    queryFn: () => api.botDetails(id as number),
    enabled: id !== null,
  });

/** Refetches every active query now; `refreshing` while anything is in flight. */
export function useRefreshAll() {
  const client = useQueryClient();
  const refreshing = useIsFetching() > 0;
  const refresh = useCallback(() => client.refetchQueries({ type: "active" }), [client]);
  return { refresh, refreshing };
}

// ---- mutations --------------------------------------------------------------

/** What a settings save sends, in order: priority, platform edits, global timeout. */
export interface SettingsPlan {
  order?: string[];
  edits: { platform: string; edit: PlatformEdit }[];
  globalQueueTimeoutMs?: number;
}

/** One save is one command and one transaction: a refused save changes nothing. */
export function useSaveSettings() {
  const client = useQueryClient();
  return useMutation<Settings, ApiError, SettingsPlan>({
    mutationFn: (plan) =>
      api.saveSettings({ order: plan.order ?? null, edits: plan.edits, globalQueueTimeoutMs: plan.globalQueueTimeoutMs ?? null }),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: ["settings"] });
      void client.invalidateQueries({ queryKey: ["platforms"] });
    },
  });
}

// ---- pool definitions -------------------------------------------------------

export const useDefinitions = () => useQuery({ queryKey: queryKeys.definitions, queryFn: api.listDefinitions });

export const useDefinition = (name: string | null) =>
  useQuery({
    queryKey: queryKeys.definition(name ?? ""),
    queryFn: () => api.getDefinition(name as string),
    enabled: name !== null,
  });

/** Validation of `text` (already debounced by the caller); never cached as stale. */
export const useValidation = (text: string) =>
  useQuery({
    queryKey: ["definition-validation", text],
    queryFn: () => api.validateDefinition(text),
    staleTime: Infinity,
    refetchInterval: false,
    placeholderData: (prev) => prev,
  });

function useDefinitionMutation<T, V>(fn: (v: V) => Promise<T>) {
  const client = useQueryClient();
  return useMutation<T, ApiError, V>({
    mutationFn: fn,
    onSettled: () => void client.invalidateQueries({ queryKey: ["pools"] }),
  });
}

export const useSaveDefinition = () =>
  useDefinitionMutation((v: { originalName: string | null; text: string }) => api.saveDefinition(v.originalName, v.text));
export const useApplyDefinition = () => useDefinitionMutation((name: string) => api.applyDefinition(name));
export const useRefreshAccounts = () => useDefinitionMutation((name: string) => api.refreshAccounts(name));
export const useDeleteDefinition = () => useDefinitionMutation((name: string) => api.deleteDefinition(name));
/** Repairs a broken file with valid text (`repairDefinition`). */
export const useRepairDefinition = () =>
  useDefinitionMutation((v: { file: string; text: string }) => api.repairDefinition(v.file, v.text));

/** The raw text of a file in the pools directory (a broken one, to repair); read once per opening. */
export const useDefinitionFile = (file: string | null) =>
  useQuery({
    queryKey: ["definition-file", file ?? ""],
    queryFn: () => api.readDefinitionFile(file as string),
    enabled: file !== null,
    staleTime: Infinity,
    refetchInterval: false,
    gcTime: 0,
  });

// ---- visual query builder ---------------------------------------------------

/** Catalogue lookups change rarely: no safety-net polling. */
const CATALOGUE = { staleTime: 60_000, refetchInterval: false } as const;

export const useQueryTables = (enabled = true) => useQuery({ queryKey: ["query-tables"], queryFn: api.queryTables, enabled, ...CATALOGUE });

export const useTableColumns = (table: string | null) =>
  useQuery({
    queryKey: ["table-columns", table ?? ""],
    queryFn: () => api.tableColumns(table as string),
    enabled: table !== null && table !== "",
    retry: false,
    ...CATALOGUE,
  });

// ---- deploying --------------------------------------------------------------

/** What a deploy sends: the batch, after refreshing the pool's accounts when asked. */
export interface DeployPlan {
  request: DeployRequest;
  refreshFirst: boolean;
}

export interface DeployOutcome {
  refreshed: AccountRefresh | null;
  batch: DeployBatch;
}

export function useDeployBots() {
  const client = useQueryClient();
  return useMutation<DeployOutcome, ApiError, DeployPlan>({
    mutationFn: async ({ request, refreshFirst }) => {
      const refreshed = refreshFirst ? await api.refreshAccounts(request.pool) : null;
      return { refreshed, batch: await api.deployBots(request) };
    },
    onSettled: () => {
      for (const key of [["pools"], ["stats"], ["slots"], ["queue"]]) void client.invalidateQueries({ queryKey: key });
    },
  });
}

export const useTestDefinition = () =>
  useMutation<Awaited<ReturnType<typeof api.testDefinition>>, ApiError, string>({ mutationFn: (text) => api.testDefinition(text) });

// ---- closing the window -----------------------------------------------------

/** Calls `handler` on each close request of the window (answer it with `answerClose`). */
export function useCloseRequests(handler: (event: CloseRequested) => void) {
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let cancelled = false;
    void onCloseRequested((e) => latest.current(e)).then((fn) => {
      if (cancelled) fn();
      else unlisten = fn;
    });
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, []);
}

/** Answers the window's last close request. */
export const answerClose = (answer: CloseAnswer) => api.answerClose(answer);
