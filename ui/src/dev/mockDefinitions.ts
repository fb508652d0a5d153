// Pool definitions for the mock preview: files in memory, a naive
// validator (the real one is the core's), versions on apply.
import type {
  BuilderTable,
  DefinitionDetail,
  DefinitionList,
  DefinitionProblem,
  DefinitionState,
  DefinitionSummary,
  DefinitionTest,
  DeployBatch,
  DeployRequest,
  Validation,
} from "../bindings";
import { MEETING_PLATFORMS } from "../pools/yamlForm";
import { filterData, readAccounts, takesList, takesNoValue, valueKind } from "../pools/queryBuilder";

type File = { text: string; applied: { version: number; text: string } | null; slots: number };

const yaml = (name: string, mp: string, max: number, prewarm: number, source = "") =>
  `# Berth pool definition\nname: ${name}\nmeeting_platform: ${mp}\nimage: ghcr.io/acme/bot\ntag: "1.8"\nmax_size: ${max}\nprewarm: ${prewarm}\n${source}`;
const SQL = `accounts:\n  type: sql\n  query:\n    select: SELECT id, email FROM accounts WHERE status = :status\n    parameters:\n      - { name: status, type: string, value: available }\n  pool_config:\n    refresh_interval: 30s\n`;

const files = new Map<string, File>([
  ["pool-zoom", { text: yaml("pool-zoom", "zoom", 40, 5, SQL), applied: { version: 3, text: yaml("pool-zoom", "zoom", 40, 5, SQL) }, slots: 31 }],
  ["pool-teams", { text: yaml("pool-teams", "microsoft-teams", 30, 4), applied: { version: 1, text: yaml("pool-teams", "microsoft-teams", 20, 4) }, slots: 29 }],
  ["pool-meet", { text: yaml("pool-meet", "google-meet", 10, 0), applied: null, slots: 0 }],
]);

/** Broken files by name: their text (problems come from `validate`). */
const broken = new Map<string, string>([
  ["pool-old.yaml", `# An old pool, never fixed\nname: pool-old\nmeeting_platform: zoom\nimage: ghcr.io/acme/bot\ntag: "1.2"\nmax_size: many\nprewarm: 0\n`],
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
  const platform = MEETING_PLATFORMS.find((m) => m === get("meeting_platform")?.value);
  const mp = get("meeting_platform");
  if (mp && !platform) problems.push({ file: null, line: mp.line, column: 19, field: "meeting_platform", message: `unknown meeting platform "${mp.value}"` });
  if (problems.length || !platform) return { problems, summary: null };
  const n = (k: string) => Number(get(k)?.value ?? 0);
  const summary: DefinitionSummary = {
    name: get("name")!.value,
    meetingPlatform: platform,
    image: get("image")!.value,
    tag: (get("tag")?.value ?? "latest").replace(/"/g, ""),
    maxSize: n("max_size"),
    prewarm: n("prewarm"),
    scaling: null,
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
        refreshError: null,
      };
    }),
    problems: [...broken.entries()].flatMap(([file, text]) => validate(text).problems.map((p) => ({ ...p, file }))),
  };
}

export function readFile(file: string): string {
  const text = broken.get(file) ?? files.get(file.replace(/\.yaml$/, ""))?.text;
  if (text === undefined) throw { code: "not_found", message: `no file ${file} in /home/preview/.config/berth/pools` };
  return text;
}

export function repair(file: string, text: string) {
  if (!broken.has(file)) throw { code: "not_found", message: `no file ${file} in /home/preview/.config/berth/pools` };
  const out = save(null, text);
  broken.delete(file);
  return { ...out, renamedFrom: out.file === file ? null : file };
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
  return { name, file: `${name}.yaml`, note: `${name} is retired: it takes no new bots and its idle slots will be removed; its history stays` };
}

// ---- visual query builder, test extras, deploys -------------------------------

const TABLES: BuilderTable[] = [
  {
    schema: "public",
    table: "accounts",
    columns: [
      { name: "id", dataType: "integer" },
      { name: "email", dataType: "text" },
      { name: "status", dataType: "text" },
      { name: "pack_count", dataType: "bigint" },
      { name: "verified", dataType: "boolean" },
      { name: "banned_at", dataType: "timestamp with time zone" },
    ],
  },
  {
    schema: "billing",
    table: "seats",
    columns: [
      { name: "seat_id", dataType: "bigint" },
      { name: "login", dataType: "text" },
      { name: "active", dataType: "boolean" },
    ],
  },
];
const tableName = (t: BuilderTable) => (t.schema === "public" ? t.table : `${t.schema}.${t.table}`);

