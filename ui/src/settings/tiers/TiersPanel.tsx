// The priority tiers: names, priorities and ageing bounds, and the default
// tier; saved on their own through the settings' one save command.
import { useState } from "react";
import type { TierSettings } from "../../bindings";
import { ErrorNotice } from "../../shared/ErrorNotice";
import { useSaveSettings } from "../queries";
import type { SettingsRules } from "../validation";
import { draftOf, sameAs, tierSettingsOf, tiersProblems, type RowProblems, type TierRow, type TiersDraft } from "./draft";

/** The tiers form: one row per tier, add and remove, the default tier, and Save tiers (only when valid and changed). */
export function TiersPanel({ tiers, rules }: { tiers: TierSettings; rules: SettingsRules }) {
  const [draft, setDraft] = useState<TiersDraft | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useSaveSettings();
  const d = draft ?? draftOf(tiers);
  const problems = tiersProblems(d, rules);
  const dirty = draft !== null && !sameAs(d, tiers);
  const edit = (next: TiersDraft) => {
    setSaved(false);
    setDraft(next);
  };
  const patch = (i: number, p: Partial<TierRow>) => edit({ ...d, rows: d.rows.map((r, j) => (j === i ? { ...r, ...p } : r)) });
  const submit = () => {
    if (problems.any || !dirty) return;
    save.mutate({ edits: [], tiers: tierSettingsOf(d) }, { onSuccess: () => (setDraft(null), setSaved(true)) });
  };
  return (
    <section className="panel" aria-label="Priority tiers">
      <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
        <h2 className="panel-title">Priority tiers</h2>
        <span className="text-[11px] text-dim">A tier that waited its max wait is served before tiers that have not</span>
      </div>
      <div className="flex flex-col gap-2 px-4 py-3">
        {d.rows.map((r, i) => (
          <TierRowFields key={i} row={r} index={i} problems={problems.rows[i]!} onPatch={(p) => patch(i, p)} onRemove={() => edit({ ...d, rows: d.rows.filter((_, j) => j !== i) })} />
        ))}
        <div className="flex items-center gap-3">
          <button type="button" className="btn" disabled={d.rows.length >= rules.maxTiers} onClick={() => edit({ ...d, rows: [...d.rows, { name: "", priority: "", maxWait: "" }] })}>
            Add tier
          </button>
          <label className="flex items-center gap-2 text-[12px] text-muted">
            Default tier
            <select className="input" aria-label="Default tier" value={d.defaultTier} onChange={(e) => edit({ ...d, defaultTier: e.target.value })}>
              {d.rows.map((r, i) => (
                <option key={i} value={r.name.trim()}>
                  {r.name.trim() || "(unnamed)"}
                </option>
              ))}
            </select>
          </label>
        </div>
        {problems.list && (
          <div role="alert" className="text-[11.5px] text-error">
            {problems.list}
          </div>
        )}
        {save.error && <ErrorNotice error={save.error} title="Tiers were not saved" />}
        <div className="flex items-center gap-3">
          <button type="button" className="btn btn-primary" disabled={problems.any || !dirty || save.isPending} onClick={submit}>
            {save.isPending ? "Saving…" : "Save tiers"}
          </button>
          <button type="button" className="btn" disabled={draft === null} onClick={() => (setDraft(null), save.reset())}>
            Discard tiers
          </button>
          {saved && !dirty && (
            <span role="status" className="text-[12px] text-idle">
              Saved.
            </span>
          )}
        </div>
      </div>
    </section>
  );
}

function Field({ label, value, error, onChange, placeholder }: { label: string; value: string; error: string | null; onChange: (v: string) => void; placeholder?: string }) {
  return (
    <div className="flex min-w-0 flex-col">
      <input className={`input ${error ? "border-error" : ""}`} aria-label={label} aria-invalid={error !== null} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
      {error && (
        <div role="alert" className="mt-1 text-[11.5px] text-error">
          {error}
        </div>
      )}
    </div>
  );
}

function TierRowFields({ row, index, problems, onPatch, onRemove }: { row: TierRow; index: number; problems: RowProblems; onPatch: (p: Partial<TierRow>) => void; onRemove: () => void }) {
  const n = index + 1;
  return (
    <div className="grid grid-cols-[minmax(0,1fr)_96px_140px_auto] items-start gap-2">
      <Field label={`Tier ${n} name`} value={row.name} error={problems.name} onChange={(name) => onPatch({ name })} />
      <Field label={`Tier ${n} priority`} value={row.priority} error={problems.priority} onChange={(priority) => onPatch({ priority })} />
      <Field label={`Tier ${n} max wait (ms)`} value={row.maxWait} error={problems.maxWait} placeholder="no ageing" onChange={(maxWait) => onPatch({ maxWait })} />
      <button type="button" className="btn px-1.5 py-0.5" aria-label={`Remove tier ${n}`} onClick={onRemove}>
        ×
      </button>
    </div>
  );
}
