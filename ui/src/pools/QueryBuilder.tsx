import { useMemo } from "react";
import { readAccounts } from "./queryBuilder";
import { ColumnsField, LimitField, SortField, TableField } from "./builder/BuilderFields";
import { FiltersField } from "./builder/FiltersField";
import { useBuilderForm } from "./builder/useBuilderForm";

export { TYPING_PAUSE_MS } from "./builder/useBuilderForm";

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
  const builder = useBuilderForm(text, onChange);
  const replacesQuery = useMemo(() => readAccounts(text).kind === "query", [text]);
  return (
    <section aria-label="Query builder" className="panel flex flex-col gap-3 p-3 text-[12px]">
      {replacesQuery && (
        <p role="note" className="text-busy">
          Editing this form replaces the hand-written <code className="font-mono">accounts.query</code> with{" "}
          <code className="font-mono">accounts.builder</code>.
        </p>
      )}
      <TableField b={builder} />
      <ColumnsField b={builder} />
      <FiltersField b={builder} />
      <SortField b={builder} />
      <LimitField b={builder} />
      <p className="text-[11.5px] text-dim">Values are bound as parameters. Test shows the SQL this form compiles to.</p>
    </section>
  );
}
