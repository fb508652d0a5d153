// Freshness of what the UI shows: when data last arrived (query success or
// a change event), whether the change feed is connected, whether the
// database answers. Drives the LIVE indicator and the database banner.

export interface LiveState {
  /** Last successful data refresh or change event (ms since epoch). */
  lastUpdatedAt: number | null;
  /** The feed said `disconnected` and has not spoken since. */
  feedDisconnected: boolean;
  /** The database is unreachable (a `database_unavailable` error or a failed probe). */
  databaseDown: boolean;
  /** Why, for the banner. */
  message: string | null;
}

export interface LiveStore {
  get(): LiveState;
  subscribe(listener: () => void): () => void;
  update(patch: Partial<LiveState>): void;
}

export function createLiveStore(initial: Partial<LiveState> = {}): LiveStore {
  let state: LiveState = {
    lastUpdatedAt: null,
    feedDisconnected: false,
    databaseDown: false,
    message: null,
    ...initial,
  };
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update(patch) {
      const next = { ...state, ...patch };
      if ((Object.keys(patch) as (keyof LiveState)[]).every((k) => next[k] === state[k])) return;
      state = next;
      listeners.forEach((l) => l());
    },
  };
}

/** No refresh success for this long: the indicator turns STALE. */
export const STALE_AFTER_MS = 20_000;

export type LiveLevel = "live" | "stale" | "disconnected";

export function liveLevel(s: LiveState, now: number): LiveLevel {
  if (s.databaseDown || s.feedDisconnected) return "disconnected";
  if (s.lastUpdatedAt === null || now - s.lastUpdatedAt > STALE_AFTER_MS) return "stale";
  return "live";
}
