import { diffLines } from "diff";
import { useMemo } from "react";

/** One rendered diff line: `+` added, `−` removed, ` ` unchanged. */
export interface DiffLine {
  sign: "+" | "−" | " ";
  text: string;
}

/** The line diff from `before` to `after`. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(before, after)) {
    const sign = part.added ? "+" : part.removed ? "−" : " ";
    const lines = part.value.endsWith("\n") ? part.value.slice(0, -1).split("\n") : part.value.split("\n");
    for (const text of lines) out.push({ sign, text });
  }
  return out;
}

/** The editor's text against the applied version, rendered +/−. */
export function DiffView({ before, after, label }: { before: string | null; after: string; label: string }) {
  const lines = useMemo(() => lineDiff(before ?? "", after), [before, after]);
  const changed = lines.some((l) => l.sign !== " ");
  return (
    <section aria-label={label} className="panel">
      <div className="panel-title border-b border-line px-3 py-2">{label}</div>
      {before === null && <p className="px-3 pt-2 text-[12px] text-muted">Never applied: everything is new.</p>}
      {!changed ? (
        <p className="px-3 py-2 text-[12px] text-muted">No differences.</p>
      ) : (
        <pre className="max-h-80 overflow-auto py-1 font-mono text-[12px] leading-5">
          {lines.map((l, i) => (
            <div
              key={i}
              data-sign={l.sign}
              className={`px-3 ${l.sign === "+" ? "bg-idle/10 text-idle" : l.sign === "−" ? "bg-error/10 text-error" : "text-muted"}`}
            >
              {l.sign} {l.text}
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}
