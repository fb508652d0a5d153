// The Bots view's filter: what the operator picked (statuses, platforms,
// pools, a time range, a search) and the `BotFilter` the core is asked with.
// Pure functions, so the query a choice makes is tested without a screen.
import { exhaustive, type BotStatus, type PlatformKind } from "../api/types";
import type { BotFilter } from "../bindings";

/** Rows per page (the core takes 1 to 1000). */
export const PAGE_SIZE = 200;

/** Every bot status, in lifecycle order. */
export const BOT_STATUSES: readonly BotStatus[] = exhaustive<BotStatus>()([
  "SCHEDULED",
  "QUEUED",
  "DEPLOYING",
  "JOINING_CALL",
  "IN_WAITING_ROOM",
  "IN_CALL",
  "LEAVING",
  "CALL_ENDED",
  "DONE",
  "FATAL",
]);

/** Every deployment platform. */
export const PLATFORMS: readonly PlatformKind[] = exhaustive<PlatformKind>()(["k8s", "aws", "coolify", "local"]);

/** Created in the last hour, day or week; since a local time (`datetime-local` text); or any time. */
export type TimeRange = { kind: "all" } | { kind: "hour" } | { kind: "day" } | { kind: "week" } | { kind: "since"; at: string };

export const TIME_CHOICES: { kind: Exclude<TimeRange["kind"], "since">; label: string; ms: number | null }[] = [
  { kind: "all", label: "All time", ms: null },
  { kind: "hour", label: "Last hour", ms: 3_600_000 },
  { kind: "day", label: "Last day", ms: 86_400_000 },
  { kind: "week", label: "Last week", ms: 7 * 86_400_000 },
];

/** What the operator picked (the query key: the relative times are resolved when fetching). */
export interface BotQuery {
  statuses: BotStatus[];
  platforms: PlatformKind[];
  pools: string[];
  time: TimeRange;
  search: string;
}

export const EMPTY_QUERY: BotQuery = { statuses: [], platforms: [], pools: [], time: { kind: "all" }, search: "" };

/** The start of `time` at `now`, as RFC 3339; null for all time or an unreadable date. */
export function sinceOf(time: TimeRange, now: number): string | null {
  if (time.kind === "since") {
    const at = new Date(time.at).getTime(); // a `datetime-local` value: local time
    return time.at === "" || Number.isNaN(at) ? null : new Date(at).toISOString();
  }
  const ms = TIME_CHOICES.find((c) => c.kind === time.kind)?.ms ?? null;
  return ms === null ? null : new Date(now - ms).toISOString();
}

/**
 * The core's filter for `query` at `now`, for the page below `before`
 * (null: the first page). The search goes as typed (trimmed): the core
 * reads `123` and `#123` as an id, anything else as part of a meeting URL.
 */
export function toBotFilter(query: BotQuery, now: number, before: number | null, limit = PAGE_SIZE): BotFilter {
  const search = query.search.trim();
  return {
    statuses: [...query.statuses],
    platforms: [...query.platforms],
    pools: [...query.pools],
    since: sinceOf(query.time, now),
    until: null,
    search: search === "" ? null : search,
    before,
    limit,
  };
}

/** Whether the search names one bot by id (`123`, `#123`): that bot, if any. */
export function searchedId(search: string): number | null {
  const m = /^#?(\d+)$/.exec(search.trim());
  return m ? Number(m[1]) : null;
}

/** Whether a status is final (the bot will not change again). */
export const isFinal = (s: BotStatus) => s === "DONE" || s === "FATAL";
