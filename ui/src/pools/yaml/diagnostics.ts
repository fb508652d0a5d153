// Berth's validation problems (the core's, with 1-based line and column)
// as the editor's diagnostics: a document range each, marked inline and in
// the gutter. Pure: a `Text` in, ranges out.
import type { Text } from "@codemirror/state";
import type { Diagnostic } from "@codemirror/lint";
import type { DefinitionProblem } from "../../api/types";
import { outline, pathOf } from "./outline";

/** Where a field path (`accounts.query.select`, `platforms[1]`) is written: its key's line (1-based) and column. */
export function locateField(text: string, field: string): { line: number; column: number } | null {
  const want = field
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter(Boolean);
  const node = outline(text).find((n) => {
    const p = pathOf(n).map(String);
    return p.length === want.length && p.every((s, i) => s === want[i]);
  });
  return node ? { line: node.line + 1, column: node.keyFrom + 1 } : null;
}

/**
 * The range a problem marks: from its column to the end of the token there
 * (the whole line's text without a column, or past its end); an unlocated
 * problem with a field, that field's key. Null when it cannot be placed.
 */
export function problemRange(doc: Text, p: DefinitionProblem): { from: number; to: number } | null {
  let at = p.line !== null ? { line: p.line, column: p.column } : null;
  if (at === null && p.field) at = locateField(doc.toString(), p.field);
  if (at === null || at.line < 1) return null;
  const line = doc.line(Math.min(at.line, doc.lines));
  const text = line.text;
  const indent = text.length - text.trimStart().length;
  const end = text.trimEnd().length;
  const col = at.column !== null && at.column >= 1 ? at.column - 1 : null;
  if (col === null || col >= end) return { from: line.from + Math.min(indent, end), to: line.from + end };
  // The token: up to a space, a comment, a comma or a key's `:`.
  const token = /^(?:[^\s#,:]|:(?![\s]|$))+/.exec(text.slice(col));
  return { from: line.from + col, to: line.from + col + (token ? token[0].length : 1) };
}

/** The problems the editor can place, as error diagnostics (a field in the message when known). */
export function toDiagnostics(doc: Text, problems: readonly DefinitionProblem[]): Diagnostic[] {
  return problems.flatMap((p) => {
    const r = problemRange(doc, p);
    if (!r) return [];
    return [{ ...r, severity: "error" as const, message: p.field ? `${p.field}: ${p.message}` : p.message }];
  });
}
