import type { DefinitionProblem } from "../api/types";

/** `file:line:col` (or `line:col`), as far as the problem is located. */
export function problemLocation(p: DefinitionProblem): string {
  const at = [p.file, p.line, p.line !== null ? p.column : null].filter((x) => x !== null && x !== undefined);
  return at.join(":");
}
