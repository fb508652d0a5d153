import type { DefinitionProblem } from "../../api/types";
import { problemLocation } from "../problems";

/**
 * The text's problems (location, field, message), or "Valid."/"Checking…".
 * With `onReveal` (the YAML editor is shown), a located problem's location
 * is a button that shows it in the editor.
 */
export function ValidationStatus({
  problems,
  valid,
  onReveal,
}: {
  problems: DefinitionProblem[];
  valid: boolean;
  onReveal?: (p: DefinitionProblem) => void;
}) {
  return (
    <div aria-live="polite" aria-label="Validation">
      {problems.length > 0 ? (
        <ul className="space-y-0.5 border border-error/40 bg-error/10 px-3 py-2 font-mono text-[12px]" aria-label="Problems">
          {problems.map((p, i) => (
            <li key={i}>
              {onReveal && p.line !== null ? (
                <button type="button" className="text-error underline decoration-dotted underline-offset-2 hover:decoration-solid" title="Show in the editor" onClick={() => onReveal(p)}>
                  {problemLocation(p)}
                </button>
              ) : (
                <span className="text-error">{problemLocation(p) || "—"}</span>
              )}
              {p.field && <span className="text-muted"> {p.field}</span>} <span className="text-fg">{p.message}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="text-[12px] text-muted">{valid ? "Valid." : "Checking…"}</p>
      )}
    </div>
  );
}
