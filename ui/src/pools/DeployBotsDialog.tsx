import { useEffect, useRef } from "react";
import { useSettings } from "../settings/queries";
import { ErrorNotice } from "../shared/ErrorNotice";
import { trapTab } from "../shared/focusTrap";
import { RefreshBeforeDeployDialog } from "./RefreshBeforeDeployDialog";
import { DeployFields } from "./deploy/DeployFields";
import { DeployResult } from "./deploy/DeployResult";
import { isCountProblem, useDeployForm } from "./deploy/useDeployForm";

export { deployFormProblems, MAX_BATCH } from "./deploy/useDeployForm";

/**
 * Deploys a batch of bots into an applied pool. A large batch on a stale
 * account source first asks whether to refresh the accounts
 * (`needsRefreshPrompt`): refresh then deploy, deploy anyway, or cancel.
 */
export function DeployBotsDialog({
  pool,
  lastRefresh,
  refreshIntervalMs,
  onClose,
}: {
  pool: string;
  lastRefresh: string | null;
  refreshIntervalMs: number | null;
  onClose: () => void;
}) {
  const form = useDeployForm({ pool, lastRefresh, refreshIntervalMs });
  // The tier choices: the configured tiers (the settings are cached app-wide).
  const tiers = useSettings().data?.tiers.tiers.map((t) => t.name) ?? [];
  const { deploy, shown } = form;
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), [form.asking]);

  if (form.asking) {
    return (
      <RefreshBeforeDeployDialog
        pool={pool}
        lastRefresh={lastRefresh}
        batchSize={form.batch}
        onRefresh={() => form.answer(true)}
        onDeploy={() => form.answer(false)}
        onCancel={form.cancelQuestion}
      />
    );
  }

  const result = deploy.data;
  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/60"
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
        trapTab(e, e.currentTarget);
      }}
    >
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby="deploy-title"
        noValidate
        className="panel flex w-[460px] max-w-[90vw] flex-col gap-3 p-4"
        onSubmit={(e) => {
          e.preventDefault();
          form.submit();
        }}
      >
        <h2 id="deploy-title" className="text-[14px] font-semibold">
          Deploy bots to {pool}
        </h2>
        <DeployFields pool={pool} tiers={tiers} values={form.values} onChange={form.set} countInvalid={shown.some(isCountProblem)} urlRef={first} />
        {shown.length > 0 && (
          <ul aria-label="Form problems" className="space-y-0.5 text-[12px] text-error">
            {shown.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {deploy.error && <ErrorNotice error={deploy.error} title="Not deployed" />}
        {result && <DeployResult result={result} />}
        <div className="mt-1 flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            {result ? "Close" : "Cancel"}
          </button>
          <button type="submit" className="btn btn-primary" disabled={deploy.isPending || shown.length > 0}>
            {deploy.isPending ? "Deploying…" : "Deploy"}
          </button>
        </div>
      </form>
    </div>
  );
}
