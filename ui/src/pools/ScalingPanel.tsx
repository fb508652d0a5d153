import type { IdleTarget, ScalingDecision, ScalingView } from "../api/types";
import { formatDuration, formatTimestamp } from "../shared/format";
import { QueryState } from "../shared/QueryState";
import { usePoolScaling } from "./queries";

const ACTION_TONE: Record<ScalingDecision["action"], string> = { up: "text-idle", down: "text-busy", hold: "text-muted" };

/** `target 5 = min 2 + scheduled 1 + buffer 2`: the target and its parts. */
export function targetParts(t: IdleTarget): string {
  return `target ${t.target} = min ${t.minIdle} + scheduled ${t.scheduled} + buffer ${t.buffer}`;
}

/** The target now, its parts and what they come from. */
function Current({ view }: { view: ScalingView }) {
  const t = view.current;
  if (!t) return null;
  const rate = (view.arrivalsPerMinute ?? 0).toFixed(2);
  return (
    <p aria-label="Current target">
      <span className="font-semibold text-fg">{targetParts(t)}</span>
      <span className="text-muted">
        {" "}
        (within {t.minIdle}–{t.maxIdle}; {rate}/min over a {formatDuration(view.leadTimeMs ?? 0)} lead); {view.idle} idle now
        {view.scaleDownAfterMs !== null && `; idle slots above it go after ${formatDuration(view.scaleDownAfterMs)}`}
      </span>
    </p>
  );
}

/** The recent decisions, newest first, each with its action, counts and reason. */
function Decisions({ decisions }: { decisions: ScalingDecision[] }) {
  if (decisions.length === 0) return <p className="text-muted">No scaling decision yet.</p>;
  return (
    <ol aria-label="Scaling decisions" className="space-y-1 font-mono text-[11.5px]">
      {decisions.map((d, i) => (
        <li key={`${d.at}-${i}`} data-action={d.action}>
          <span className="text-dim">{formatTimestamp(d.at)}</span> <span className={`font-semibold ${ACTION_TONE[d.action]}`}>{d.action}</span>{" "}
          <span className="text-fg">{d.reason}</span>
        </li>
      ))}
    </ol>
  );
}

/** A pool's Scaling panel: the idle target now with its parts and the recent decisions with their reasons (live on `scaling`). */
export function ScalingPanel({ pool }: { pool: string }) {
  const scaling = usePoolScaling(pool);
  return (
    <QueryState query={scaling} errorTitle={`Cannot read ${pool}'s scaling`}>
      {(view) =>
        view.scaled ? (
          <section aria-label="Scaling" className="panel space-y-2 p-3 text-[12.5px]">
            <h3 className="text-[12px] font-semibold uppercase tracking-wide text-muted">Scaling</h3>
            <Current view={view} />
            <Decisions decisions={view.decisions} />
          </section>
        ) : null
      }
    </QueryState>
  );
}
