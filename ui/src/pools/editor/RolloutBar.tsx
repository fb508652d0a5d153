import type { RolloutProgress } from "../../api/types";

/** What a rollout says in words: `5 of 8 slots on bots/zoom:v2 · 2 updating (at most 2) · 3 wait for their bots`. */
export function rolloutSummary(r: RolloutProgress): string {
  const head = `${r.updated} of ${r.total} slots on ${r.image}`;
  if (r.finishedAt !== null) return `${head} · done`;
  return `${head} · ${r.updating} updating (at most ${r.maxUpdating}) · ${r.waitingForBots} wait for their bots`;
}

/** The pool's rolling image update: a progress bar with the counts; live through the `rollouts` topic. */
export function RolloutBar({ rollout: r }: { rollout: RolloutProgress }) {
  const done = r.finishedAt !== null;
  const percent = r.total === 0 ? 100 : Math.round((r.updated / r.total) * 100);
  return (
    <div role="group" aria-label="Rolling image update" className="flex flex-col gap-1 text-[12px]">
      <div className="flex items-center gap-2">
        <span className="font-semibold">{done ? "Image rolled out" : "Rolling out a new image"}</span>
        <span className="text-dim">{rolloutSummary(r)}</span>
      </div>
      <div
        role="progressbar"
        aria-label="Slots on the new image"
        aria-valuemin={0}
        aria-valuemax={r.total}
        aria-valuenow={r.updated}
        className="h-1.5 w-full overflow-hidden rounded bg-muted/20"
      >
        <div className={done ? "h-full bg-idle" : "h-full bg-busy"} style={{ width: `${percent}%` }} />
      </div>
      {r.lastError && <span className="text-error">Last error: {r.lastError}</span>}
    </div>
  );
}
