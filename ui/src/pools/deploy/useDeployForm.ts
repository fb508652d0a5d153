import { useState } from "react";
import { MAX_BATCH } from "../../bindings";
import { useDeployBots } from "../queries";
import { needsRefreshPrompt } from "../refreshPrompt";

/** Most bots one deploy batch may create: the core's limit, from the bindings. */
export { MAX_BATCH };

const WHOLE = /^-?\d+$/;

/** The deploy form's fields as typed. */
export interface DeployFormValues {
  meetingUrl: string;
  count: string;
  /** A tier's name; empty: the default (the pool's tier, else the default tier). */
  tier: string;
  priority: string;
}

/** What the form holds, checked: the problems that block deploying. */
export function deployFormProblems(f: DeployFormValues): string[] {
  const out: string[] = [];
  if (!/^https?:\/\/\S+$/.test(f.meetingUrl.trim())) out.push("The meeting URL must start with https:// (or http://).");
  const count = f.count.trim();
  if (!WHOLE.test(count) || Number(count) < 1 || Number(count) > MAX_BATCH) out.push(`Count must be a whole number from 1 to ${MAX_BATCH}.`);
  if (f.priority.trim() !== "" && !WHOLE.test(f.priority.trim())) out.push("Priority must be a whole number (lower goes first), or empty for the pool's default.");
  if (f.tier !== "" && f.priority.trim() !== "") out.push("Give a tier or a priority, not both.");
  return out;
}

/** Whether `problem` (one of `deployFormProblems`) is the count's. */
export const isCountProblem = (problem: string) => problem.startsWith("Count");

/**
 * The deploy dialog's state: the fields, their problems, the deploy
 * mutation, and whether the refresh question is open. `submit` deploys at
 * once, or first asks (`asking`) when `needsRefreshPrompt` says the batch is
 * large for a stale account source; `answer` then deploys, refreshing first
 * or not. Nothing is sent while the form has problems or a deploy runs.
 */
export function useDeployForm({ pool, lastRefresh, refreshIntervalMs }: { pool: string; lastRefresh: string | null; refreshIntervalMs: number | null }) {
  const [values, setValues] = useState<DeployFormValues>({ meetingUrl: "", count: "1", tier: "", priority: "" });
  const [touched, setTouched] = useState(false);
  const [asking, setAsking] = useState(false);
  const deploy = useDeployBots();

  const problems = deployFormProblems(values);
  const batch = Number(values.count.trim());
  const answer = (refreshFirst: boolean) => {
    setAsking(false);
    const priority = values.priority.trim();
    deploy.mutate({
      refreshFirst,
      request: {
        pool,
        meetingUrl: values.meetingUrl.trim(),
        count: batch,
        tier: values.tier === "" ? null : values.tier,
        priority: priority === "" ? null : Number(priority),
        queueTimeoutMs: null,
      },
    });
  };
  const submit = () => {
    setTouched(true);
    if (problems.length > 0 || deploy.isPending) return;
    deploy.reset();
    if (needsRefreshPrompt(lastRefresh, refreshIntervalMs, batch)) setAsking(true);
    else answer(false);
  };

  return {
    values,
    set: (field: keyof DeployFormValues, value: string) => setValues((v) => ({ ...v, [field]: value })),
    // Only the count's problem shows before the first submit: it is the one a number field can hide.
    shown: touched ? problems : problems.filter(isCountProblem),
    batch,
    deploy,
    asking,
    submit,
    answer,
    cancelQuestion: () => setAsking(false),
  };
}
