import type { DefinitionDetail } from "../../api/types";
import { StateBadge } from "../StateBadge";
import type { DefinitionEditorState } from "./useDefinitionEditor";

/** The definition's name, state and file, the [broken file]/[unsaved] badges, and the mode switch. */
export function EditorHeader({
  title,
  detail,
  brokenFile,
  editor,
}: {
  title: string;
  detail: DefinitionDetail | null;
  brokenFile: string | null;
  editor: DefinitionEditorState;
}) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <h2 className="text-[15px] font-semibold">{title}</h2>
      {detail && <StateBadge state={detail.state} />}
      {detail && <span className="font-mono text-[11px] text-dim">{detail.file}</span>}
      {brokenFile && (
        <span className="badge border-error/40 bg-error/10 text-error" title="Skipped by the pools directory until it is repaired">
          [broken file]
        </span>
      )}
      {editor.unsaved && <span className="badge border-busy/30 text-busy">[unsaved]</span>}
      <ModeSwitch mode={editor.mode} formReady={editor.validation.summary !== null} />
    </div>
  );
}

function ModeSwitch({ mode: m, formReady }: { mode: DefinitionEditorState["mode"]; formReady: boolean }) {
  const pressed = (mode: string) => ({ "aria-pressed": m.mode === mode, className: `btn ${m.mode === mode ? "btn-primary" : ""}` });
  return (
    <div className="ml-auto flex gap-1" role="group" aria-label="Editor mode">
      <button type="button" {...pressed("yaml")} onClick={m.chooseYaml}>
        YAML
      </button>
      <button
        type="button"
        {...pressed("form")}
        disabled={!formReady}
        title={formReady ? undefined : "Fix the YAML's problems to use the form"}
        onClick={m.chooseForm}
      >
        Form
      </button>
      <button
        type="button"
        {...pressed("builder")}
        disabled={m.builderBlocked !== null && m.mode !== "builder"}
        title={m.builderBlocked ?? "Build the SQL account source's query from a form"}
        onClick={m.chooseBuilder}
      >
        Query builder
      </button>
    </div>
  );
}
