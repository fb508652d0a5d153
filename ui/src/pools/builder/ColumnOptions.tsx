import type { BuilderColumn } from "../../api/types";

/** The table's real columns (and the current one, marked, when it is not among them). */
export function ColumnOptions({ known, current }: { known: BuilderColumn[] | null; current: string }) {
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
