import { useEffect, useMemo, useState } from "react";
import {
  useApplyDefinition,
  useDefinition,
  useDefinitionFile,
  useDeleteDefinition,
  useRefreshAccounts,
  useRepairDefinition,
  useSaveDefinition,
  useTestDefinition,
  useValidation,
} from "./queries";
import type { DefinitionDetail, DefinitionSummary } from "../api/types";
import { ErrorNotice } from "../shared/ErrorNotice";
import { meetingLabel } from "../shared/format";
import { useUnsavedChanges } from "../shared/unsaved";
import { ConfirmDialog } from "../shared/ConfirmDialog";
import { DiffView } from "./DiffView";
import { problemLocation } from "./problems";
import { QueryBuilder } from "./QueryBuilder";
import { readAccounts } from "./queryBuilder";
import { StateBadge } from "./StateBadge";
import { TestResult } from "./TestResult";
import { YamlEditor } from "./YamlEditor";
import { FORM_FIELDS, MEETING_PLATFORMS, NEW_DEFINITION, setTopLevelField, type FormField } from "./yamlForm";

/** Validation waits this long after the last keystroke. */
export const VALIDATE_DEBOUNCE_MS = 300;

/** What the editor shows: a saved definition, a new one, or a broken file to repair. */
export type EditorTarget = { kind: "existing"; name: string } | { kind: "new" } | { kind: "broken"; file: string };

/** One editor per target: a new target starts a fresh editor. */
export const editorKey = (t: EditorTarget) => (t.kind === "existing" ? t.name : t.kind === "broken" ? `broken:${t.file}` : "(new)");

/** How the editor edits the text. */
type Mode = "yaml" | "form" | "builder";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

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
  if (name !== null && detail.error) return <ErrorNotice error={detail.error} title={`Cannot open ${name}`} />;
  if (name !== null && !detail.data) return <div className="panel p-4 text-[13px] text-muted">Loading {name}…</div>;
  if (file !== null && raw.error) return <ErrorNotice error={raw.error} title={`Cannot open ${file}`} />;
  if (file !== null && raw.data === undefined) return <div className="panel p-4 text-[13px] text-muted">Loading {file}…</div>;
  return (
    <EditorPanel
      key={editorKey(target)}
      original={name}
      detail={detail.data ?? null}
      broken={file !== null ? { file, text: raw.data ?? "" } : null}
      onSaved={onSaved}
      onDeleted={onDeleted}
      onDeploy={onDeploy}
    />
  );
}

const FIELD_LABELS: Record<FormField, string> = {
  name: "Name",
  meeting_platform: "Meeting platform",
  image: "Image",
  tag: "Tag",
  max_size: "Max size",
  prewarm: "Prewarm",
};

function formValues(s: DefinitionSummary): Record<FormField, string> {
  return {
    name: s.name,
    meeting_platform: s.meetingPlatform,
    image: s.image,
    tag: s.tag,
    max_size: String(s.maxSize),
    prewarm: String(s.prewarm),
  };
}

