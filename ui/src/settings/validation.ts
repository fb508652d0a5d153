// Reference 004's rules, checked inline before anything is saved. The
// ranges come from the core (`settingsRules`, the same constants it checks a
// save against and refuses with `config_invalid`), never from a copy here.
import type { Range, SettingsRules } from "../bindings";

export type { SettingsRules };

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

function parseInteger(text: string, what: string, range: Range, unit = ""): Parsed {
  const t = text.trim();
  const span = `${range.min.toLocaleString("en-US")} to ${range.max.toLocaleString("en-US")}${unit}`;
  if (t === "") return { ok: false, error: `${what} is required (${span}).` };
  if (!/^-?\d+$/.test(t)) return { ok: false, error: `${what} must be a whole number (${span}).` };
  const n = Number(t);
  if (n < range.min || n > range.max) return { ok: false, error: `${what} must be from ${span}.` };
  return { ok: true, value: n };
}

/** `min – max` with thin grouping, for field hints (`0 – 3 600 000`). */
export function spanOf(range: Range): string {
  const group = (n: number) => n.toLocaleString("en-US").replace(/,/g, " ");
  return `${group(range.min)} – ${group(range.max)}`;
}

export const parseLimit = (t: string, rules: SettingsRules) => parseInteger(t, "Limit", rules.botLimit);
export const parseQueueTimeout = (t: string, rules: SettingsRules) => parseInteger(t, "Queue timeout", rules.queueTimeoutMs, " ms");
export const parseGlobalTimeout = (t: string, rules: SettingsRules) => parseInteger(t, "Global queue timeout", rules.globalQueueTimeoutMs, " ms");
