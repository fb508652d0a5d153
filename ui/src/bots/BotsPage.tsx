// The Bots view (issue 14): every bot, newest first, filterable by status,
// platform, pool and time, searchable by id and meeting URL, virtualised and
// loaded page by page as the operator scrolls; a bot opens its timeline.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useQueryClient, type InfiniteData } from "@tanstack/react-query";
import type { BotPage, BotRow } from "../bindings";
import { usePoolStats } from "../dashboard/queries";
import { focusViewFilter } from "../keyboard/KeyboardLayer";
import { useCommands, type CommandSpec } from "../keyboard/registry";
import { PageHeader } from "../shared/PageHeader";
import { QueryState } from "../shared/QueryState";
import { BotFilters } from "./BotFilters";
import { BotsTable } from "./BotsTable";
import { BotTimelinePanel } from "./BotTimelinePanel";
import { ScheduleTimeline } from "./ScheduleTimeline";
import { PANEL_WIDTH } from "./columns";
import { BOT_STATUSES, EMPTY_QUERY, TIME_CHOICES, type BotQuery } from "./filter";
import { botsKeys, useBotPages } from "./queries";
import { searchFocused, setOpenBot, useOpenBot, useSearchWanted } from "./store";

// The filter outlives the view: coming back shows the same bots.
let lastQuery: BotQuery = EMPTY_QUERY;

/** Test helper: the next mount starts unfiltered. */
export function resetBotsQuery() {
  lastQuery = EMPTY_QUERY;
}

export function BotsPage() {
  const [query, setQueryState] = useState<BotQuery>(() => lastQuery);
  const setQuery = useCallback((q: BotQuery) => {
    lastQuery = q;
    setQueryState(q);
  }, []);
  const pages = useBotPages(query);
  const rows = useMemo(() => unique(pages.data?.pages.flatMap((p) => p.rows) ?? []), [pages.data]);
  const count = countText(rows.length, pages.data?.pages[0]);
  const openId = useOpenBot();
  const pools = (usePoolStats().data ?? []).map((s) => s.pool);
  const { hasNextPage, isFetching, isFetchingNextPage, isPlaceholderData, fetchNextPage } = pages;
  // Not over a fetch under way (a new filter's first page, a live refresh): it would be cancelled.
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetching && !isPlaceholderData) void fetchNextPage();
  }, [hasNextPage, isFetching, isPlaceholderData, fetchNextPage]);
  const client = useQueryClient();
  const keepFirstPage = useCallback(() => {
    if (isFetching) return;
    client.setQueryData<InfiniteData<BotPage, number | null>>(botsKeys.list(query), (d) =>
      d && d.pages.length > 1 ? { pages: d.pages.slice(0, 1), pageParams: d.pageParams.slice(0, 1) } : d,
    );
  }, [client, query, isFetching]);

  // The palette's "Open bot…" asked for the search.
  const searchWanted = useSearchWanted();
  useEffect(() => {
    if (searchWanted && focusViewFilter()) searchFocused();
  }, [searchWanted]);
  useBotsCommands(query, setQuery, openId);

  const filtered = JSON.stringify(query) !== JSON.stringify(EMPTY_QUERY);
  return (
    <div className="flex flex-col">
      <PageHeader title="Bots" subtitle="Every bot, newest first: where it runs, how long it waited, what happened to it" />
      {/* Never narrower than its rows: a narrow window scrolls the page sideways, the header stays sticky. */}
      <div
        className="grid gap-4 p-6"
        style={{ gridTemplateColumns: openId !== null ? `minmax(min-content,1fr) ${PANEL_WIDTH}px` : "minmax(min-content,1fr)" }}
      >
        <div className="flex flex-col gap-4">
        <ScheduleTimeline />
        <section aria-label="Bots" className="panel flex flex-col">
          <div className="flex flex-wrap items-center justify-between gap-3 border-b border-line px-4 py-2.5">
            <h2 className="panel-title">
              Bots{" "}
              <span className="text-fg" data-testid="bots-count">
                ({count})
              </span>
            </h2>
            <BotFilters query={query} onChange={setQuery} pools={pools} />
          </div>
          <QueryState query={pages} errorTitle="Could not load the bots" errorClassName="p-3" />
          <div aria-busy={isPlaceholderData} className={isPlaceholderData ? "opacity-50 transition-opacity" : "transition-opacity"}>
            <BotsTable
              rows={rows}
              openId={openId}
              onOpen={setOpenBot}
              onNearEnd={loadMore}
              onBackAtTop={keepFirstPage}
              loadingMore={isFetchingNextPage}
              empty={pages.data === undefined ? (pages.error ? "" : "Loading bots…") : filtered ? "No bot matches." : "No bots yet."}
            />
          </div>
        </section>
        </div>
        {openId !== null && <BotTimelinePanel id={openId} onClose={() => setOpenBot(null)} />}
      </div>
    </div>
  );
}

/** `1234`, `200 of 1234 loaded`, `200 of 10000+ loaded` (past the core's counting cap), `…` before the first page. */
export function countText(loaded: number, first: BotPage | undefined): string {
  if (!first) return "…";
  const total = `${first.total}${first.totalCapped ? "+" : ""}`;
  return loaded === first.total && !first.totalCapped ? total : `${loaded} of ${total} loaded`;
}

/** Rows by id, first seen kept (a refetch racing a new page may repeat one). */
function unique(rows: BotRow[]): BotRow[] {
  const seen = new Set<number>();
  return rows.filter((r) => !seen.has(r.id) && (seen.add(r.id), true));
}

/** The palette's commands of the Bots view: search, statuses, time, clear, close the timeline. */
function useBotsCommands(query: BotQuery, setQuery: (q: BotQuery) => void, openId: number | null) {
  const commands = useMemo((): CommandSpec[] => {
    const list: CommandSpec[] = [
      { id: "bots.search", group: "Bots", title: "Search bots (id or meeting URL)", shortcut: "/", run: () => void focusViewFilter() },
      { id: "bots.clear", group: "Bots", title: "Clear the bots filters", keywords: ["reset", "all"], run: () => setQuery(EMPTY_QUERY) },
      { id: "bots.status.all", group: "Bots", title: "Show bots of every status", run: () => setQuery({ ...query, statuses: [] }) },
      ...BOT_STATUSES.map(
        (s): CommandSpec => ({
          id: `bots.status.${s}`,
          group: "Bots",
          title: `Show only ${s} bots`,
          keywords: ["filter", "status", s.toLowerCase()],
          run: () => setQuery({ ...query, statuses: [s] }),
        }),
      ),
      ...TIME_CHOICES.map(
        (c): CommandSpec => ({
          id: `bots.time.${c.kind}`,
          group: "Bots",
          title: c.kind === "all" ? "Show bots of all time" : `Show bots created in the ${c.label.toLowerCase()}`,
          keywords: ["filter", "time", "created", "since"],
          run: () => setQuery({ ...query, time: { kind: c.kind } }),
        }),
      ),
    ];
    if (openId !== null) list.unshift({ id: "bots.close", group: "Bots", title: `Close the timeline of bot #${openId}`, shortcut: "Esc", run: () => setOpenBot(null) });
    return list;
  }, [query, setQuery, openId]);
  useCommands(commands);
}
