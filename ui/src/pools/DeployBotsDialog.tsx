import { useEffect, useRef, useState, type FormEvent } from "react";
import { useDeployBots } from "./queries";
import { ErrorNotice } from "../shared/ErrorNotice";
import { RefreshBeforeDeployDialog } from "./RefreshBeforeDeployDialog";
import { needsRefreshPrompt } from "./refreshPrompt";

/** Most bots one deploy batch may create (the core's limit). */
export const MAX_BATCH = 100;

const WHOLE = /^-?\d+$/;

/** What the form holds, checked: the problems that block deploying. */
export function deployFormProblems(f: { meetingUrl: string; count: string; priority: string }): string[] {
  const out: string[] = [];
  if (!/^https?:\/\/\S+$/.test(f.meetingUrl.trim())) out.push("The meeting URL must start with https:// (or http://).");
  const count = f.count.trim();
  if (!WHOLE.test(count) || Number(count) < 1 || Number(count) > MAX_BATCH) out.push(`Count must be a whole number from 1 to ${MAX_BATCH}.`);
  if (f.priority.trim() !== "" && !WHOLE.test(f.priority.trim())) out.push("Priority must be a whole number (lower goes first), or empty for the pool's default.");
  return out;
}

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
  const [meetingUrl, setMeetingUrl] = useState("");
  const [count, setCount] = useState("1");
  const [priority, setPriority] = useState("");
  const [touched, setTouched] = useState(false);
  const [asking, setAsking] = useState(false);
  const deploy = useDeployBots();
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), [asking]);

  const problems = deployFormProblems({ meetingUrl, count, priority });
  const batch = Number(count.trim());
  const run = (refreshFirst: boolean) => {
    setAsking(false);
    deploy.mutate({
      refreshFirst,
      request: {
        pool,
        meetingUrl: meetingUrl.trim(),
        count: batch,
        priority: priority.trim() === "" ? null : Number(priority.trim()),
        queueTimeoutMs: null,
      },
    });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problems.length > 0 || deploy.isPending) return;
    deploy.reset();
    if (needsRefreshPrompt(lastRefresh, refreshIntervalMs, batch)) setAsking(true);
    else run(false);
  };

  if (asking) {
    return (
      <RefreshBeforeDeployDialog
        pool={pool}
        lastRefresh={lastRefresh}
        batchSize={batch}
        onRefresh={() => run(true)}
        onDeploy={() => run(false)}
        onCancel={() => setAsking(false)}
      />
    );
  }

  const result = deploy.data;
  // Only the count's problem shows before the first submit: it is the one a number field can hide.
  const shown = touched ? problems : problems.filter((p) => p.startsWith("Count"));
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/60" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby="deploy-title"
        noValidate
        className="panel flex w-[460px] max-w-[90vw] flex-col gap-3 p-4"
        onSubmit={submit}
      >
        <h2 id="deploy-title" className="text-[14px] font-semibold">
          Deploy bots to {pool}
        </h2>
        <label className="flex flex-col gap-1 text-[12px] text-muted">
          Pool
          <input className="input" value={pool} readOnly />
        </label>
        <label className="flex flex-col gap-1 text-[12px] text-muted">
          Meeting URL
          <input
            ref={first}
            className="input"
            type="url"
            placeholder="https://zoom.us/j/…"
            value={meetingUrl}
            onChange={(e) => setMeetingUrl(e.target.value)}
          />
        </label>
        <div className="grid grid-cols-2 gap-3">
          <label className="flex flex-col gap-1 text-[12px] text-muted">
            Count
            <input
              className="input"
              type="number"
              min={1}
              max={MAX_BATCH}
              value={count}
              aria-invalid={shown.some((p) => p.startsWith("Count")) || undefined}
              onChange={(e) => setCount(e.target.value)}
            />
          </label>
          <label className="flex flex-col gap-1 text-[12px] text-muted">
            Priority (optional)
            <input className="input" type="number" placeholder="pool default" value={priority} onChange={(e) => setPriority(e.target.value)} />
          </label>
        </div>
        {shown.length > 0 && (
          <ul aria-label="Form problems" className="space-y-0.5 text-[12px] text-error">
            {shown.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {deploy.error && <ErrorNotice error={deploy.error} title="Not deployed" />}
        {result && (
          <div role="status" className="text-[12.5px] text-idle">
            {result.refreshed && (
              <p className="text-muted">
                Accounts refreshed first: {result.refreshed.added} added, {result.refreshed.kept} kept, {result.refreshed.removed} removed.
              </p>
            )}
            <p>
              {result.batch.deployed} deployed, {result.batch.queued} queued.
            </p>
            {result.batch.botIds.length > 0 && (
              <p className="font-mono text-[11px] text-dim">bots {result.batch.botIds.map((id) => `#${id}`).join(" ")}</p>
            )}
          </div>
        )}
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
