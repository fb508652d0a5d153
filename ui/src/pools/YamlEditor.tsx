import { lazy, Suspense } from "react";
import type { DefinitionProblem } from "../api/types";
import type { Reveal } from "./yaml/CodeEditor";
import { useDefinitionSchema } from "./queries";

// CodeMirror and its YAML language are their own chunk, loaded the first
// time a definition is edited as YAML (the app's start does not pay for it).
const CodeEditor = lazy(() => import("./yaml/CodeEditor"));

/**
 * The definition's YAML in a code editor: highlighting, completion and
 * hover help from the definition's JSON Schema, and the validation's
 * problems marked inline and in the gutter.
 */
export function YamlEditor({
  value,
  onChange,
  problems,
  label,
  reveal = null,
}: {
  value: string;
  onChange: (text: string) => void;
  problems: readonly DefinitionProblem[];
  label: string;
  /** A place to show: the editor selects it, scrolls to it and takes focus. */
  reveal?: Reveal | null;
}) {
  const schema = useDefinitionSchema();
  return (
    <div className="flex flex-col gap-1">
      <div className="h-[420px] border border-line-2 bg-bg">
        <Suspense fallback={<p className="p-3 font-mono text-[12px] text-dim">Loading the editor…</p>}>
          <CodeEditor value={value} onChange={onChange} problems={problems} schema={schema.data ?? null} label={label} reveal={reveal} />
        </Suspense>
      </div>
      <p id="definition-yaml-keys" className="text-[11px] text-dim">
        Ctrl-Space completes · Tab indents · Esc then Tab leaves the editor · F8 goes to the next problem
      </p>
    </div>
  );
}
