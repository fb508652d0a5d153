import { QueryState } from "../../shared/QueryState";
import { MAX_LIMIT } from "../queryBuilder";
import { ColumnOptions } from "./ColumnOptions";
import type { BuilderFormState } from "./useBuilderForm";

/** The table the query reads (from the tables the query role can read), its columns' loading and errors. */
export function TableField({ b }: { b: BuilderFormState }) {
  const { form, tables, columns } = b;
  const tableNames = tables.data ?? [];
  return (
    <>
      <QueryState query={tables} errorTitle="Cannot list the tables the query role can read" />
      <label className="flex flex-col gap-1 text-muted">
        Table
        <select className="input" value={form.table} onChange={(e) => b.setTable(e.target.value)}>
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
      {form.table !== "" && <QueryState query={columns} errorTitle={`Cannot use the table ${form.table}`} loading={`Loading the columns of ${form.table}…`} />}
    </>
  );
}

/** The columns to read (none: all), with chosen columns that are not in the table marked. */
export function ColumnsField({ b }: { b: BuilderFormState }) {
  const { form, known } = b;
  return (
    <fieldset className="flex flex-col gap-1">
      <legend className="mb-1 text-muted">Columns</legend>
      {known && (
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {known.map((c) => (
            <label key={c.name} className="flex items-center gap-1.5 font-mono" title={c.dataType}>
              <input type="checkbox" checked={form.columns.includes(c.name)} onChange={(e) => b.toggleColumn(c.name, e.target.checked)} />
              {c.name}
            </label>
          ))}
          {form.columns
            .filter((c) => !b.isKnown(c))
            .map((c) => (
              <label key={c} className="flex items-center gap-1.5 font-mono text-error">
                <input type="checkbox" checked onChange={() => b.toggleColumn(c, false)} />
                {c} (not in table)
              </label>
            ))}
        </div>
      )}
      <p className="text-[11.5px] text-dim">None chosen: every column the query role can read.</p>
    </fieldset>
  );
}

/** The sort keys, one row each, and Add sort. */
export function SortField({ b }: { b: BuilderFormState }) {
  return (
    <fieldset className="flex flex-col gap-2">
      <legend className="mb-1 text-muted">Sort</legend>
      {b.form.sort.map((s, i) => (
        <div key={i} role="group" aria-label={`Sort ${i + 1}`} className="flex gap-2">
          <select aria-label="Column" className="input" value={s.column} onChange={(e) => b.setSort(i, { column: e.target.value })}>
            <ColumnOptions known={b.known} current={s.column} />
          </select>
          <select aria-label="Direction" className="input w-36" value={s.direction} onChange={(e) => b.setSort(i, { direction: e.target.value === "desc" ? "desc" : "asc" })}>
            <option value="asc">ascending</option>
            <option value="desc">descending</option>
          </select>
          <button type="button" className="btn" aria-label={`Remove sort ${i + 1}`} onClick={() => b.removeSort(i)}>
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="btn" disabled={!b.canAdd} onClick={b.addSort}>
          Add sort
        </button>
      </div>
    </fieldset>
  );
}

/** The row limit (empty: none), typed: it reaches the text when typing pauses or on blur. */
export function LimitField({ b }: { b: BuilderFormState }) {
  const limit = b.form.limit.trim();
  const limitBad = limit !== "" && !(/^\d+$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_LIMIT);
  return (
    <label className="flex w-40 flex-col gap-1 text-muted">
      Limit
      <input
        type="number"
        className="input"
        min={1}
        max={MAX_LIMIT}
        placeholder="no limit"
        value={b.form.limit}
        aria-invalid={limitBad || undefined}
        onChange={(e) => b.typeLimit(e.target.value)}
        onBlur={b.flush}
      />
      {limitBad && <span className="text-error">1 to {MAX_LIMIT}</span>}
    </label>
  );
}
