import { useEffect, useState } from "react";
import {
  useApplyDefinition,
  useDefinition,
  useDeleteDefinition,
  useRefreshAccounts,
  useSaveDefinition,
  useTestDefinition,
  useValidation,
} from "../api/hooks";
import type { DefinitionDetail, DefinitionSummary } from "../api/types";
import { ErrorNotice } from "../shared/ErrorNotice";
import { meetingLabel } from "../shared/format";
import { ConfirmDialog } from "./ConfirmDialog";
import { DiffView } from "./DiffView";
import { problemLocation } from "./problems";
import { StateBadge } from "./StateBadge";
import { YamlEditor } from "./YamlEditor";
import { FORM_FIELDS, MEETING_PLATFORMS, NEW_DEFINITION, setTopLevelField, type FormField } from "./yamlForm";

/** Validation waits this long after the last keystroke. */
export const VALIDATE_DEBOUNCE_MS = 300;

/** What the editor shows: a saved definition, or a new one. */
export type EditorTarget = { kind: "existing"; name: string } | { kind: "new" };

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The editor panel of one definition (loaded first when it exists). */
export function DefinitionEditor({
  target,
  onSaved,
  onDeleted,
}: {
  target: EditorTarget;
  onSaved: (name: string) => void;
  onDeleted: (note: string) => void;
}) {
  const name = target.kind === "existing" ? target.name : null;
  const detail = useDefinition(name);
  if (name !== null && detail.error) return <ErrorNotice error={detail.error} title={`Cannot open ${name}`} />;
  if (name !== null && !detail.data) return <div className="panel p-4 text-[13px] text-muted">Loading {name}…</div>;
  return <EditorPanel key={name ?? "(new)"} original={name} detail={detail.data ?? null} onSaved={onSaved} onDeleted={onDeleted} />;
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
  onSaved,
  onDeleted,
}: {
  original: string | null;
  detail: DefinitionDetail | null;
  onSaved: (name: string) => void;
  onDeleted: (note: string) => void;
}) {
  const saved = detail?.text ?? null;
  const [text, setText] = useState(saved ?? NEW_DEFINITION);
  const [form, setForm] = useState<Record<FormField, string> | null>(null);
  const [showDiff, setShowDiff] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const debounced = useDebounced(text, VALIDATE_DEBOUNCE_MS);
  const validation = useValidation(debounced);
  const problems = validation.data?.problems ?? [];
  const checked = validation.data !== undefined && debounced === text && !validation.isPlaceholderData;
  const valid = checked && problems.length === 0;
  const unsaved = text !== saved;
  const problemLines = new Set(problems.flatMap((p) => (p.line !== null ? [p.line] : [])));

  const save = useSaveDefinition();
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

  // Only the latest action's error stays on screen.
  const clearErrors = () => [save, apply, refresh, test].forEach((m) => m.reset());
  const onSave = () => {
    clearErrors();
    save.mutate(
      { originalName: original, text },
      {
        onSuccess: (s) => {
          setNotice(s.renamedFrom ? `Saved as ${s.file} (moved from ${s.renamedFrom}).` : `Saved ${s.file}.`);
          if (s.name !== original) onSaved(s.name);
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

  const actionError = save.error ?? apply.error ?? refresh.error ?? test.error;

  return (
    <section aria-label="Definition editor" className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 className="text-[15px] font-semibold">{original ?? "New pool"}</h2>
        {detail && <StateBadge state={detail.state} />}
        {detail && <span className="font-mono text-[11px] text-dim">{detail.file}</span>}
        {unsaved && <span className="badge border-busy/30 text-busy">[unsaved]</span>}
        <div className="ml-auto flex gap-1" role="group" aria-label="Editor mode">
          <button type="button" className={`btn ${form === null ? "btn-primary" : ""}`} onClick={() => setForm(null)}>
            YAML
          </button>
          <button
            type="button"
            className={`btn ${form !== null ? "btn-primary" : ""}`}
            disabled={!summary}
            title={summary ? undefined : "Fix the YAML's problems to use the form"}
            onClick={() => summary && setForm(formValues(summary))}
          >
            Form
          </button>
        </div>
      </div>

      {form === null ? (
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
        <button type="button" className="btn btn-primary" disabled={!valid || !unsaved || save.isPending} onClick={onSave}>
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
            Removes {detail?.file ?? "its file"} from the pools directory. The database keeps the pool, its slots and applied versions.
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

function TestResult({ result }: { result: NonNullable<ReturnType<typeof useTestDefinition>["data"]> }) {
  return (
    <section aria-label="Test result" className="panel space-y-2 p-3 text-[12.5px]">
      {result.problems.length > 0 && <p className="text-error">{result.problems.length} problem(s): see above.</p>}
      {result.impact && (
        <p>
          <span className="text-muted">Applying </span>
          {result.impact.text}.
        </p>
      )}
      {result.accounts && (
        <div>
          <p>
            <span className="text-muted">Account source: </span>
            {result.accounts.count}
            {result.accounts.truncated ? "+" : ""} account{result.accounts.count === 1 ? "" : "s"} match
          </p>
          {result.accounts.sample.length > 0 && (
            <ul aria-label="Account sample" className="mt-1 space-y-0.5 font-mono text-[11.5px] text-muted">
              {result.accounts.sample.map((row, i) => (
                <li key={i}>{row}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {result.accountsError && <ErrorNotice error={result.accountsError} title="The account source could not be read" />}
      {result.impact && !result.accounts && !result.accountsError && <p className="text-muted">No account source.</p>}
    </section>
  );
}
