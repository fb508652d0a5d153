import type { DefinitionState } from "../api/types";

/** `[APPLIED V3]`, `[PENDING V3]` (file differs), `[NOT APPLIED]`. */
export function StateBadge({ state }: { state: DefinitionState }) {
  switch (state.state) {
    case "applied":
      return (
        <span className="badge text-idle bg-idle/10 border-idle/30" data-state="applied">
          [applied v{state.version}]
        </span>
      );
    case "pending":
      return (
        <span className="badge text-busy bg-busy/10 border-busy/30" data-state="pending" title={`The file differs from applied v${state.version}`}>
          [pending · v{state.version}]
        </span>
      );
    case "notApplied":
      return (
        <span className="badge text-muted border-line" data-state="not-applied">
          [not applied]
        </span>
      );
  }
}
