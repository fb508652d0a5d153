// Where a place in a definition's YAML sits in its structure (the path of
// mapping keys and list indices), read line by line from the indentation.
// A YAML parser gives up on the half-typed text completion works on; the
// block style definitions are written in (no flow mappings across lines,
// one `- ` per line) is enough to follow from the indentation alone.
import type { Segment } from "./schema";

/** One line's node: a `key: value` (possibly after `- `) or a list's scalar item. */
export interface OutlineLine {
  /** 0-based line number. */
  line: number;
  /** The path of the mapping (or list item) the node belongs to. */
  container: Segment[];
  /** The key, for a `key:` line; null for a scalar list item. */
  key: string | null;
  /** The value's text as written (without a trailing comment), "" when it is on the next lines. */
  value: string;
  /** Columns (0-based, end exclusive) of the key and the value within the line. */
  keyFrom: number;
  keyTo: number;
  valueFrom: number;
  valueTo: number;
}

interface Frame {
  col: number;
  seg: Segment;
  item: boolean;
}

const KEY = /^([A-Za-z0-9_$.-]+|"[^"]*"|'[^']*')[ \t]*:(?=[ \t]|$)/;

/** A line's parts: indentation, the column of its `- ` (if any) and where its content starts. */
function split(text: string) {
  const indent = text.length - text.trimStart().length;
  const dash = /^-(?:[ \t]+|$)/.exec(text.slice(indent));
  const content = dash ? indent + dash[0].length : indent;
  return { indent, dash: dash ? indent : null, content };
}

/** The value's text without a trailing `# comment` (a `#` after a space). */
function stripComment(v: string): string {
  const m = /(^|[ \t])#/.exec(v);
  return (m ? v.slice(0, m.index) : v).trimEnd();
}

/** Follows the indentation: the stack of open keys and list items. */
class Walker {
  stack: Frame[] = [];
  /** Past a `key: |` (or `>`): lines indented deeper than `blockCol` are its text. */
  blockCol: number | null = null;

  path(): Segment[] {
    return this.stack.map((f) => f.seg);
  }

  /** Opens a list item at column `d`: the next index after a sibling at that column. */
  item(d: number) {
    let index = 0;
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1]!;
      if (top.col < d || (top.col === d && !top.item)) break;
      this.stack.pop();
      if (top.item && top.col === d) index = (top.seg as number) + 1;
    }
    this.stack.push({ col: d, seg: index, item: true });
  }

  /** Closes everything at or right of column `c` (a node starts there). */
  closeFrom(c: number) {
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.col >= c) this.stack.pop();
  }

  /** Reads one whole line; returns its node, if it has one. */
  read(text: string, line: number): OutlineLine | null {
    const { indent, dash, content } = split(text);
    const rest = text.slice(content);
    if (this.blockCol !== null && (text.trim() === "" || indent > this.blockCol)) return null;
    this.blockCol = null;
    if (text.trim() === "" || text.trimStart().startsWith("#")) return null;
    if (dash !== null) this.item(dash);
    else this.closeFrom(content);
    const key = KEY.exec(rest);
    if (!key) {
      if (dash === null) return null;
      const value = stripComment(rest);
      return { line, container: this.path(), key: null, value, keyFrom: content, keyTo: content, valueFrom: content, valueTo: content + value.length };
    }
    const name = key[1]!.replace(/^(["'])(.*)\1$/, "$2");
    const after = rest.slice(key[0].length);
    const valueFrom = content + key[0].length + (after.length - after.trimStart().length);
    const value = stripComment(after.trim());
    const node: OutlineLine = {
      line,
      container: this.path(),
      key: name,
      value,
      keyFrom: content,
      keyTo: content + key[1]!.length,
      valueFrom,
      valueTo: valueFrom + value.length,
    };
    this.stack.push({ col: content, seg: name, item: false });
    if (/^[|>][0-9+-]*$/.test(value)) this.blockCol = content;
    return node;
  }
}

/** Every node of the text, line by line. */
export function outline(text: string): OutlineLine[] {
  const w = new Walker();
  return text.split("\n").flatMap((l, i) => w.read(l, i) ?? []);
}

/** The full path of a node (its container, then its key). */
export function pathOf(n: OutlineLine): Segment[] {
  return n.key === null ? n.container : [...n.container, n.key];
}

/** What is being typed at a place: a key (or a list's scalar item), or a key's value. */
export interface CursorContext {
  kind: "key" | "value";
  /** key: the mapping (or list item) the key goes in; value: the path of the value. */
  path: Segment[];
  /** The text typed so far and where it starts (document offset). */
  prefix: string;
  from: number;
  /** Whether the place follows `- ` (a list item: its scalar values fit too). */
  item: boolean;
  /** The keys of the same mapping on other lines, with their values (to skip and to pick union branches by). */
  siblings: Map<string, string>;
}

/**
 * The context of the cursor at `offset`: what is typed before it on its
 * line, inside the structure of the lines above it. Null inside a block
 * scalar's text, a comment, or a flow collection.
 */
export function contextAt(text: string, offset: number): CursorContext | null {
  const lines = text.split("\n");
  const before = text.slice(0, offset);
  const lineNo = before.split("\n").length - 1;
  const start = before.lastIndexOf("\n") + 1;
  const w = new Walker();
  for (let i = 0; i < lineNo; i++) w.read(lines[i]!, i);
  const head = lines[lineNo]!.slice(0, offset - start);
  const { indent, dash, content } = split(head);
  if (w.blockCol !== null && indent > w.blockCol) return null;
  if (head.slice(content).includes("#") || /[{[]/.test(head.slice(content))) return null;
  if (dash !== null) w.item(dash);
  else w.closeFrom(content);
  const rest = head.slice(content);
  const key = KEY.exec(rest);
  const container = w.path();
  const siblings = siblingsOf(text, lineNo, container);
  if (key) {
    const after = rest.slice(key[0].length);
    const prefix = after.trimStart().replace(/^["']/, "");
    const name = key[1]!.replace(/^(["'])(.*)\1$/, "$2");
    return { kind: "value", path: [...container, name], prefix, from: offset - prefix.length, item: false, siblings };
  }
  if (!/^[A-Za-z0-9_$.-]*$/.test(rest)) return null;
  return { kind: "key", path: container, prefix: rest, from: offset - rest.length, item: dash !== null, siblings };
}

function samePath(a: readonly Segment[], b: readonly Segment[]) {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The keys (with values) of the mapping at `container`, on lines other than `except`. */
function siblingsOf(text: string, except: number, container: readonly Segment[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of outline(text)) if (n.line !== except && n.key !== null && samePath(n.container, container)) out.set(n.key, n.value);
  return out;
}

/** The node on line `line` (0-based) whose key or value spans column `col`, and which part. */
export function nodeAt(text: string, line: number, col: number): { node: OutlineLine; part: "key" | "value" } | null {
  const node = outline(text).find((n) => n.line === line);
  if (!node) return null;
  if (node.key !== null && col >= node.keyFrom && col <= node.keyTo) return { node, part: "key" };
  if (col >= node.valueFrom && col <= node.valueTo && node.valueTo > node.valueFrom) return { node, part: "value" };
  return null;
}
