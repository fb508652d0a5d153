import { useState } from "react";
import { ErrorNotice } from "../shared/ErrorNotice";
import { QueryState } from "../shared/QueryState";
import { DiffView } from "./DiffView";
import { CommonFieldsForm } from "./editor/CommonFieldsForm";
import { EditorActions } from "./editor/EditorActions";
import { ConfirmBuilderDialog, ConfirmDeleteDialog } from "./editor/EditorDialogs";
import { EditorHeader } from "./editor/EditorHeader";
import { useDefinitionEditor, type EditorInput } from "./editor/useDefinitionEditor";
import { ValidationStatus } from "./editor/ValidationStatus";
import { QueryBuilder } from "./QueryBuilder";
import { ScalingPanel } from "./ScalingPanel";
import { useDefinition, useDefinitionFile } from "./queries";
import { TestResult } from "./TestResult";
import type { Reveal } from "./yaml/CodeEditor";
import { YamlEditor } from "./YamlEditor";

export { VALIDATE_DEBOUNCE_MS } from "./editor/useDefinitionEditor";

/** What the editor shows: a saved definition, a new one, or a broken file to repair. */
export type EditorTarget = { kind: "existing"; name: string } | { kind: "new" } | { kind: "broken"; file: string };

/** One editor per target: a new target starts a fresh editor. */
export const editorKey = (t: EditorTarget) => (t.kind === "existing" ? t.name : t.kind === "broken" ? `broken:${t.file}` : "(new)");

/** The editor panel of one definition (loaded first when it exists; a broken file's raw text). */
export function DefinitionEditor({
  target,
  onSaved,
  onDeleted,
  onDeploy,
}: {
  target: EditorTarget;
  /** After a save: the pool's name, and a note to keep when the editor moves on. */
  onSaved: (name: string, note?: string) => void;
  onDeleted: (note: string) => void;
  /** Opens the deploy dialog of an applied pool. */
  onDeploy: (name: string) => void;
}) {
  const name = target.kind === "existing" ? target.name : null;
  const file = target.kind === "broken" ? target.file : null;
  const detail = useDefinition(name);
  const raw = useDefinitionFile(file);
  const panel = (loaded: Pick<EditorInput, "detail" | "broken">) => (
    <EditorPanel key={editorKey(target)} original={name} {...loaded} onSaved={onSaved} onDeleted={onDeleted} onDeploy={onDeploy} />
  );
  // Until it is loaded, the panel's place shows the loading or the error (never a stale editor).
  const loading = "panel p-4 text-[13px] text-muted";
  if (name !== null) {
    return (
      <QueryState query={detail} replace errorTitle={`Cannot open ${name}`} loading={`Loading ${name}…`} loadingClassName={loading}>
        {(d) => panel({ detail: d, broken: null })}
      </QueryState>
    );
  }
  if (file !== null) {
    return (
      <QueryState query={raw} replace errorTitle={`Cannot open ${file}`} loading={`Loading ${file}…`} loadingClassName={loading}>
        {(text) => panel({ detail: null, broken: { file, text } })}
      </QueryState>
    );
  }
  return panel({ detail: null, broken: null });
}

/** The editor of one loaded target: `useDefinitionEditor`'s state shown by the editor/ components. */
function EditorPanel({ onDeploy, ...input }: EditorInput & { onDeploy: (name: string) => void }) {
  const { original, detail, broken } = input;
  const editor = useDefinitionEditor(input);
  const { mode: m, actions: a } = editor;
  // The YAML editor is shown (the form needs valid text; the builder is its own view).
  const yaml = m.mode === "yaml" || (m.mode === "form" && m.form === null);
  const [reveal, setReveal] = useState<Reveal | null>(null);
  return (
    <section aria-label="Definition editor" className="flex flex-col gap-3">
      <EditorHeader title={original ?? broken?.file ?? "New pool"} detail={detail} brokenFile={broken?.file ?? null} editor={editor} />

      {m.mode === "builder" ? (
        <QueryBuilder text={editor.text} onChange={editor.edit} />
      ) : m.mode === "yaml" || m.form === null ? (
        <YamlEditor label="Definition YAML" value={editor.text} onChange={editor.edit} problems={editor.validation.problems} reveal={reveal} />
      ) : (
        <CommonFieldsForm form={m.form} onField={m.setField} />
      )}

      <ValidationStatus
        problems={editor.validation.problems}
        valid={editor.validation.valid}
        onReveal={yaml ? (problem) => setReveal({ problem }) : undefined}
      />
      <EditorActions editor={editor} original={original} detail={detail} brokenFile={broken?.file ?? null} onDeploy={onDeploy} />

      {a.error && <ErrorNotice error={a.error} />}
      {editor.notice && (
        <p role="status" className="text-[12.5px] text-idle">
          {editor.notice}
        </p>
      )}

      {a.testResult && <TestResult result={a.testResult} />}
      {original && detail && detail.state.state !== "notApplied" && <ScalingPanel pool={original} />}
      {editor.showDiff && <DiffView label="Diff against the applied version" before={detail?.appliedText ?? null} after={editor.text} />}

      {m.confirmBuilder && <ConfirmBuilderDialog onConfirm={m.acceptBuilder} onCancel={m.declineBuilder} />}
      {a.confirmDelete && original && (
        <ConfirmDeleteDialog
          name={original}
          file={detail?.file ?? null}
          busy={a.deleting}
          error={a.deleteError}
          onConfirm={a.delete}
          onCancel={a.cancelDelete}
        />
      )}
    </section>
  );
}
