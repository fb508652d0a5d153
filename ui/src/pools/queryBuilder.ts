// The visual query builder's form, read from and written to the YAML text
// with the `yaml` package's Document API: only `accounts.type`,
// `accounts.query` (removed) and the changed keys of `accounts.builder` are
// touched, so `pool_config`, every other part of the file and its comments
// stay as written (see `splice` for how the text is written back).
import { diffArrays } from "diff";
import { isMap, isNode, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";

/** The comparators a builder filter may use (exactly the core's). */
export const COMPARATORS = ["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "like", "is_null", "is_not_null"] as const;
export type Comparator = (typeof COMPARATORS)[number];

export const COMPARATOR_LABELS: Record<Comparator, string> = {
  "=": "=",
  "!=": "≠",
  "<": "<",
  "<=": "≤",
  ">": ">",
  ">=": "≥",
  in: "in",
  not_in: "not in",
  like: "like",
  is_null: "is null",
  is_not_null: "is not null",
};

export const isComparator = (op: string): op is Comparator => (COMPARATORS as readonly string[]).includes(op);
export const takesNoValue = (op: string) => op === "is_null" || op === "is_not_null";
export const takesList = (op: string) => op === "in" || op === "not_in";

/** Most rows a builder may return. */
export const MAX_LIMIT = 10_000;

/** How a column's values are typed in: from its database type. */
export type ValueKind = "number" | "boolean" | "text";

const NUMERIC = new Set(["integer", "bigint", "smallint", "numeric", "real", "double precision"]);

export function valueKind(dataType: string): ValueKind {
  const t = dataType.trim().toLowerCase();
  if (NUMERIC.has(t) || t.startsWith("numeric(")) return "number";
  if (t === "boolean") return "boolean";
  return "text";
}

/** One filter row as the form holds it: the value as typed (a list comma-separated). */
export interface FilterRow {
  column: string;
  op: string;
  value: string;
}

export interface SortRow {
  column: string;
  direction: "asc" | "desc";
}

export interface BuilderForm {
  table: string;
  columns: string[];
  filters: FilterRow[];
  sort: SortRow[];
  /** As typed; empty: no limit. */
  limit: string;
}

export const EMPTY_FORM: BuilderForm = { table: "", columns: [], filters: [], sort: [], limit: "" };

/** What the text's account source is, as far as the builder cares. */
export type AccountsShape =
  | { kind: "unparsable" }
  | { kind: "none" }
  | { kind: "builder"; form: BuilderForm }
  | { kind: "query" }
  | { kind: "other"; type: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function formValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map((x) => String(x)).join(", ");
  return String(v);
}

function formOf(b: Record<string, unknown>): BuilderForm {
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  return {
    table: typeof b.table === "string" ? b.table : formValue(b.table),
    columns: list(b.columns).map((c) => String(c)),
    filters: list(b.filters)
      .filter(isRecord)
      .map((f) => ({ column: formValue(f.column), op: formValue(f.op), value: formValue(f.value) })),
    sort: list(b.sort)
      .filter(isRecord)
      .map((s) => ({ column: formValue(s.column), direction: s.direction === "desc" ? "desc" : "asc" })),
    limit: formValue(b.limit),
  };
}

function parse(text: string): Document.Parsed | null {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && isMap(doc.contents) ? doc : null;
}

/** The text's account source: a builder form (loaded), a hand-written query, another type, none. */
export function readAccounts(text: string): AccountsShape {
  const doc = parse(text);
  if (!doc) return { kind: "unparsable" };
  let accounts: unknown;
  try {
    accounts = (doc.toJS() as Record<string, unknown>).accounts;
  } catch {
    return { kind: "unparsable" };
  }
  if (accounts === null || accounts === undefined) return { kind: "none" };
  if (!isRecord(accounts)) return { kind: "other", type: "?" };
  if (accounts.type !== undefined && accounts.type !== "sql") return { kind: "other", type: formValue(accounts.type) };
  if (isRecord(accounts.builder)) return { kind: "builder", form: formOf(accounts.builder) };
  if (accounts.query !== undefined) return { kind: "query" };
  return { kind: "none" };
}

function scalar(raw: string, kind: ValueKind | null): string | number | boolean {
  const s = raw.trim();
  const number = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
  if (kind === "number") return Number.isFinite(number) ? number : raw;
  if (kind === "boolean") return s === "true" ? true : s === "false" ? false : raw;
  if (kind === "text") return raw;
  // Column type unknown (not loaded yet): read it as YAML would.
  if (Number.isFinite(number)) return number;
  return s === "true" ? true : s === "false" ? false : raw;
}

/** A filter row as YAML data: the value typed by its column's kind (a list for in/not_in, none for the null ops). */
export function filterData(row: FilterRow, kind: ValueKind | null): Record<string, unknown> {
  const out: Record<string, unknown> = { column: row.column, op: row.op };
  if (takesNoValue(row.op)) return out;
  if (takesList(row.op)) {
    out.value = row.value
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== "")
      .map((x) => scalar(x, kind));
  } else if (row.op === "like") {
    out.value = row.value;
  } else {
    out.value = scalar(row.value, kind);
  }
  return out;
}

/** The builder's keys, in the order they are written. */
const KEY_ORDER = ["table", "columns", "filters", "sort", "limit"];

const same = (doc: Document, node: unknown, value: unknown) =>
  JSON.stringify(isNode(node) ? (node as Node).toJS(doc) : node) === JSON.stringify(value);

/** Sets `key` in `map`, keeping a scalar's node (and its comment); a new key goes in its place in KEY_ORDER. */
function setOrdered(map: YAMLMap, key: string, value: unknown) {
  if (map.has(key)) {
    map.set(key, value);
    return;
  }
  const rank = KEY_ORDER.indexOf(key);
  const pair = map.items.findIndex((p) => KEY_ORDER.indexOf(String(isNode(p.key) ? (p.key as Node).toJSON() : p.key)) > rank);
  map.set(key, value);
  if (pair >= 0) map.items.splice(pair, 0, map.items.pop()!);
}

/** Sets a list of flow-style items, reusing (with their comments) the items that did not change. */
function setItems(doc: Document, map: YAMLMap, key: string, items: unknown[]) {
  if (items.length === 0) {
    map.delete(key);
    return;
  }
  const current = map.get(key, true);
  if (same(doc, current, items)) return;
  const old = isSeq(current) ? [...current.items] : [];
  const nodes = items.map((item) => {
    const i = old.findIndex((n) => same(doc, n, item));
    return i >= 0 ? old.splice(i, 1)[0] : doc.createNode(item, { flow: true });
  });
  if (isSeq(current) && !current.flow) current.items = nodes;
  else setOrdered(map, key, doc.createNode(nodes));
}

// ---- writing back: only the changed entries' text --------------------------
//
// The edited document is stringified whole (which normalizes spacing), and
// only the text of the entries that changed is spliced from it into the
// original: a changed builder key, the query the builder replaces, or (when
// the account source is new or unusual) the whole top-level `accounts`
// entry. Every other line stays byte for byte as written.

interface Edit {
  start: number;
  end: number;
  text: string;
}

type Entry = Pair<Scalar, unknown>;

function entryOf(map: YAMLMap, key: string): Entry | undefined {
  return map.items.find((p): p is Entry => isScalar(p.key) && p.key.value === key);
}

/** An entry's text: from its line's start to the end of its value (trailing comment and newline included); `col` is its key's. */
function spanOf(text: string, entry: Entry): { start: number; end: number; col: number } | null {
  const range = entry.key.range;
  if (!range) return null;
  const start = text.lastIndexOf("\n", range[0] - 1) + 1;
  if (text.slice(start, range[0]).trim() !== "") return null;
  const value = entry.value;
  const end = isNode(value) ? value.range?.[1] : range[1];
  return end === undefined ? null : { start, end: lineEnd(text, end), col: range[0] - start };
}

/** A value that ends mid-line (a scalar, a flow collection) ends at the end of its line: its comment and newline too. */
function lineEnd(text: string, end: number): number {
  if (end === 0 || text[end - 1] === "\n") return end;
  const nl = text.indexOf("\n", end);
  const eol = nl < 0 ? text.length : nl + 1;
  return /^[ \t]*(#.*)?\r?\n?$/.test(text.slice(end, eol)) ? eol : end;
}

/** A block sequence item's text: its `- ` line(s); `col` is the dash's. */
function itemSpan(text: string, item: unknown): { start: number; end: number; col: number } | null {
  if (!isNode(item) || !item.range) return null;
  const start = text.lastIndexOf("\n", item.range[0] - 1) + 1;
  const lead = /^([ \t]*)-[ \t]+$/.exec(text.slice(start, item.range[0]));
  return lead ? { start, end: lineEnd(text, item.range[1]), col: lead[1]!.length } : null;
}

/** Lines of `slice` moved from indentation `from` to `to`. */
function moved(slice: string, from: number, to: number): string {
  const a = " ".repeat(from);
  const b = " ".repeat(to);
  return slice
    .split("\n")
    .map((line) => (line.startsWith(a) ? b + line.slice(a.length) : line))
    .join("\n");
}

/** Item-by-item edits of a block sequence: unchanged items (and the comments between them) keep their text. */
function seqEdits(text: string, orig: YAMLSeq, next: YAMLSeq, written: string, origDoc: Document, nextDoc: Document): Edit[] | null {
  const before = orig.items.map((i) => itemSpan(text, i));
  const after = next.items.map((i) => itemSpan(written, i));
  if (before.length === 0 || before.some((x) => x === null) || after.some((x) => x === null)) return null;
  const o = before as { start: number; end: number; col: number }[];
  const n = after as { start: number; end: number; col: number }[];
  const key = (doc: Document) => (i: unknown) => JSON.stringify(isNode(i) ? i.toJS(doc) : i);
  const edits: Edit[] = [];
  let oi = 0;
  let ni = 0;
  for (const part of diffArrays(orig.items.map(key(origDoc)), next.items.map(key(nextDoc)))) {
    const count = part.count ?? part.value.length;
    if (part.removed) {
      for (const span of o.slice(oi, oi + count)) edits.push({ start: span.start, end: span.end, text: "" });
      oi += count;
    } else if (part.added) {
      const at = oi > 0 ? o[oi - 1]!.end : o[0]!.start;
      const lead = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
      const items = n.slice(ni, ni + count).map((span) => moved(written.slice(span.start, span.end), span.col, o[0]!.col));
      edits.push({ start: at, end: at, text: lead + items.join("") });
      ni += count;
    } else {
      oi += count;
      ni += count;
    }
  }
  return edits;
}

/** The entry's text in `written`, moved to indentation `col`. */
function entryText(written: string, entry: Entry | undefined, col: number): string | null {
  const span = entry && spanOf(written, entry);
  return span ? moved(written.slice(span.start, span.end), span.col, col) : null;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // Back to front; at one position, a removal before an insertion.
  for (const e of [...edits].sort((a, b) => b.start - a.start || b.end - a.end)) {
    // Keep the original's (missing) newline at the end of the file.
    const t = e.end === text.length && !text.endsWith("\n") ? e.text.replace(/\n$/, "") : e.text;
    out = out.slice(0, e.start) + t + out.slice(e.end);
  }
  return out;
}

/** The edits that turn `orig`'s block-style builder into `next`'s, key by key (null: not possible). */
function builderEdits(text: string, orig: YAMLMap, next: YAMLMap, written: string, origDoc: Document, nextDoc: Document): Edit[] | null {
  const edits: Edit[] = [];
  const spans = orig.items.map((p) => (isScalar(p.key) ? spanOf(text, p as Entry) : null));
  if (spans.some((sp) => sp === null) || spans.length === 0) return null;
  const col = spans[0]!.col;
  for (const key of KEY_ORDER) {
    const before = entryOf(orig, key);
    const after = entryOf(next, key);
    if (!before && !after) continue;
    if (before && after && same(origDoc, before.value, (after.value as Node).toJS(nextDoc))) continue;
    if (before && after && isSeq(before.value) && !before.value.flow && isSeq(after.value)) {
      const items = seqEdits(text, before.value, after.value, written, origDoc, nextDoc);
      if (items) {
        edits.push(...items);
        continue;
      }
    }
    if (before && after && isScalar(before.value) && isScalar(after.value) && before.value.range && after.value.range) {
      // Only the value: the key, spacing and comment stay as written.
      const [from, to] = before.value.range;
      edits.push({ start: from, end: to, text: written.slice(after.value.range[0], after.value.range[1]) });
      continue;
    }
    const span = before ? spanOf(text, before) : null;
    const replacement = after ? entryText(written, after, col) : "";
    if (replacement === null) return null;
    if (span) {
      edits.push({ start: span.start, end: span.end, text: replacement });
      continue;
    }
    // A new key: before the next key in KEY_ORDER, else after the last one.
    const later = orig.items.find((p) => isScalar(p.key) && KEY_ORDER.indexOf(String(p.key.value)) > KEY_ORDER.indexOf(key));
    const at = later ? spanOf(text, later as Entry)!.start : spans[spans.length - 1]!.end;
    const lead = at > 0 && text[at - 1] !== "\n" ? "\n" : "";
    edits.push({ start: at, end: at, text: lead + replacement + (replacement.endsWith("\n") ? "" : "\n") });
  }
  return edits;
}

/** `text` with the changed parts of `written` (its edited version) spliced in; see above. */
function splice(text: string, written: string): string {
  const origDoc = parse(text)!;
  const nextDoc = parse(written);
  if (!nextDoc) return written;
  const nextTop = entryOf(nextDoc.contents as YAMLMap, "accounts");
  const whole = (): string => {
    const entry = entryText(written, nextTop, 0);
    if (entry === null) return written;
    const top = entryOf(origDoc.contents as YAMLMap, "accounts");
    const span = top && spanOf(text, top);
    if (span) return applyEdits(text, [{ start: span.start, end: span.end, text: entry }]);
    if (top) return written;
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return `${text}${sep}${entry}${entry.endsWith("\n") ? "" : "\n"}`;
  };

  const orig = origDoc.get("accounts", true);
  const next = nextDoc.get("accounts", true);
  if (!isMap(orig) || orig.flow || !isMap(next) || orig.get("type") !== "sql") return whole();
  const builder = entryOf(orig, "builder");
  const query = entryOf(orig, "query");
  const nextBuilder = entryOf(next, "builder");
  const querySpan = query ? spanOf(text, query) : null;
  if (query && !querySpan) return whole();
  let edits: Edit[] | null;
  if (builder && isMap(builder.value) && !builder.value.flow) {
    edits = builderEdits(text, builder.value, nextBuilder?.value as YAMLMap, written, origDoc, nextDoc);
    if (edits && querySpan) edits.push({ ...querySpan, text: "" });
  } else {
    // The builder takes the place of the query (or of a flow-style builder).
    const span = builder ? spanOf(text, builder) : querySpan;
    const replacement = span ? entryText(written, nextBuilder, span.col) : null;
    edits = span && replacement !== null ? [{ ...span, text: replacement }] : null;
    if (edits && builder && querySpan) edits.push({ ...querySpan, text: "" });
  }
  if (!edits) return whole();
  const out = applyEdits(text, edits);
  // The splice must mean what the edited document means; else rewrite the whole entry.
  const check = parse(out);
  return check && JSON.stringify(check.toJS()) === JSON.stringify(nextDoc.toJS()) ? out : whole();
}

/**
 * `text` with `accounts.builder` set to `form`: `accounts.type` becomes
 * `sql`, `accounts.query` goes (the builder takes its place), and only the
 * builder's changed keys are rewritten. `kindOf` types the filter values.
 */
export function writeBuilder(text: string, form: BuilderForm, kindOf: (column: string) => ValueKind | null): string {
  const doc = parse(text);
  if (!doc) return text;
  const current = doc.get("accounts", true);
  let acc: YAMLMap;
  if (isMap(current)) acc = current;
  else {
    acc = doc.createNode({ type: "sql" });
    doc.set("accounts", acc);
  }
  acc.set("type", "sql");

  const existing = acc.get("builder", true);
  let b: YAMLMap;
  if (isMap(existing)) b = existing;
  else {
    b = doc.createNode({});
    const at = acc.items.findIndex((p) => isScalar(p.key) && p.key.value === "query");
    if (at >= 0) acc.items.splice(at, 1, doc.createPair("builder", b));
    else acc.set("builder", b);
  }
  acc.delete("query");
  b.flow = false;

  setOrdered(b, "table", form.table);
  if (form.columns.length === 0) b.delete("columns");
  else if (!same(doc, b.get("columns", true), form.columns)) setOrdered(b, "columns", doc.createNode(form.columns, { flow: true }));
  setItems(
    doc,
    b,
    "filters",
    form.filters.map((f) => filterData(f, kindOf(f.column))),
  );
  setItems(
    doc,
    b,
    "sort",
    form.sort.map((s) => ({ column: s.column, direction: s.direction })),
  );
  const limit = form.limit.trim();
  if (limit === "") b.delete("limit");
  else if (!same(doc, b.get("limit", true), scalar(limit, "number"))) setOrdered(b, "limit", scalar(limit, "number"));

  return splice(text, doc.toString({ lineWidth: 0 }));
}