function EditorPanel({
  original,
  detail,
  broken,
  onSaved,
  onDeleted,
  onDeploy,
}: {
  original: string | null;
  detail: DefinitionDetail | null;
  /** A broken file being repaired: its name and raw text. */
  broken: { file: string; text: string } | null;
  onSaved: (name: string, note?: string) => void;
  onDeleted: (note: string) => void;
  onDeploy: (name: string) => void;
}) {
  const saved = detail?.text ?? broken?.text ?? null;
  const [text, setText] = useState(saved ?? NEW_DEFINITION);
  const [mode, setMode] = useState<Mode>("yaml");
  const [form, setForm] = useState<Record<FormField, string> | null>(null);
  const [showDiff, setShowDiff] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmBuilder, setConfirmBuilder] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const debounced = useDebounced(text, VALIDATE_DEBOUNCE_MS);
  const validation = useValidation(debounced);
  const problems = validation.data?.problems ?? [];
  const checked = validation.data !== undefined && debounced === text && !validation.isPlaceholderData;
  const valid = checked && problems.length === 0;
  const unsaved = text !== saved;
  // A new pool's untouched template is nothing to lose.
  useUnsavedChanges(`the pool definition ${original ?? broken?.file ?? "(new pool)"}`, text !== (saved ?? NEW_DEFINITION));
  const problemLines = new Set(problems.flatMap((p) => (p.line !== null ? [p.line] : [])));

  const save = useSaveDefinition();
  const repair = useRepairDefinition();
  const apply = useApplyDefinition();
  const refresh = useRefreshAccounts();
  const del = useDeleteDefinition();
  const test = useTestDefinition();

  const edit = (t: string) => {
    setText(t);
    setNotice(null);
  };
  const setField = (key: FormField, value: string) => {
    setForm((f) => (f ? { ...f, [key]: value } : f));
    edit(setTopLevelField(text, key, value));
  };
  const summary = valid ? validation.data?.summary : null;
  const accounts = useMemo(() => readAccounts(text), [text]);
  const builderBlocked =
    accounts.kind === "unparsable"
      ? "Fix the YAML's syntax to use the query builder"
      : accounts.kind === "other"
        ? `The query builder is for SQL account sources (this one is ${accounts.type})`
        : null;
  const openBuilder = () => {
    if (accounts.kind === "query") setConfirmBuilder(true);
    else setMode("builder");
  };

  // Only the latest action's error stays on screen.
  const clearErrors = () => [save, repair, apply, refresh, test].forEach((m) => m.reset());
  const onSave = () => {
    clearErrors();
    if (broken) {
      repair.mutate(
        { file: broken.file, text },
        {
          onSuccess: (s) =>
            onSaved(s.name, s.file === broken.file ? `Repaired ${s.file}.` : `Repaired ${broken.file}: saved as ${s.file}.`),
        },
      );
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
  const onDelete = () =>
    original &&
    del.mutate(original, {
      onSuccess: (d) => {
        setConfirmDelete(false);
        onDeleted(`Deleted ${d.file}: ${d.note}.`);
      },
    });

  const actionError = save.error ?? repair.error ?? apply.error ?? refresh.error ?? test.error;
  const applied = detail !== null && detail.state.state !== "notApplied";

  return (
    <section aria-label="Definition editor" className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 className="text-[15px] font-semibold">{original ?? broken?.file ?? "New pool"}</h2>
        {detail && <StateBadge state={detail.state} />}
        {detail && <span className="font-mono text-[11px] text-dim">{detail.file}</span>}
        {broken && (
          <span className="badge border-error/40 bg-error/10 text-error" title="Skipped by the pools directory until it is repaired">
            [broken file]
          </span>
        )}
        {unsaved && <span className="badge border-busy/30 text-busy">[unsaved]</span>}
        <div className="ml-auto flex gap-1" role="group" aria-label="Editor mode">
          <button type="button" aria-pressed={mode === "yaml"} className={`btn ${mode === "yaml" ? "btn-primary" : ""}`} onClick={() => setMode("yaml")}>
            YAML
          </button>
          <button
            type="button"
            aria-pressed={mode === "form"}
            className={`btn ${mode === "form" ? "btn-primary" : ""}`}
            disabled={!summary}
            title={summary ? undefined : "Fix the YAML's problems to use the form"}
            onClick={() => {
              if (!summary) return;
              setForm(formValues(summary));
              setMode("form");
            }}
          >
            Form
          </button>
          <button
            type="button"
            aria-pressed={mode === "builder"}
            className={`btn ${mode === "builder" ? "btn-primary" : ""}`}
            disabled={builderBlocked !== null && mode !== "builder"}
            title={builderBlocked ?? "Build the SQL account source's query from a form"}
            onClick={() => mode !== "builder" && openBuilder()}
          >
            Query builder
          </button>
        </div>
      </div>

      {mode === "builder" ? (
        <QueryBuilder text={text} onChange={edit} />
      ) : mode === "yaml" || form === null ? (
        <YamlEditor label="Definition YAML" value={text} onChange={edit} problemLines={problemLines} />
      ) : (
        <div className="panel grid grid-cols-2 gap-3 p-3" role="form" aria-label="Common fields">
          {FORM_FIELDS.map((key) => (
            <label key={key} className="flex flex-col gap-1 text-[12px] text-muted">
              {FIELD_LABELS[key]}
              {key === "meeting_platform" ? (
                <select className="input" value={form[key]} onChange={(e) => setField(key, e.target.value)}>
                  {MEETING_PLATFORMS.map((m) => (
                    <option key={m} value={m}>
                      {meetingLabel(m)}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  className="input"
                  value={form[key]}
                  inputMode={key === "max_size" || key === "prewarm" ? "numeric" : undefined}
                  onChange={(e) => setField(key, e.target.value)}
                />
              )}
            </label>
          ))}
          <p className="col-span-2 text-[11.5px] text-dim">The form edits these lines of the YAML; everything else stays as written.</p>
        </div>
      )}

      <div aria-live="polite" aria-label="Validation">
        {problems.length > 0 ? (
          <ul className="space-y-0.5 border border-error/40 bg-error/10 px-3 py-2 font-mono text-[12px]" aria-label="Problems">
            {problems.map((p, i) => (
              <li key={i}>
                <span className="text-error">{problemLocation(p) || "—"}</span>
                {p.field && <span className="text-muted"> {p.field}</span>} <span className="text-fg">{p.message}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-[12px] text-muted">{valid ? "Valid." : "Checking…"}</p>
        )}
      </div>

      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!valid || (!unsaved && !broken) || save.isPending || repair.isPending}
          title={broken ? `Replaces the broken ${broken.file}` : undefined}
          onClick={onSave}
        >
          Save
        </button>
        <button
          type="button"
          className="btn"
          disabled={!valid || test.isPending}
          onClick={() => {
            clearErrors();
            test.mutate(text);
          }}
        >
          Test
        </button>
        <button type="button" className="btn" aria-pressed={showDiff} onClick={() => setShowDiff((s) => !s)}>
          Diff
        </button>
        <button
          type="button"
          className="btn"
          disabled={!valid || unsaved || original === null || apply.isPending}
          title={unsaved ? "Save first" : !valid ? "Fix the problems first" : undefined}
          onClick={onApply}
        >
          Apply
        </button>
        <button
          type="button"
          className="btn"
          disabled={original === null || !detail?.summary.sourceType || refresh.isPending}
          title={detail?.summary.sourceType ? undefined : "No account source"}
          onClick={onRefresh}
        >
          Refresh accounts
        </button>
        {applied && original && (
          <button type="button" className="btn" onClick={() => onDeploy(original)}>
            Deploy bots
          </button>
        )}
        <button type="button" className="btn ml-auto" disabled={original === null} onClick={() => setConfirmDelete(true)}>
          Delete
        </button>
      </div>

      {actionError && <ErrorNotice error={actionError} />}
      {notice && (
        <p role="status" className="text-[12.5px] text-idle">
          {notice}
        </p>
      )}

      {test.data && <TestResult result={test.data} />}
      {showDiff && <DiffView label="Diff against the applied version" before={detail?.appliedText ?? null} after={text} />}

      {confirmBuilder && (
        <ConfirmDialog
          title="Replace the hand-written query?"
          confirmLabel="Use the query builder"
          onConfirm={() => {
            setConfirmBuilder(false);
            setMode("builder");
          }}
          onCancel={() => setConfirmBuilder(false)}
        >
          <p>
            This pool's accounts come from a hand-written <code className="font-mono">accounts.query</code>. The query builder writes{" "}
            <code className="font-mono">accounts.builder</code> instead and removes the query (its SELECT and parameters) as soon as you edit
            the builder's form. The pool config and the rest of the file stay as written; nothing is saved until you press Save.
          </p>
        </ConfirmDialog>
      )}

      {confirmDelete && original && (
        <ConfirmDialog
          title={`Delete ${original}?`}
          confirmLabel="Delete definition"
          busy={del.isPending}
          onConfirm={onDelete}
          onCancel={() => {
            setConfirmDelete(false);
            del.reset();
          }}
        >
          <p>
            Removes {detail?.file ?? "its file"} from the pools directory and retires the pool: it takes no new bots and its idle slots are removed; its history stays.
            Refused while slots are busy or deploying.
          </p>
          {del.error && (
            <div className="mt-2">
              <ErrorNotice error={del.error} title="Not deleted" />
            </div>
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}
