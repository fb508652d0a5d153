import { useState, type ReactNode } from "react";
import { useSaveSettings, useSettings, type SettingsPlan } from "../api/hooks";
import type { PlatformEdit, PlatformSettings, Settings } from "../api/types";
import { ErrorNotice } from "../shared/ErrorNotice";
import { formatDuration } from "../shared/format";
import { PageHeader } from "../shared/PageHeader";
import { useUnsavedChanges } from "../shared/unsaved";
import { SettingsHistory } from "./SettingsHistory";
import { parseGlobalTimeout, parseLimit, parseQueueTimeout } from "./validation";

interface PlatformDraft {
  enabled?: boolean;
  limit?: string;
  timeout?: string;
}

/** Only what the administrator changed; everything else shows the live value. */
interface Draft {
  order: string[] | null;
  platforms: Record<string, PlatformDraft>;
  global: string | null;
}

const EMPTY: Draft = { order: null, platforms: {}, global: null };

function sameOrder(a: string[], b: string[]) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Row {
  p: PlatformSettings;
  enabled: boolean;
  limit: string;
  timeout: string;
  limitError: string | null;
  timeoutError: string | null;
}

function rowsOf(settings: Settings, draft: Draft): Row[] {
  const byName = new Map<string, PlatformSettings>(settings.platforms.map((p) => [p.platform, p]));
  const serverOrder = [...settings.platforms].sort((a, b) => a.position - b.position).map((p) => p.platform);
  const order = draft.order && draft.order.every((n) => byName.has(n)) && draft.order.length === serverOrder.length ? draft.order : serverOrder;
  return order.map((name) => {
    const p = byName.get(name)!;
    const d = draft.platforms[name] ?? {};
    const limit = d.limit ?? (p.botLimit === null ? "" : String(p.botLimit));
    const timeout = d.timeout ?? String(p.queueTimeoutMs);
    const limitTouched = d.limit !== undefined;
    const lp = parseLimit(limit);
    const tp = parseQueueTimeout(timeout);
    return {
      p,
      enabled: d.enabled ?? p.enabled,
      limit,
      timeout,
      // An unset limit stays unset unless the administrator types one.
      limitError: lp.ok || (!limitTouched && p.botLimit === null) ? null : lp.error,
      timeoutError: tp.ok ? null : tp.error,
    };
  });
}

/** The commands a save sends: only the fields that differ from the live settings. */
export function planOf(settings: Settings, draft: Draft): SettingsPlan {
  const rows = rowsOf(settings, draft);
  const serverOrder = [...settings.platforms].sort((a, b) => a.position - b.position).map((p) => p.platform);
  const order = rows.map((r) => r.p.platform);
  const edits: SettingsPlan["edits"] = [];
  for (const r of rows) {
    const edit: PlatformEdit = {};
    if (r.enabled !== r.p.enabled && !r.p.pinned.enabled) edit.enabled = r.enabled;
    const lp = parseLimit(r.limit);
    if (lp.ok && lp.value !== r.p.botLimit && !r.p.pinned.botLimit) edit.botLimit = lp.value;
    const tp = parseQueueTimeout(r.timeout);
    if (tp.ok && tp.value !== r.p.queueTimeoutMs && !r.p.pinned.queueTimeoutMs) edit.queueTimeoutMs = tp.value;
    if (Object.keys(edit).length > 0) edits.push({ platform: r.p.platform, edit });
  }
  const plan: SettingsPlan = { edits };
  if (!sameOrder(order, serverOrder)) plan.order = order;
  if (draft.global !== null && !settings.globalQueueTimeoutPinnedBy) {
    const g = parseGlobalTimeout(draft.global);
    if (g.ok && g.value !== settings.globalQueueTimeoutMs) plan.globalQueueTimeoutMs = g.value;
  }
  return plan;
}

export function SettingsPage() {
  const settings = useSettings();
  return (
    <div className="flex flex-col">
      <PageHeader title="Platform settings" subtitle="Priority order, limits and queue timeouts — saved to the shared database, live on every instance" />
      <div className="grid grid-cols-[minmax(0,1fr)_360px] gap-4 p-6">
        <div className="min-w-0">
          {settings.error && <ErrorNotice error={settings.error} title="Could not load settings" />}
          {settings.isPending && <div className="text-muted">Loading settings…</div>}
          {settings.data && <SettingsForm settings={settings.data} />}
        </div>
        <SettingsHistory />
      </div>
    </div>
  );
}

