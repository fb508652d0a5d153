/** `pool-zoom-prod` and `-042` of `pool-zoom-prod-042`; no suffix: the whole name and "". */
export function splitSlotName(name: string): [string, string] {
  const m = /^(.+?)(-\d+)$/.exec(name);
  return m ? [m[1]!, m[2]!] : [name, ""];
}

/**
 * A slot name that, when it does not fit, is cut in the middle: the `-NNN`
 * that tells slots apart always shows; the full name is in the title.
 */
export function SlotName({ name, title, className = "" }: { name: string; title?: string; className?: string }) {
  const [head, suffix] = splitSlotName(name);
  return (
    <span className={`flex min-w-0 ${className}`} title={title ?? name}>
      <span data-testid="slot-name-head" className="truncate">
        {head}
      </span>
      {suffix && (
        <span data-testid="slot-name-suffix" className="shrink-0">
          {suffix}
        </span>
      )}
    </span>
  );
}
