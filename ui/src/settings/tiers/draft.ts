// The priority tiers as the settings page edits them: rows of text as
// typed, what is wrong with them (by the core's rules, `settingsRules`:
// never a copy of a range here) and the tiers a save sends (pure).
import type { TierSettings } from "../../bindings";
import type { SettingsRules } from "../validation";

/** One tier as typed; `maxWait` in ms, empty for no ageing. */
export interface TierRow {
  name: string;
  priority: string;
  maxWait: string;
}

/** The tiers as typed, and the default tier's name. */
export interface TiersDraft {
  rows: TierRow[];
  defaultTier: string;
}

/** What is wrong with one row (null: nothing). */
export interface RowProblems {
  name: string | null;
  priority: string | null;
  maxWait: string | null;
}

export interface TiersProblems {
  rows: RowProblems[];
  /** About the whole: the count of tiers, or the default tier. */
  list: string | null;
  any: boolean;
}

export function draftOf(t: TierSettings): TiersDraft {
  return {
    rows: t.tiers.map((x) => ({ name: x.name, priority: String(x.priority), maxWait: x.maxWaitMs === null ? "" : String(x.maxWaitMs) })),
    defaultTier: t.defaultTier,
  };
}

const WHOLE = /^\d+$/;

function rangeProblem(text: string, what: string, range: { min: number; max: number }, optional: boolean): string | null {
  const t = text.trim();
  if (t === "") return optional ? null : `${what} is required.`;
  if (!WHOLE.test(t) || Number(t) < range.min || Number(t) > range.max) {
    return `${what} must be a whole number from ${range.min.toLocaleString("en-US")} to ${range.max.toLocaleString("en-US")}${optional ? ", or empty" : ""}.`;
  }
  return null;
}

/** Every problem of `d` by `rules`: names (pattern, unique), priorities (range, unique), max waits (range), the count and the default. */
export function tiersProblems(d: TiersDraft, rules: SettingsRules): TiersProblems {
  const pattern = new RegExp(rules.tierNamePattern);
  const rows = d.rows.map((r, i): RowProblems => {
    const before = d.rows.slice(0, i);
    const name = r.name.trim();
    let nameProblem: string | null = null;
    if (!pattern.test(name)) nameProblem = "A name is a lower-case letter, then up to 31 lower-case letters, digits, '-' or '_'.";
    else if (before.some((o) => o.name.trim() === name)) nameProblem = `${name} is listed twice.`;
    let priority = rangeProblem(r.priority, "Priority", rules.tierPriority, false);
    if (!priority && before.some((o) => o.priority.trim() === r.priority.trim())) priority = "Each tier needs its own priority.";
    return { name: nameProblem, priority, maxWait: rangeProblem(r.maxWait, "Max wait", rules.tierMaxWaitMs, true) };
  });
  let list: string | null = null;
  if (d.rows.length < 1 || d.rows.length > rules.maxTiers) list = `List 1 to ${rules.maxTiers} tiers.`;
  else if (!d.rows.some((r) => r.name.trim() === d.defaultTier)) list = "The default tier must be one of the tiers.";
  const any = list !== null || rows.some((r) => r.name || r.priority || r.maxWait);
  return { rows, list, any };
}

/** The tiers a save sends (call only when `tiersProblems(d).any` is false). */
export function tierSettingsOf(d: TiersDraft): TierSettings {
  return {
    tiers: d.rows.map((r) => ({ name: r.name.trim(), priority: Number(r.priority.trim()), maxWaitMs: r.maxWait.trim() === "" ? null : Number(r.maxWait.trim()) })),
    defaultTier: d.defaultTier,
  };
}

/** Whether `d` says what `t` does (nothing to save). */
export function sameAs(d: TiersDraft, t: TierSettings): boolean {
  return JSON.stringify(draftOf(t)) === JSON.stringify({ rows: d.rows.map((r) => ({ name: r.name.trim(), priority: r.priority.trim(), maxWait: r.maxWait.trim() })), defaultTier: d.defaultTier });
}
