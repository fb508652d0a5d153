import { useNow } from "../shared/clock";
import { formatRelative } from "../shared/format";
import { ConfirmDialog } from "../shared/ConfirmDialog";

/** Asks whether to refresh a stale account source before a large deploy batch (see `needsRefreshPrompt`). */
export function RefreshBeforeDeployDialog({
  pool,
  lastRefresh,
  batchSize,
  onRefresh,
  onDeploy,
  onCancel,
}: {
  pool: string;
  lastRefresh: string | null;
  batchSize: number;
  onRefresh: () => void;
  onDeploy: () => void;
  onCancel: () => void;
}) {
  const now = useNow();
  return (
    <ConfirmDialog
      title="Refresh before deploying?"
      confirmLabel="Refresh first"
      onConfirm={onRefresh}
      onCancel={onCancel}
      extra={
        <button type="button" className="btn" onClick={onDeploy}>
          Deploy anyway
        </button>
      }
    >
      {`${pool}'s accounts were ${lastRefresh ? `last refreshed ${formatRelative(lastRefresh, now)}` : "never refreshed"}; `}
      {`deploying ${batchSize} bots may lease accounts that are no longer valid.`}
    </ConfirmDialog>
  );
}
