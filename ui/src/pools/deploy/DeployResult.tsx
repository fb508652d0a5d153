import type { DeployOutcome } from "../queries";

/** What became of a deploy: the accounts refresh (if it ran first), then the batch. */
export function DeployResult({ result }: { result: DeployOutcome }) {
  return (
    <div role="status" className="text-[12.5px] text-idle">
      {result.refreshed && (
        <p className="text-muted">
          Accounts refreshed first: {result.refreshed.added} added, {result.refreshed.kept} kept, {result.refreshed.removed} removed.
        </p>
      )}
      <p>
        {result.batch.deployed} deployed, {result.batch.queued} queued{result.batch.scheduled > 0 ? `, ${result.batch.scheduled} scheduled` : ""}.
      </p>
      {result.batch.botIds.length > 0 && <p className="font-mono text-[11px] text-dim">bots {result.batch.botIds.map((id) => `#${id}`).join(" ")}</p>}
    </div>
  );
}
