import { useMemo } from "react";
import type { DefinitionDetail } from "../../api/types";
import { useCommands, type CommandSpec } from "../../keyboard/registry";
import type { DefinitionEditorState } from "./useDefinitionEditor";

/**
 * The palette's commands of the open definition editor: the buttons of
 * `EditorActions`, disabled (with the reason) exactly when they are.
 */
export function useEditorCommands(
  editor: DefinitionEditorState,
  original: string | null,
  detail: DefinitionDetail | null,
  brokenFile: string | null,
  onDeploy: (name: string) => void,
) {
  const commands = useMemo((): CommandSpec[] => {
    const { actions: a, unsaved } = editor;
    const valid = editor.validation.valid;
    const applied = detail !== null && detail.state.state !== "notApplied";
    const name = original ?? brokenFile ?? "the new pool";
    const invalid = valid ? null : "fix the problems first";
    const list: CommandSpec[] = [
      {
        id: "editor.save",
        group: "Definition editor",
        title: `Save ${name}`,
        disabled: () => invalid ?? (!unsaved && !brokenFile ? "no changes" : a.saving ? "saving…" : null),
        run: a.save,
      },
      { id: "editor.test", group: "Definition editor", title: `Test ${name}`, keywords: ["impact", "dry run"], disabled: () => invalid ?? (a.testing ? "testing…" : null), run: a.test },
      { id: "editor.diff", group: "Definition editor", title: editor.showDiff ? "Hide the diff" : "Show the diff against the applied version", run: editor.toggleDiff },
      {
        id: "editor.apply",
        group: "Definition editor",
        title: `Apply ${name}`,
        disabled: () => invalid ?? (unsaved ? "save first" : original === null ? "save first" : a.applying ? "applying…" : null),
        run: a.apply,
      },
      {
        id: "editor.refresh",
        group: "Definition editor",
        title: `Refresh the accounts of ${name}`,
        disabled: () => (original === null ? "save first" : !detail?.summary.sourceType ? "no account source" : a.refreshing ? "refreshing…" : null),
        run: a.refresh,
      },
      { id: "editor.delete", group: "Definition editor", title: `Delete ${name}…`, disabled: () => (original === null ? "not saved" : null), run: a.askDelete },
    ];
    if (applied && original) list.push({ id: "editor.deploy", group: "Definition editor", title: `Deploy bots into ${original}`, run: () => onDeploy(original) });
    return list;
  }, [editor, original, detail, brokenFile, onDeploy]);
  useCommands(commands);
}
