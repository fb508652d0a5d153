import { useRef } from "react";

/**
 * A plain-text YAML editor: a textarea with a line-number gutter in which
 * lines with problems are marked (and their number carries `data-problem`).
 */
export function YamlEditor({
  value,
  onChange,
  problemLines,
  label,
}: {
  value: string;
  onChange: (text: string) => void;
  problemLines: ReadonlySet<number>;
  label: string;
}) {
  const gutter = useRef<HTMLDivElement>(null);
  const count = value.split("\n").length;
  return (
    <div className="flex h-[420px] border border-line-2 bg-bg font-mono text-[12px] leading-5">
      <div ref={gutter} aria-hidden className="select-none overflow-hidden border-r border-line py-2 text-right text-dim">
        {Array.from({ length: count }, (_, i) => {
          const line = i + 1;
          const bad = problemLines.has(line);
          return (
            <div key={line} data-line={line} data-problem={bad || undefined} className={`px-2 ${bad ? "bg-error/20 text-error" : ""}`}>
              {line}
            </div>
          );
        })}
      </div>
      <textarea
        aria-label={label}
        value={value}
        spellCheck={false}
        wrap="off"
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          // Tab inserts two spaces (YAML forbids tabs for indentation).
          if (e.key !== "Tab") return;
          e.preventDefault();
          const t = e.currentTarget;
          const { selectionStart: s, selectionEnd: end } = t;
          onChange(`${value.slice(0, s)}  ${value.slice(end)}`);
          requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
        }}
        className="min-w-0 flex-1 resize-none bg-transparent px-3 py-2 text-fg outline-none"
      />
    </div>
  );
}
