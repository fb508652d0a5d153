import { useLiveState } from "../api/provider";
import { liveLevel } from "../api/live";
import { useNow } from "./clock";
import { formatDuration } from "./format";

const LABEL = { live: "LIVE", stale: "STALE", disconnected: "OFFLINE" } as const;
const TONE = {
  live: "text-idle border-idle/40 bg-idle/10",
  stale: "text-busy border-busy/40 bg-busy/10",
  disconnected: "text-error border-error/50 bg-error/10",
} as const;
const DOT = { live: "bg-idle", stale: "bg-busy", disconnected: "bg-error" } as const;

/** LIVE dot (still: an endless pulse kept the web view repainting); hover: "Updated Ns ago"; STALE / OFFLINE when data stops. */
export function LiveIndicator() {
  const state = useLiveState();
  const now = useNow();
  const level = liveLevel(state, now);
  const ago =
    state.lastUpdatedAt === null ? "No data yet" : `Updated ${formatDuration(Math.max(0, now - state.lastUpdatedAt))} ago`;
  const detail = level === "disconnected" ? ` · ${state.message ?? "disconnected"}` : level === "stale" ? " · no updates recently" : "";
  return (
    <span className="group relative inline-flex" data-testid="live-indicator" data-level={level}>
      <span
        tabIndex={0}
        aria-label={`${LABEL[level]}: ${ago}`}
        className={`inline-flex items-center gap-2 border px-2.5 py-1 font-mono text-[11px] font-semibold tracking-[0.18em] ${TONE[level]}`}
      >
        <span className="relative flex size-2">
          <span className={`relative size-2 rounded-full ${DOT[level]}`} />
        </span>
        {LABEL[level]}
      </span>
      <span
        role="tooltip"
        className="pointer-events-none absolute right-0 top-full z-30 mt-1.5 whitespace-nowrap border border-line bg-panel-2 px-2 py-1 font-mono text-[11px] text-fg opacity-0 shadow-xl transition-opacity group-hover:opacity-100 group-focus-within:opacity-100"
      >
        {ago}
        {detail}
      </span>
    </span>
  );
}

/** Shown while the database is unreachable; disappears by itself on recovery. */
export function DatabaseBanner() {
  const state = useLiveState();
  if (!state.databaseDown && !state.feedDisconnected) return null;
  const db = state.databaseDown;
  return (
    <div
      role="alert"
      className={`flex items-center gap-3 border-b px-6 py-2 text-sm ${db ? "border-error/40 bg-error/15 text-error" : "border-busy/40 bg-busy/10 text-busy"}`}
    >
      <span className="font-mono text-xs font-semibold tracking-widest">{db ? "[DATABASE UNREACHABLE]" : "[FEED DISCONNECTED]"}</span>
      <span className="opacity-90">
        {state.message ?? (db ? "The database does not answer." : "Live updates stopped.")} Showing the last known data; Berth
        reconnects by itself.
      </span>
    </div>
  );
}
