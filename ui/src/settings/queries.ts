// The settings view's queries: the live settings, their change history and the save.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiError } from "../api/errors";
import type { Invalidations } from "../api/invalidation";
import { api } from "../api/tauri";
import type { PlatformEdit, Settings } from "../api/types";
import type { TierSettings } from "../bindings";
import { infrastructureKeys } from "../infrastructure/queries";

export const settingsKeys = {
  /** The settings and their history (the history's keys start with it). */
  settings: ["settings"] as const,
  history: (limit: number) => ["settings", "history", limit] as const,
};

export const settingsInvalidations: Invalidations = {
  settings: [settingsKeys.settings],
};

export const useSettings = () => useQuery({ queryKey: settingsKeys.settings, queryFn: api.getSettings });
/** The core's settings ranges; constant while the app runs, so fetched once (no topic invalidates them). */
export const useSettingsRules = () => useQuery({ queryKey: ["settings-rules"], queryFn: api.settingsRules, staleTime: Infinity });

export const useSettingsHistory = (limit = 20) =>
  useQuery({ queryKey: settingsKeys.history(limit), queryFn: () => api.settingsHistory(limit) });

/** What a settings save sends, in order: priority, platform edits, global timeout, the tiers (whole). */
export interface SettingsPlan {
  order?: string[];
  edits: { platform: string; edit: PlatformEdit }[];
  globalQueueTimeoutMs?: number;
  tiers?: TierSettings;
}

/** One save is one command and one transaction: a refused save changes nothing. */
export function useSaveSettings() {
  const client = useQueryClient();
  return useMutation<Settings, ApiError, SettingsPlan>({
    mutationFn: (plan) =>
      api.saveSettings({
        order: plan.order ?? null,
        edits: plan.edits,
        globalQueueTimeoutMs: plan.globalQueueTimeoutMs ?? null,
        // Only a save of the tiers names them (the platform form's saves leave them out).
        ...(plan.tiers ? { tiers: plan.tiers } : {}),
      }),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: settingsKeys.settings });
      // The infrastructure overview shows the limits and the order too.
      void client.invalidateQueries({ queryKey: infrastructureKeys.platforms });
    },
  });
}