export const tables = () => TABLES.map(tableName);

export function columns(table: string): BuilderTable {
  const t = TABLES.find((x) => tableName(x) === table || `${x.schema}.${x.table}` === table);
  if (!t) throw { code: "query_refused", message: `the query role cannot read any column of ${table} (or it does not exist)` };
  return t;
}

const quote = (name: string) => name.split(".").map((p) => `"${p}"`).join(".");

/** Roughly the SQL the core compiles a builder form (or runs for a query) to. */
function sqlOf(text: string): string | null {
  const shape = readAccounts(text);
  if (shape.kind === "query") return /select:\s*(.+)/.exec(text)?.[1]?.trim() ?? null;
  if (shape.kind !== "builder") return null;
  const f = shape.form;
  let t: BuilderTable | null = null;
  try {
    t = columns(f.table);
  } catch {
    return null;
  }
  const kind = (c: string) => {
    const col = t?.columns.find((x) => x.name === c);
    return col ? valueKind(col.dataType) : null;
  };
  let n = 0;
  const where = f.filters.map((row) => {
    const value = filterData(row, kind(row.column)).value;
    const col = quote(row.column);
    if (takesNoValue(row.op)) return `${col} IS ${row.op === "is_null" ? "" : "NOT "}NULL`;
    if (takesList(row.op)) return `${col} ${row.op === "in" ? "=" : "<>"} ${row.op === "in" ? "ANY" : "ALL"}($${++n}) /* ${JSON.stringify(value)} */`;
    if (row.op === "like") return `${col}::text LIKE $${++n}`;
    return `${col} ${row.op === "!=" ? "<>" : row.op} $${++n}`;
  });
  return [
    `SELECT ${(f.columns.length ? f.columns : t.columns.map((c) => c.name)).map(quote).join(", ")} FROM ${quote(`${t.schema}.${t.table}`)}`,
    where.length ? `WHERE ${where.join(" AND ")}` : "",
    f.sort.length ? `ORDER BY ${f.sort.map((s) => `${quote(s.column)} ${s.direction.toUpperCase()}`).join(", ")}` : "",
    f.limit ? `LIMIT ${f.limit}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

export function test(text: string): DefinitionTest {
  const v = validate(text);
  if (!v.summary) return { problems: v.problems, impact: null, accounts: null, accountsError: null, platforms: [], sql: null };
  return {
    problems: [],
    impact: { creates: v.summary.prewarm, removesIdle: 0, busyAffected: 0, text: `creates ${v.summary.prewarm} slots, removes 0 idle, 0 busy affected` },
    accounts: v.summary.sourceType
      ? { count: 42, truncated: false, columns: ["id", "email"], sample: ['{"email":"a1@example.com","id":1}', '{"email":"a2@example.com","id":2}'] }
      : null,
    accountsError: null,
    platforms: [
      { platform: "k8s", health: "healthy", detail: null },
      { platform: "aws", health: "degraded", detail: "answering, with problems" },
      { platform: "coolify", health: "unavailable", detail: "no adapter is configured for it in this instance" },
    ],
    sql: sqlOf(text),
  };
}

let nextBot = 8000;

export function deploy(r: DeployRequest): DeployBatch {
  const f = files.get(r.pool);
  if (!f) throw { code: "not_found", message: `no pool named ${r.pool}` };
  if (!f.applied) throw { code: "conflict", message: `${r.pool} is not applied yet; apply it first` };
  if (!Number.isInteger(r.count) || r.count < 1 || r.count > 100) throw { code: "invalid_input", message: `count must be from 1 to 100, got ${r.count}` };
  if (!/^https?:\/\//.test(r.meetingUrl)) throw { code: "invalid_input", message: "the meeting URL must be an http(s) URL" };
  const botIds = Array.from({ length: r.count }, () => nextBot++);
  // The mock world schedules nothing ahead: a join time or a stagger only counts its bots as scheduled.
  if (r.joinAt !== null || (r.staggerMs ?? 0) > 0) return { botIds, deployed: 0, queued: 0, scheduled: r.count };
  const deployed = Math.min(r.count, 4);
  return { botIds, deployed, queued: r.count - deployed, scheduled: 0 };
}
