// Pool definitions for the mock preview: files in memory, a naive
// validator (the real one is the core's), versions on apply.
import type { DefinitionDetail, DefinitionList, DefinitionProblem, DefinitionState, DefinitionSummary, Validation } from "../bindings";

type File = { text: string; applied: { version: number; text: string } | null; slots: number };

const yaml = (name: string, mp: string, max: number, prewarm: number, source = "") =>
  `# Berth pool definition\nname: ${name}\nmeeting_platform: ${mp}\nimage: ghcr.io/acme/bot\ntag: "1.8"\nmax_size: ${max}\nprewarm: ${prewarm}\n${source}`;
const SQL = `accounts:\n  type: sql\n  query:\n    select: SELECT id, email FROM accounts WHERE status = :status\n    parameters:\n      - { name: status, type: string, value: available }\n  pool_config:\n    refresh_interval: 30s\n`;

const files = new Map<string, File>([
  ["pool-zoom", { text: yaml("pool-zoom", "zoom", 40, 5, SQL), applied: { version: 3, text: yaml("pool-zoom", "zoom", 40, 5, SQL) }, slots: 31 }],
  ["pool-teams", { text: yaml("pool-teams", "microsoft-teams", 30, 4), applied: { version: 1, text: yaml("pool-teams", "microsoft-teams", 20, 4) }, slots: 29 }],
  ["pool-meet", { text: yaml("pool-meet", "google-meet", 10, 0), applied: null, slots: 0 }],
]);

export function validate(text: string): Validation {
  const problems: DefinitionProblem[] = [];
  const lines = text.split("\n");
  const get = (key: string) => {
    const i = lines.findIndex((l) => l.startsWith(`${key}:`));
    return i < 0 ? null : { line: i + 1, value: lines[i]!.slice(key.length + 1).replace(/#.*/, "").trim() };
  };
  for (const key of ["name", "meeting_platform", "image", "max_size"]) {
    if (!get(key)) problems.push({ file: null, line: 1, column: 1, field: null, message: `missing field \`${key}\`` });
  }
  for (const key of ["max_size", "prewarm"]) {
    const f = get(key);
    if (f && !/^\d+$/.test(f.value)) problems.push({ file: null, line: f.line, column: key.length + 3, field: key, message: `invalid type: string "${f.value}", expected u32` });
  }
  if (problems.length) return { problems, summary: null };
  const n = (k: string) => Number(get(k)?.value ?? 0);
  const summary: DefinitionSummary = {
    name: get("name")!.value,
    meetingPlatform: get("meeting_platform")!.value,
    image: get("image")!.value,
    tag: (get("tag")?.value ?? "latest").replace(/"/g, ""),
    maxSize: n("max_size"),
    prewarm: n("prewarm"),
    platforms: null,
    sourceType: text.includes("type: sql") ? "sql" : null,
    refreshIntervalMs: text.includes("type: sql") ? 30_000 : null,
  };
  return { problems: [], summary };
}

function state(f: File): DefinitionState {
  if (!f.applied) return { state: "notApplied" };
  return f.applied.text === f.text ? { state: "applied", version: f.applied.version } : { state: "pending", version: f.applied.version };
}

export function list(now: number): DefinitionList {
  return {
    directory: "/home/preview/.config/berth/pools",
    definitions: [...files.entries()].map(([name, f]) => {
      const s = validate(f.text).summary!;
      return {
        file: `${name}.yaml`,
        summary: s,
        state: state(f),
        slots: f.slots,
        accounts: s.sourceType ? { available: 42, inUse: 17, completed: 230, failed: 3 } : null,
        lastRefresh: s.sourceType ? new Date(now - 95_000).toISOString() : null,
      };
    }),
    problems: [{ file: "pool-old.yaml", line: 6, column: 11, field: "max_size", message: 'invalid type: string "many", expected u32' }],
  };
}

export function get(name: string): DefinitionDetail {
  const f = files.get(name);
  if (!f) throw { code: "not_found", message: `no definition named "${name}"` };
  return { file: `${name}.yaml`, text: f.text, summary: validate(f.text).summary!, state: state(f), appliedText: f.applied?.text ?? null };
}

export function save(original: string | null, text: string) {
  const v = validate(text);
  if (!v.summary) throw { code: "definition_invalid", message: v.problems[0]!.message };
  const name = v.summary.name;
  if (name !== original && files.has(name)) throw { code: "conflict", message: `a pool named ${name} is already defined in ${name}.yaml` };
  const old = original ? files.get(original) : undefined;
  if (original) files.delete(original);
  files.set(name, { text, applied: old?.applied ?? null, slots: old?.slots ?? 0 });
  return { name, file: `${name}.yaml`, renamedFrom: original && original !== name ? `${original}.yaml` : null };
}

export function apply(name: string) {
  const f = files.get(name)!;
  if (f.applied?.text === f.text) return { name, version: f.applied.version, changed: false };
  f.applied = { version: (f.applied?.version ?? 0) + 1, text: f.text };
  return { name, version: f.applied.version, changed: true };
}

export function remove(name: string) {
  files.delete(name);
  return { name, file: `${name}.yaml`, note: `the database keeps the pool ${name} with its slots and applied versions; only the file is gone` };
}
