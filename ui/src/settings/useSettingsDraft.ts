// The settings form's state: the draft over the live settings, what is
// wrong with it, what a save would send, and the edits and the save.
import { useState } from "react";
import type { Settings } from "../api/types";
import { useUnsavedChanges } from "../shared/unsaved";
import { EMPTY, planOf, rowsOf, type Draft, type PlatformDraft } from "./draft";
import { useSaveSettings } from "./queries";
import { parseGlobalTimeout, type SettingsRules } from "./validation";

/**
 * The draft of `settings` being edited. Leaving the view asks first while
 * the draft differs or holds an invalid value (registered as unsaved).
 */
export function useSettingsDraft(settings: Settings, rules: SettingsRules) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const save = useSaveSettings();
  const rows = rowsOf(settings, draft, rules);
  const globalText = draft.global ?? String(settings.globalQueueTimeoutMs);
  const globalParsed = parseGlobalTimeout(globalText, rules);
  const globalError = settings.globalQueueTimeoutPinnedBy || globalParsed.ok ? null : globalParsed.error;
  const invalid = rows.some((r) => r.limitError || r.timeoutError) || globalError !== null;
  const plan = planOf(settings, draft, rules);
  const dirty = plan.order !== undefined || plan.edits.length > 0 || plan.globalQueueTimeoutMs !== undefined;
  // Leaving asks first (an invalid value typed is an edit too).
  useUnsavedChanges("Settings", dirty || invalid);

  /** Any edit: the draft changes, the "Saved." note goes. */
  const change = (f: (cur: Draft) => Draft) => {
    setSavedAt(null);
    setDraft(f);
  };
  return {
    rules,
    rows,
    /** The environment variable pinning the priority order (null: it can be reordered). */
    orderPinnedBy: settings.platforms.map((p) => p.pinned.position).find(Boolean) ?? null,
    global: { text: globalText, parsed: globalParsed, error: globalError },
    invalid,
    dirty,
    /** Nothing to discard: no change and no draft at all. */
    pristine: !dirty && draft === EMPTY,
    savedAt,
    saving: save.isPending,
    saveError: save.error,
    patch: (name: string, d: PlatformDraft) =>
      change((cur) => ({ ...cur, platforms: { ...cur.platforms, [name]: { ...cur.platforms[name], ...d } } })),
    /** Swaps the platform at `index` with its neighbour above (-1) or below (1). */
    move: (index: number, delta: -1 | 1) => {
      const order = rows.map((r) => r.p.platform);
      const j = index + delta;
      if (j < 0 || j >= order.length) return;
      [order[index], order[j]] = [order[j]!, order[index]!];
      change((cur) => ({ ...cur, order }));
    },
    setGlobal: (v: string) => change((cur) => ({ ...cur, global: v })),
    /** Sends the plan (only what differs) when it is valid and not empty. */
    submit: () => {
      if (invalid || !dirty) return;
      save.mutate(plan, {
        onSuccess: () => {
          setDraft(EMPTY);
          setSavedAt("Saved.");
        },
      });
    },
    discard: () => {
      setDraft(EMPTY);
      save.reset();
    },
  };
}

export type SettingsDraftState = ReturnType<typeof useSettingsDraft>;
