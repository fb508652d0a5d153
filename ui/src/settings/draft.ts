// A settings draft: only what the administrator changed, over the live
// settings; the rows the form shows and the plan a save sends (pure).
import type { PlatformEdit, PlatformSettings, Settings } from "../api/types";
import type { SettingsPlan } from "./queries";
import { parseGlobalTimeout, parseLimit, parseQueueTimeout, type SettingsRules } from "./validation";

/** What the administrator typed or chose for one platform. */
export interface PlatformDraft {
  enabled?: boolean;
  limit?: string;
  timeout?: string;
}

/** Only what the administrator changed; everything else shows the live value. */
export interface Draft {
  order: string[] | null;
  platforms: Record<string, PlatformDraft>;
  global: string | null;
}

/** Nothing changed: every field shows the live value. */
export const EMPTY: Draft = { order: null, platforms: {}, global: null };

function sameOrder(a: string[], b: string[]) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One platform as the form shows it: the draft over the live value, and what is wrong with it. */
export interface Row {
  p: PlatformSettings;
  enabled: boolean;
  limit: string;
  timeout: string;
  limitError: string | null;
  timeoutError: string | null;
}

/** The platforms in the draft's order (the live order when the draft has none or it no longer fits). */
export function rowsOf(settings: Settings, draft: Draft, rules: SettingsRules): Row[] {
  const byName = new Map<string, PlatformSettings>(settings.platforms.map((p) => [p.platform, p]));
  const serverOrder = [...settings.platforms].sort((a, b) => a.position - b.position).map((p) => p.platform);
  const order = draft.order && draft.order.every((n) => byName.has(n)) && draft.order.length === serverOrder.length ? draft.order : serverOrder;
  return order.map((name) => {
    const p = byName.get(name)!;
    const d = draft.platforms[name] ?? {};
    const limit = d.limit ?? (p.botLimit === null ? "" : String(p.botLimit));
    const timeout = d.timeout ?? String(p.queueTimeoutMs);
    const limitTouched = d.limit !== undefined;
    const lp = parseLimit(limit, rules);
    const tp = parseQueueTimeout(timeout, rules);
    return {
      p,
      enabled: d.enabled ?? p.enabled,
      limit,
      timeout,
      // An unset limit stays unset unless the administrator types one.
      limitError: lp.ok || (!limitTouched && p.botLimit === null) ? null : lp.error,
      timeoutError: tp.ok ? null : tp.error,
    };
  });
}

/** The commands a save sends: only the fields that differ from the live settings. */
export function planOf(settings: Settings, draft: Draft, rules: SettingsRules): SettingsPlan {
  const rows = rowsOf(settings, draft, rules);
  const serverOrder = [...settings.platforms].sort((a, b) => a.position - b.position).map((p) => p.platform);
  const order = rows.map((r) => r.p.platform);
  const edits: SettingsPlan["edits"] = [];
  for (const r of rows) {
    const edit: PlatformEdit = {};
    if (r.enabled !== r.p.enabled && !r.p.pinned.enabled) edit.enabled = r.enabled;
    const lp = parseLimit(r.limit, rules);
    if (lp.ok && lp.value !== r.p.botLimit && !r.p.pinned.botLimit) edit.botLimit = lp.value;
    const tp = parseQueueTimeout(r.timeout, rules);
    if (tp.ok && tp.value !== r.p.queueTimeoutMs && !r.p.pinned.queueTimeoutMs) edit.queueTimeoutMs = tp.value;
    if (Object.keys(edit).length > 0) edits.push({ platform: r.p.platform, edit });
  }
  const plan: SettingsPlan = { edits };
  if (!sameOrder(order, serverOrder)) plan.order = order;
  if (draft.global !== null && !settings.globalQueueTimeoutPinnedBy) {
    const g = parseGlobalTimeout(draft.global, rules);
    if (g.ok && g.value !== settings.globalQueueTimeoutMs) plan.globalQueueTimeoutMs = g.value;
  }
  return plan;
}