export function SettingsForm({ settings }: { settings: Settings }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const save = useSaveSettings();
  const rows = rowsOf(settings, draft);
  const orderPinnedBy = settings.platforms.map((p) => p.pinned.position).find(Boolean) ?? null;
  const globalText = draft.global ?? String(settings.globalQueueTimeoutMs);
  const globalParsed = parseGlobalTimeout(globalText);
  const globalError = settings.globalQueueTimeoutPinnedBy || globalParsed.ok ? null : globalParsed.error;
  const invalid = rows.some((r) => r.limitError || r.timeoutError) || globalError !== null;
  const plan = planOf(settings, draft);
  const dirty = plan.order !== undefined || plan.edits.length > 0 || plan.globalQueueTimeoutMs !== undefined;
  // Leaving asks first (an invalid value typed is an edit too).
  useUnsavedChanges("Settings", dirty || invalid);

  const patch = (name: string, d: PlatformDraft) => {
    setSavedAt(null);
    setDraft((cur) => ({ ...cur, platforms: { ...cur.platforms, [name]: { ...cur.platforms[name], ...d } } }));
  };
  const move = (index: number, delta: -1 | 1) => {
    const order = rows.map((r) => r.p.platform);
    const j = index + delta;
    if (j < 0 || j >= order.length) return;
    [order[index], order[j]] = [order[j]!, order[index]!];
    setSavedAt(null);
    setDraft((cur) => ({ ...cur, order }));
  };
  const submit = () => {
    if (invalid || !dirty) return;
    save.mutate(plan, {
      onSuccess: () => {
        setDraft(EMPTY);
        setSavedAt("Saved.");
      },
    });
  };

  return (
    <form
      aria-label="Platform settings"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      className="flex flex-col gap-4"
    >
      <section className="panel">
        <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
          <h2 className="panel-title">Priority order</h2>
          {orderPinnedBy ? (
            <PinNote variable={orderPinnedBy} />
          ) : (
            <span className="text-[11px] text-dim">First enabled platform with capacity is tried first</span>
          )}
        </div>
        <ol className="divide-y divide-line">
          {rows.map((r, i) => (
            <li key={r.p.platform} data-testid={`settings-${r.p.platform}`} className="grid grid-cols-[64px_110px_120px_minmax(0,1fr)_minmax(0,1fr)] items-start gap-4 px-4 py-3">
              <div className="flex items-center gap-1 pt-5">
                <button
                  type="button"
                  className="btn px-1.5 py-0.5"
                  aria-label={`Move ${r.p.label} up`}
                  disabled={i === 0 || orderPinnedBy !== null}
                  onClick={() => move(i, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="btn px-1.5 py-0.5"
                  aria-label={`Move ${r.p.label} down`}
                  disabled={i === rows.length - 1 || orderPinnedBy !== null}
                  onClick={() => move(i, 1)}
                >
                  ↓
                </button>
              </div>
              <div className="pt-5">
                <div className="flex items-center gap-2">
                  <span className="font-mono text-[11px] text-dim">P{i + 1}</span>
                  <span className="text-[14px] font-semibold">{r.p.label}</span>
                </div>
              </div>
              <div>
                <FieldLabel>Enabled</FieldLabel>
                <label className="mt-1 inline-flex items-center gap-2">
                  <input
                    type="checkbox"
                    role="switch"
                    aria-label={`${r.p.label} enabled`}
                    checked={r.enabled}
                    disabled={Boolean(r.p.pinned.enabled)}
                    onChange={(e) => patch(r.p.platform, { enabled: e.target.checked })}
                    className="size-4 accent-sky-400"
                  />
                  <span className={r.enabled ? "text-idle" : "text-muted"}>{r.enabled ? "on" : "off"}</span>
                </label>
                {r.p.pinned.enabled && <PinNote variable={r.p.pinned.enabled} />}
              </div>
              <NumberField
                label="Bot limit"
                name={`${r.p.label} bot limit`}
                value={r.limit}
                placeholder="no limit"
                pinnedBy={r.p.pinned.botLimit}
                error={r.limitError}
                hint="1 – 100 000 bots"
                onChange={(v) => patch(r.p.platform, { limit: v })}
              />
              <NumberField
                label="Queue timeout ms"
                name={`${r.p.label} queue timeout`}
                value={r.timeout}
                pinnedBy={r.p.pinned.queueTimeoutMs}
                error={r.timeoutError}
                hint={parseQueueTimeout(r.timeout).ok ? `= ${formatDuration(Number(r.timeout))} · 0 – 3 600 000` : "0 – 3 600 000"}
                onChange={(v) => patch(r.p.platform, { timeout: v })}
              />
            </li>
          ))}
        </ol>
      </section>

      <section className="panel px-4 py-3">
        <div className="max-w-sm">
          <NumberField
            label="Global queue timeout (ms)"
            name="Global queue timeout"
            value={globalText}
            pinnedBy={settings.globalQueueTimeoutPinnedBy ?? undefined}
            error={globalError}
            hint={globalParsed.ok ? `= ${formatDuration(globalParsed.value)} · 1 000 – 3 600 000` : "1 000 – 3 600 000 ms"}
            onChange={(v) => {
              setSavedAt(null);
              setDraft((cur) => ({ ...cur, global: v }));
            }}
          />
        </div>
      </section>

      {save.error && <ErrorNotice error={save.error} title="Settings were not saved" />}
      <div className="flex items-center gap-3">
        <button type="submit" className="btn btn-primary" disabled={invalid || !dirty || save.isPending}>
          {save.isPending ? "Saving…" : "Save changes"}
        </button>
        <button
          type="button"
          className="btn"
          disabled={!dirty && draft === EMPTY}
          onClick={() => {
            setDraft(EMPTY);
            save.reset();
          }}
        >
          Discard
        </button>
        {invalid && <span className="text-[12px] text-error">Fix the highlighted fields to save.</span>}
        {!invalid && dirty && <span className="text-[12px] text-busy">Unsaved changes</span>}
        {savedAt && !dirty && (
          <span role="status" className="text-[12px] text-idle">
            {savedAt}
          </span>
        )}
      </div>
    </form>
  );
}

function FieldLabel({ children }: { children: ReactNode }) {
  return <div className="font-mono text-[10.5px] uppercase tracking-[0.14em] text-dim">{children}</div>;
}

function PinNote({ variable }: { variable: string }) {
  return (
    <div
      className="mt-1 flex items-center gap-1 truncate whitespace-nowrap font-mono text-[10.5px] text-busy"
      title={`Set by the environment variable ${variable}: read-only here`}
    >
      <svg viewBox="0 0 16 16" className="size-3 shrink-0" fill="currentColor" aria-label="pinned by">
        <path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm1.5 0h3V5a1.5 1.5 0 0 0-3 0z" />
      </svg>
      <span className="font-semibold">{variable}</span>
    </div>
  );
}

function NumberField({
  label,
  name,
  value,
  placeholder,
  pinnedBy,
  error,
  hint,
  onChange,
}: {
  label: string;
  name: string;
  value: string;
  placeholder?: string;
  pinnedBy?: string;
  error: string | null;
  hint: string;
  onChange: (v: string) => void;
}) {
  const id = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <div>
      <label htmlFor={id}>
        <FieldLabel>{label}</FieldLabel>
      </label>
      <input
        id={id}
        aria-label={name}
        inputMode="numeric"
        className={`input mt-1 ${error ? "border-error focus:border-error" : ""}`}
        value={value}
        placeholder={placeholder}
        readOnly={Boolean(pinnedBy)}
        aria-readonly={Boolean(pinnedBy)}
        aria-invalid={error !== null}
        aria-describedby={`${id}-msg`}
        onChange={(e) => onChange(e.target.value)}
      />
      <div id={`${id}-msg`}>
        {pinnedBy ? (
          <PinNote variable={pinnedBy} />
        ) : error ? (
          <div role="alert" className="mt-1 text-[11.5px] text-error">
            {error}
          </div>
        ) : (
          <div className="mt-1 font-mono text-[10.5px] text-dim">{hint}</div>
        )}
      </div>
    </div>
  );
}
