import type { DefinitionDetail } from "../../api/types";
import { useEditorCommands } from "./editorCommands";
import type { DefinitionEditorState } from "./useDefinitionEditor";

/** Save, Test, Diff, Apply, Refresh accounts, Deploy bots (an applied pool) and Delete. */
export function EditorActions({
  editor,
  original,
  detail,
  brokenFile,
  onDeploy,
}: {
  editor: DefinitionEditorState;
  original: string | null;
  detail: DefinitionDetail | null;
  brokenFile: string | null;
  onDeploy: (name: string) => void;
}) {
  const { actions: a, unsaved } = editor;
  useEditorCommands(editor, original, detail, brokenFile, onDeploy);
  const valid = editor.validation.valid;
  const applied = detail !== null && detail.state.state !== "notApplied";
  return (
    <div className="flex flex-wrap gap-2">
      <button
        type="button"
        className="btn btn-primary"
        disabled={!valid || (!unsaved && !brokenFile) || a.saving}
        title={brokenFile ? `Replaces the broken ${brokenFile}` : undefined}
        onClick={a.save}
      >
        Save
      </button>
      <button type="button" className="btn" disabled={!valid || a.testing} onClick={a.test}>
        Test
      </button>
      <button type="button" className="btn" aria-pressed={editor.showDiff} onClick={editor.toggleDiff}>
        Diff
      </button>
      <button
        type="button"
        className="btn"
        disabled={!valid || unsaved || original === null || a.applying}
        title={unsaved ? "Save first" : !valid ? "Fix the problems first" : undefined}
        onClick={a.apply}
      >
        Apply
      </button>
      <button
        type="button"
        className="btn"
        disabled={original === null || !detail?.summary.sourceType || a.refreshing}
        title={detail?.summary.sourceType ? undefined : "No account source"}
        onClick={a.refresh}
      >
        Refresh accounts
      </button>
      {applied && original && (
        <button type="button" className="btn" onClick={() => onDeploy(original)}>
          Deploy bots
        </button>
      )}
      <button type="button" className="btn ml-auto" disabled={original === null} onClick={a.askDelete}>
        Delete
      </button>
    </div>
  );
}
