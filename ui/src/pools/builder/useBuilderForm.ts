// The query builder's form and how its edits reach the YAML text: choices
// write at once, keystrokes when typing pauses (see QueryBuilder).
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { useQueryTables, useTableColumns } from "../queries";
import { EMPTY_FORM, readAccounts, takesList, takesNoValue, valueKind, writeBuilder, type BuilderForm, type FilterRow, type SortRow, type ValueKind } from "../queryBuilder";

/**
 * Typing in a builder field rewrites the YAML once typing pauses this long,
 * or at once when the field loses focus or the builder closes.
 */
export const TYPING_PAUSE_MS = 250;

/** A row's value made to fit its column: booleans default to `true`. */
function fitValue(row: FilterRow, kindOf: (c: string) => ValueKind | null): FilterRow {
  const plain = !takesList(row.op) && !takesNoValue(row.op) && row.op !== "like";
  if (plain && kindOf(row.column) === "boolean" && row.value !== "true" && row.value !== "false") return { ...row, value: "true" };
  return row;
}

/**
 * Writes to the text: `update` (a choice) at once, `type` (a keystroke)
 * after TYPING_PAUSE_MS, `flush` now what was typed; closing flushes.
 */
function useTextWriter(text: string, onChange: (text: string) => void, kindOf: (c: string) => ValueKind | null, setForm: (f: BuilderForm) => void) {
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
  return { flush, update, type };
}

/** The builder's form (from the text's `accounts.builder`), the catalogue it offers, and its edits. */
export function useBuilderForm(text: string, onChange: (text: string) => void) {
  const [form, setForm] = useState<BuilderForm>(() => {
    const shape = readAccounts(text);
    return shape.kind === "builder" ? shape.form : EMPTY_FORM;
  });
  const tables = useQueryTables();
  const columns = useTableColumns(form.table || null);
  const known = columns.data?.columns ?? null;
  const kinds = new Map(known?.map((c) => [c.name, valueKind(c.dataType)]));
  const kindOf = (column: string): ValueKind | null => kinds.get(column) ?? null;
  const { flush, update, type } = useTextWriter(text, onChange, kindOf, setForm);
  const first = known?.[0]?.name;

  return {
    form,
    tables,
    columns,
    /** The chosen table's columns (null: not loaded). */
    known,
    /** Whether `column` is one of the table's columns. */
    isKnown: (column: string) => kinds.has(column),
    kindOf,
    flush,
    /** Another table starts from no columns, filters or sort. */
    setTable: (table: string) => update({ ...form, table, columns: [], filters: [], sort: [] }),
    toggleColumn: (name: string, on: boolean) => {
      const chosen = new Set(form.columns);
      if (on) chosen.add(name);
      else chosen.delete(name);
      // Table order for the known columns; unknown ones (not in the table) stay at the end.
      const ordered = [...(known ?? []).map((c) => c.name).filter((c) => chosen.has(c)), ...form.columns.filter((c) => chosen.has(c) && !kinds.has(c))];
      update({ ...form, columns: ordered });
    },
    setFilter: (i: number, patch: Partial<FilterRow>, typing = false) => {
      const filters = form.filters.map((f, j) => (j === i ? fitValue({ ...f, ...patch }, kindOf) : f));
      (typing ? type : update)({ ...form, filters });
    },
    /** Adds a filter on the table's first column (none before the columns are known). */
    addFilter: () => first && update({ ...form, filters: [...form.filters, fitValue({ column: first, op: "=", value: "" }, kindOf)] }),
    removeFilter: (i: number) => update({ ...form, filters: form.filters.filter((_, j) => j !== i) }),
    setSort: (i: number, patch: Partial<SortRow>) => update({ ...form, sort: form.sort.map((s, j) => (j === i ? { ...s, ...patch } : s)) }),
    addSort: () => first && update({ ...form, sort: [...form.sort, { column: first, direction: "asc" }] }),
    removeSort: (i: number) => update({ ...form, sort: form.sort.filter((_, j) => j !== i) }),
    canAdd: Boolean(first),
    typeLimit: (limit: string) => type({ ...form, limit }),
  };
}

export type BuilderFormState = ReturnType<typeof useBuilderForm>;
