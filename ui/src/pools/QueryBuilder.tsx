import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useQueryTables, useTableColumns } from "./queries";
import type { BuilderColumn } from "../api/types";
import { ErrorNotice } from "../shared/ErrorNotice";
import {
  COMPARATOR_LABELS,
  COMPARATORS,
  EMPTY_FORM,
  isComparator,
  MAX_LIMIT,
  readAccounts,
  takesList,
  takesNoValue,
  valueKind,
  writeBuilder,
  type BuilderForm,
  type FilterRow,
  type SortRow,
  type ValueKind,
} from "./queryBuilder";

/**
 * Typing in a builder field rewrites the YAML once typing pauses this long,
 * or at once when the field loses focus or the builder closes.
 */
export const TYPING_PAUSE_MS = 250;

/**
 * The visual query builder of a SQL account source: table, columns,
 * filters, sort and limit. Every edit rewrites `accounts.builder` in the
 * YAML text (see `writeBuilder`); the form starts from the text's builder.
 *
 * A keystroke only updates the form: rewriting the YAML parses and prints
 * the whole document several times (tens of milliseconds a key in the app's
 * web view, where it made typing at 30 ms a key fall seconds behind), so a
 * typed value reaches the text when typing pauses, on blur (a click on
 * Save, another view or another control blurs first) or when the builder
 * closes. Choices (selects, checkboxes, buttons) write at once.
 */
