import type { BuilderColumn } from "../../api/types";
import { COMPARATOR_LABELS, COMPARATORS, isComparator, takesList, takesNoValue, type FilterRow, type ValueKind } from "../queryBuilder";
import { ColumnOptions } from "./ColumnOptions";
import type { BuilderFormState } from "./useBuilderForm";

/** The filters (all must hold), one row each, and Add filter. */
export function FiltersField({ b }: { b: BuilderFormState }) {
  return (
    <fieldset className="flex flex-col gap-2">
      <legend className="mb-1 text-muted">Filters (all must hold)</legend>
      {b.form.filters.map((f, i) => (
        <FilterEditor
          key={i}
          index={i}
          row={f}
          known={b.known}
          kind={b.kindOf(f.column)}
          onChange={(patch) => b.setFilter(i, patch)}
          onType={(value) => b.setFilter(i, { value }, true)}
          onBlur={b.flush}
          onRemove={() => b.removeFilter(i)}
        />
      ))}
      <div>
        <button type="button" className="btn" disabled={!b.canAdd} onClick={b.addFilter}>
          Add filter
        </button>
      </div>
    </fieldset>
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
