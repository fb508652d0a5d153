// The infrastructure view's queries: the platforms overview, the global
// queue (also shown on the dashboard) and one bot's decision trace.
import { useQuery } from "@tanstack/react-query";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";

export const infrastructureKeys = {
  /** Entries and stats (their common prefix). */
  queue: ["queue"] as const,
  queueEntries: ["queue", "entries"] as const,
  queueStats: ["queue", "stats"] as const,
  platforms: ["platforms"] as const,
  /** Every `bot(id)` key (their common prefix). */
  allBots: ["bot"] as const,
  bot: (id: number) => ["bot", id] as const,
};

/**
 * The overview shows capacity (slots), limits and order (settings), health
 * (platforms) and in-flight bots (bots); a bot's trace changes with the bot.
 */
export const infrastructureInvalidations: Invalidations = {
  queue: [infrastructureKeys.queue],
  slots: [infrastructureKeys.platforms],
  settings: [infrastructureKeys.platforms],
  platforms: [infrastructureKeys.platforms],
  bots: [infrastructureKeys.allBots, infrastructureKeys.platforms],
};

export const useQueue = () => useQuery({ queryKey: infrastructureKeys.queueEntries, queryFn: api.queueEntries });
export const useQueueStats = () => useQuery({ queryKey: infrastructureKeys.queueStats, queryFn: api.queueStats });
export const usePlatformsOverview = () => useQuery({ queryKey: infrastructureKeys.platforms, queryFn: api.platformsOverview });

export const useBotDetails = (id: number | null) =>
  useQuery({
    queryKey: infrastructureKeys.bot(id ?? -1),
    queryFn: () => api.botDetails(id as number),
    enabled: id !== null,
  });