export function QueryBuilder({ text, onChange }: { text: string; onChange: (text: string) => void }) {
  const [form, setForm] = useState<BuilderForm>(() => {
    const shape = readAccounts(text);
    return shape.kind === "builder" ? shape.form : EMPTY_FORM;
  });
  const replacesQuery = useMemo(() => readAccounts(text).kind === "query", [text]);
  const tables = useQueryTables();
  const columns = useTableColumns(form.table || null);
  const known = columns.data?.columns ?? null;
  const kinds = new Map(known?.map((c) => [c.name, valueKind(c.dataType)]));
  const kindOf = (column: string): ValueKind | null => kinds.get(column) ?? null;

  // What a delayed write needs, as of the last render.
  const latest = useRef({ text, onChange, kindOf });
  useLayoutEffect(() => {
    latest.current = { text, onChange, kindOf };
  });
  const typed = useRef<{ form: BuilderForm; timer: ReturnType<typeof setTimeout> } | null>(null);
  /** Writes a typed, not yet written form into the text. */
  const flush = useCallback(() => {
    const t = typed.current;
    if (!t) return;
    clearTimeout(t.timer);
    typed.current = null;
    const { text, onChange, kindOf } = latest.current;
    onChange(writeBuilder(text, t.form, kindOf));
  }, []);
  // Closing the builder (another mode, Save elsewhere) keeps what was typed.
  useEffect(() => flush, [flush]);

  /** A choice: the form and the text at once (with anything typed before it). */
  const update = (next: BuilderForm) => {
    if (typed.current) clearTimeout(typed.current.timer);
    typed.current = null;
    setForm(next);
    onChange(writeBuilder(text, next, kindOf));
  };
  /** A keystroke: the form now, the text when typing pauses. */
  const type = (next: BuilderForm) => {
    if (typed.current) clearTimeout(typed.current.timer);
    setForm(next);
    typed.current = { form: next, timer: setTimeout(flush, TYPING_PAUSE_MS) };
  };
  const setFilter = (i: number, patch: Partial<FilterRow>, typing = false) => {
    const filters = form.filters.map((f, j) => (j === i ? fitValue({ ...f, ...patch }, kindOf) : f));
    (typing ? type : update)({ ...form, filters });
  };
  const setSort = (i: number, patch: Partial<SortRow>) => update({ ...form, sort: form.sort.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const toggleColumn = (name: string, on: boolean) => {
    const chosen = new Set(form.columns);
    if (on) chosen.add(name);
    else chosen.delete(name);
    // Table order for the known columns; unknown ones (not in the table) stay at the end.
    const ordered = [...(known ?? []).map((c) => c.name).filter((c) => chosen.has(c)), ...form.columns.filter((c) => chosen.has(c) && !kinds.has(c))];
    update({ ...form, columns: ordered });
  };

  const tableNames = tables.data ?? [];
  const first = known?.[0]?.name;
  const limit = form.limit.trim();
  const limitBad = limit !== "" && !(/^\d+$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_LIMIT);

  return (
    <section aria-label="Query builder" className="panel flex flex-col gap-3 p-3 text-[12px]">
      {replacesQuery && (
        <p role="note" className="text-busy">
          Editing this form replaces the hand-written <code className="font-mono">accounts.query</code> with{" "}
          <code className="font-mono">accounts.builder</code>.
        </p>
      )}
      {tables.error && <ErrorNotice error={tables.error} title="Cannot list the tables the query role can read" />}

      <label className="flex flex-col gap-1 text-muted">
        Table
        <select
          className="input"
          value={form.table}
          onChange={(e) => update({ ...form, table: e.target.value, columns: [], filters: [], sort: [] })}
        >
          <option value="" disabled>
            {tables.isPending ? "Loading tables…" : "Choose a table"}
          </option>
          {form.table !== "" && !tableNames.includes(form.table) && <option value={form.table}>{form.table}</option>}
          {tableNames.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>

      {form.table !== "" && columns.error && <ErrorNotice error={columns.error} title={`Cannot use the table ${form.table}`} />}
      {form.table !== "" && columns.isPending && <p className="text-muted">Loading the columns of {form.table}…</p>}

      <fieldset className="flex flex-col gap-1">
        <legend className="mb-1 text-muted">Columns</legend>
        {known && (
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {known.map((c) => (
              <label key={c.name} className="flex items-center gap-1.5 font-mono" title={c.dataType}>
                <input type="checkbox" checked={form.columns.includes(c.name)} onChange={(e) => toggleColumn(c.name, e.target.checked)} />
                {c.name}
              </label>
            ))}
            {form.columns
              .filter((c) => !kinds.has(c))
              .map((c) => (
                <label key={c} className="flex items-center gap-1.5 font-mono text-error">
                  <input type="checkbox" checked onChange={() => toggleColumn(c, false)} />
                  {c} (not in table)
                </label>
              ))}
          </div>
        )}
        <p className="text-[11.5px] text-dim">None chosen: every column the query role can read.</p>
      </fieldset>

      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-muted">Filters (all must hold)</legend>
        {form.filters.map((f, i) => (
          <FilterEditor
            key={i}
            index={i}
            row={f}
            known={known}
            kind={kindOf(f.column)}
            onChange={(patch) => setFilter(i, patch)}
            onType={(value) => setFilter(i, { value }, true)}
            onBlur={flush}
            onRemove={() => update({ ...form, filters: form.filters.filter((_, j) => j !== i) })}
          />
        ))}
        <div>
          <button
            type="button"
            className="btn"
            disabled={!first}
            onClick={() => first && update({ ...form, filters: [...form.filters, fitValue({ column: first, op: "=", value: "" }, kindOf)] })}
          >
            Add filter
          </button>
        </div>
      </fieldset>

      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-muted">Sort</legend>
        {form.sort.map((s, i) => (
          <div key={i} role="group" aria-label={`Sort ${i + 1}`} className="flex gap-2">
            <select aria-label="Column" className="input" value={s.column} onChange={(e) => setSort(i, { column: e.target.value })}>
              <ColumnOptions known={known} current={s.column} />
            </select>
            <select aria-label="Direction" className="input w-36" value={s.direction} onChange={(e) => setSort(i, { direction: e.target.value === "desc" ? "desc" : "asc" })}>
              <option value="asc">ascending</option>
              <option value="desc">descending</option>
            </select>
            <button type="button" className="btn" aria-label={`Remove sort ${i + 1}`} onClick={() => update({ ...form, sort: form.sort.filter((_, j) => j !== i) })}>
              Remove
            </button>
          </div>
        ))}
        <div>
          <button type="button" className="btn" disabled={!first} onClick={() => first && update({ ...form, sort: [...form.sort, { column: first, direction: "asc" }] })}>
            Add sort
          </button>
        </div>
      </fieldset>

      <label className="flex w-40 flex-col gap-1 text-muted">
        Limit
        <input
          type="number"
          className="input"
          min={1}
          max={MAX_LIMIT}
          placeholder="no limit"
          value={form.limit}
          aria-invalid={limitBad || undefined}
          onChange={(e) => type({ ...form, limit: e.target.value })}
          onBlur={flush}
        />
        {limitBad && <span className="text-error">1 to {MAX_LIMIT}</span>}
      </label>
      <p className="text-[11.5px] text-dim">Values are bound as parameters. Test shows the SQL this form compiles to.</p>
    </section>
  );
}

/** A row's value made to fit its column: booleans default to `true`. */
function fitValue(row: FilterRow, kindOf: (c: string) => ValueKind | null): FilterRow {
  const plain = !takesList(row.op) && !takesNoValue(row.op) && row.op !== "like";
  if (plain && kindOf(row.column) === "boolean" && row.value !== "true" && row.value !== "false") return { ...row, value: "true" };
  return row;
}

/** The table's real columns (and the current one, marked, when it is not among them). */
function ColumnOptions({ known, current }: { known: BuilderColumn[] | null; current: string }) {
  if (!known) return <option value={current}>{current}</option>;
  return (
    <>
      {!known.some((c) => c.name === current) && (
        <option value={current} disabled>
          {current} (not in table)
        </option>
      )}
      {known.map((c) => (
        <option key={c.name} value={c.name}>
          {c.name}
        </option>
      ))}
    </>
  );
}

function FilterEditor({
  index,
  row,
  known,
  kind,
  onChange,
  onType,
  onBlur,
  onRemove,
}: {
  index: number;
  row: FilterRow;
  known: BuilderColumn[] | null;
  kind: ValueKind | null;
  onChange: (patch: Partial<FilterRow>) => void;
  /** A keystroke in the value (written into the text later). */
  onType: (value: string) => void;
  /** The value lost focus: write what was typed. */
  onBlur: () => void;
  onRemove: () => void;
}) {
  return (
    <div role="group" aria-label={`Filter ${index + 1}`} className="flex gap-2">
      <select aria-label="Column" className="input" value={row.column} onChange={(e) => onChange({ column: e.target.value })}>
        <ColumnOptions known={known} current={row.column} />
      </select>
      <select aria-label="Comparator" className="input w-32" value={row.op} onChange={(e) => onChange({ op: e.target.value })}>
        {!isComparator(row.op) && (
          <option value={row.op} disabled>
            {row.op} (not allowed)
          </option>
        )}
        {COMPARATORS.map((op) => (
          <option key={op} value={op}>
            {COMPARATOR_LABELS[op]}
          </option>
        ))}
      </select>
      <ValueInput row={row} kind={kind} onChange={(value) => onChange({ value })} onType={onType} onBlur={onBlur} />
      <button type="button" className="btn" aria-label={`Remove filter ${index + 1}`} onClick={onRemove}>
        Remove
      </button>
    </div>
  );
}

function ValueInput({
  row,
  kind,
  onChange,
  onType,
  onBlur,
}: {
  row: FilterRow;
  kind: ValueKind | null;
  /** A choice (the boolean select). */
  onChange: (value: string) => void;
  onType: (value: string) => void;
  onBlur: () => void;
}) {
  if (takesNoValue(row.op)) return <span className="input border-transparent bg-transparent text-dim">no value</span>;
  if (takesList(row.op)) {
    return (
      <input
        aria-label="Values, comma-separated"
        className="input"
        placeholder="a, b, c"
        value={row.value}
        onChange={(e) => onType(e.target.value)}
        onBlur={onBlur}
      />
    );
  }
  if (row.op !== "like" && kind === "boolean") {
    return (
      <select aria-label="Value" className="input" value={row.value} onChange={(e) => onChange(e.target.value)}>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  }
  const number = row.op !== "like" && kind === "number";
  return (
    <input
      aria-label="Value"
      className="input"
      type={number ? "number" : "text"}
      placeholder={row.op === "like" ? "pattern, % any text" : undefined}
      value={row.value}
      onChange={(e) => onType(e.target.value)}
      onBlur={onBlur}
    />
  );
}
