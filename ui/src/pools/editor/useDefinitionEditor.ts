// The state and actions of one definition's editor: the text being edited,
// its validation (once typing pauses), how it is edited (YAML, form, query
// builder) and what can be done with it (save or repair, test, apply,
// refresh accounts, delete). The components under pools/editor/ only show
// it; the panel composes them (DefinitionEditor.tsx).
import { useEffect, useMemo, useState } from "react";
import type { DefinitionDetail, DefinitionSummary } from "../../api/types";
import { useUnsavedChanges } from "../../shared/unsaved";
import {
  useApplyDefinition,
  useDeleteDefinition,
  useRefreshAccounts,
  useRepairDefinition,
  useSaveDefinition,
  useTestDefinition,
  useValidation,
} from "../queries";
import { readAccounts } from "../queryBuilder";
import { NEW_DEFINITION, setTopLevelField, type FormField } from "../yamlForm";

/** Validation waits this long after the last keystroke. */
export const VALIDATE_DEBOUNCE_MS = 300;

/** How the editor edits the text. */
export type EditorMode = "yaml" | "form" | "builder";

/** A broken file being repaired: its name and raw text. */
export interface BrokenFile {
  file: string;
  text: string;
}

export interface EditorInput {
  /** The saved definition's name (null: a new pool or a broken file). */
  original: string | null;
  detail: DefinitionDetail | null;
  broken: BrokenFile | null;
  /** After a save that opens another editor (a new name): the pool's name, and a note for the page to keep. */
  onSaved: (name: string, note?: string) => void;
  onDeleted: (note: string) => void;
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** `text`'s validation once typing pauses; `valid` only for the text as it is now. */
export function useTextValidation(text: string) {
  const debounced = useDebounced(text, VALIDATE_DEBOUNCE_MS);
  const validation = useValidation(debounced);
  const problems = validation.data?.problems ?? [];
  const checked = validation.data !== undefined && debounced === text && !validation.isPlaceholderData;
  const valid = checked && problems.length === 0;
  /** The valid text's common fields (what the form mode edits). */
  const summary: DefinitionSummary | null = valid ? (validation.data?.summary ?? null) : null;
  const problemLines = new Set(problems.flatMap((p) => (p.line !== null ? [p.line] : [])));
  return { problems, valid, summary, problemLines };
}

/** The common fields of a summary, as the form's strings. */
export function formValues(s: DefinitionSummary): Record<FormField, string> {
  return {
    name: s.name,
    meeting_platform: s.meetingPlatform,
    image: s.image,
    tag: s.tag,
    max_size: String(s.maxSize),
    prewarm: String(s.prewarm),
  };
}

/** Which mode edits the text; the query builder asks first before it replaces a hand-written query. */
function useEditorMode(text: string, summary: DefinitionSummary | null, edit: (text: string) => void) {
  const [mode, setMode] = useState<EditorMode>("yaml");
  const [form, setForm] = useState<Record<FormField, string> | null>(null);
  const [confirmBuilder, setConfirmBuilder] = useState(false);
  const accounts = useMemo(() => readAccounts(text), [text]);
  const builderBlocked =
    accounts.kind === "unparsable"
      ? "Fix the YAML's syntax to use the query builder"
      : accounts.kind === "other"
        ? `The query builder is for SQL account sources (this one is ${accounts.type})`
        : null;
  return {
    mode,
    form,
    confirmBuilder,
    /** Why the query builder cannot edit this text (null: it can). */
    builderBlocked,
    chooseYaml: () => setMode("yaml"),
    /** The form starts from the valid text's fields; nothing happens while the text is not valid. */
    chooseForm: () => {
      if (!summary) return;
      setForm(formValues(summary));
      setMode("form");
    },
    chooseBuilder: () => {
      if (mode === "builder") return;
      if (accounts.kind === "query") setConfirmBuilder(true);
      else setMode("builder");
    },
    acceptBuilder: () => {
      setConfirmBuilder(false);
      setMode("builder");
    },
    declineBuilder: () => setConfirmBuilder(false),
    /** A form field: the form and the text's line at once. */
    setField: (key: FormField, value: string) => {
      setForm((f) => (f ? { ...f, [key]: value } : f));
      edit(setTopLevelField(text, key, value));
    },
  };
}

/**
 * The editor of one target. Mount one per target (see `editorKey`): the
 * text starts from the saved text, the broken file's text or the new-pool
 * template, and edits that are not saved are registered as unsaved.
 */
export function useDefinitionEditor(input: EditorInput) {
  const { original, broken } = input;
  const saved = input.detail?.text ?? broken?.text ?? null;
  const [text, setText] = useState(saved ?? NEW_DEFINITION);
  const [notice, setNotice] = useState<string | null>(null);
  const [showDiff, setShowDiff] = useState(false);
  // A new pool's untouched template is nothing to lose.
  useUnsavedChanges(`the pool definition ${original ?? broken?.file ?? "(new pool)"}`, text !== (saved ?? NEW_DEFINITION));

  /** An edit of the text (any mode); the last action's note no longer applies. */
  const edit = (t: string) => {
    setText(t);
    setNotice(null);
  };
  const validation = useTextValidation(text);
  const mode = useEditorMode(text, validation.summary, edit);
  const actions = useEditorActions(input, text, setNotice);
  return {
    text,
    edit,
    unsaved: text !== saved,
    notice,
    showDiff,
    toggleDiff: () => setShowDiff((s) => !s),
    validation,
    mode,
    actions,
  };
}

export type DefinitionEditorState = ReturnType<typeof useDefinitionEditor>;

/** The commands on the text and the saved definition; only the latest action's error stays on screen. */
function useEditorActions({ original, broken, onSaved, onDeleted }: EditorInput, text: string, setNotice: (note: string) => void) {
  const save = useSaveDefinition();
  const repair = useRepairDefinition();
  const apply = useApplyDefinition();
  const refresh = useRefreshAccounts();
  const test = useTestDefinition();
  const clearErrors = () => [save, repair, apply, refresh, test].forEach((m) => m.reset());

  const onSave = () => {
    clearErrors();
    if (broken) {
      const repaired = (file: string) => (file === broken.file ? `Repaired ${file}.` : `Repaired ${broken.file}: saved as ${file}.`);
      repair.mutate({ file: broken.file, text }, { onSuccess: (s) => onSaved(s.name, repaired(s.file)) });
      return;
    }
    save.mutate(
      { originalName: original, text },
      {
        onSuccess: (s) => {
          const note = s.renamedFrom ? `Saved as ${s.file} (moved from ${s.renamedFrom}).` : `Saved ${s.file}.`;
          // A new name opens a new editor: the page keeps the note.
          if (s.name !== original) onSaved(s.name, note);
          else setNotice(note);
        },
      },
    );
  };
  const onApply = () => {
    if (!original) return;
    clearErrors();
    apply.mutate(original, {
      onSuccess: (a) => setNotice(a.changed ? `Applied as v${a.version}.` : `v${a.version} already has this content; nothing changed.`),
    });
  };
  const onRefresh = () => {
    if (!original) return;
    clearErrors();
    refresh.mutate(original, {
      onSuccess: (r) =>
        setNotice(
          `Accounts refreshed: ${r.added} added, ${r.kept} kept, ${r.removed} removed${r.truncated ? " (source capped)" : ""}; ${r.stats.available} available.`,
        ),
    });
  };
  const onTest = () => {
    clearErrors();
    test.mutate(text);
  };

  return {
    save: onSave,
    apply: onApply,
    refresh: onRefresh,
    test: onTest,
    ...useDeleteAction(original, onDeleted),
    saving: save.isPending || repair.isPending,
    testing: test.isPending,
    applying: apply.isPending,
    refreshing: refresh.isPending,
    testResult: test.data,
    /** The error of the latest save, repair, apply, refresh or test. */
    error: save.error ?? repair.error ?? apply.error ?? refresh.error ?? test.error,
  };
}

/** Deleting the saved definition: asked first; a refused delete's error stays in the dialog until it closes. */
function useDeleteAction(original: string | null, onDeleted: (note: string) => void) {
  const del = useDeleteDefinition();
  const [confirmDelete, setConfirmDelete] = useState(false);
  return {
    askDelete: () => setConfirmDelete(true),
    confirmDelete,
    delete: () =>
      original &&
      del.mutate(original, {
        onSuccess: (d) => {
          setConfirmDelete(false);
          onDeleted(`Deleted ${d.file}: ${d.note}.`);
        },
      }),
    cancelDelete: () => {
      setConfirmDelete(false);
      del.reset();
    },
    deleting: del.isPending,
    deleteError: del.error,
  };
}
