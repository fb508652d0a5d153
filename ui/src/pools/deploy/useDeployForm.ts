import { useState } from "react";
import { MAX_BATCH, type DeployRequest, type IfFull } from "../../bindings";
import { isoOfLocal } from "../../shared/format";
import { useDeployBots } from "../queries";
import { needsRefreshPrompt } from "../refreshPrompt";

/** Most bots one deploy batch may create: the core's limit, from the bindings. */
export { MAX_BATCH };

const WHOLE = /^-?\d+$/;

/** The deploy form's fields as typed. */
export interface DeployFormValues {
  meetingUrl: string;
  count: string;
  priority: string;
  /** When the bots must be in the meeting (`datetime-local` text, local time); empty: at once. */
  joinAt: string;
  /** With a join time, when its window is fully booked: refuse, or queue at the join time. */
  ifFull: IfFull;
  /** Seconds between two bots' starts; empty: all at once. */
  staggerS: string;
}

/** The longest stagger, in seconds (the core's `MAX_STAGGER_MS`). */
export const MAX_STAGGER_S = 600;

/** The form before anything is typed. */
export const EMPTY_DEPLOY_FORM: DeployFormValues = { meetingUrl: "", count: "1", priority: "", joinAt: "", ifFull: "refuse", staggerS: "" };

/** The join time a `datetime-local` text gives (RFC 3339 UTC); null when empty or not a time. */
export const joinAtOf = isoOfLocal;

/** What the form holds, checked: the problems that block deploying. */
export function deployFormProblems(f: DeployFormValues, now: number = Date.now()): string[] {
  const out: string[] = [];
  if (!/^https?:\/\/\S+$/.test(f.meetingUrl.trim())) out.push("The meeting URL must start with https:// (or http://).");
  const count = f.count.trim();
  if (!WHOLE.test(count) || Number(count) < 1 || Number(count) > MAX_BATCH) out.push(`Count must be a whole number from 1 to ${MAX_BATCH}.`);
  if (f.priority.trim() !== "" && !WHOLE.test(f.priority.trim())) out.push("Priority must be a whole number (lower goes first), or empty for the pool's default.");
  const joinAt = joinAtOf(f.joinAt);
  if (f.joinAt.trim() !== "" && (joinAt === null || Date.parse(joinAt) <= now)) out.push("Join at must be a time in the future, or empty to deploy at once.");
  const stagger = f.staggerS.trim();
  if (stagger !== "" && (!WHOLE.test(stagger) || Number(stagger) < 0 || Number(stagger) > MAX_STAGGER_S)) out.push(`Stagger must be a whole number of seconds from 0 to ${MAX_STAGGER_S}, or empty.`);
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
  const [values, setValues] = useState<DeployFormValues>(EMPTY_DEPLOY_FORM);
  const [touched, setTouched] = useState(false);
  const [asking, setAsking] = useState(false);
  const deploy = useDeployBots();

  const problems = deployFormProblems(values);
  const batch = Number(values.count.trim());
  const answer = (refreshFirst: boolean) => {
    setAsking(false);
    deploy.mutate({ refreshFirst, request: deployRequestOf(pool, values) });
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

/** The request a checked form sends. */
export function deployRequestOf(pool: string, f: DeployFormValues): DeployRequest {
  const priority = f.priority.trim();
  const joinAt = joinAtOf(f.joinAt);
  const stagger = f.staggerS.trim();
  return {
    pool,
    meetingUrl: f.meetingUrl.trim(),
    count: Number(f.count.trim()),
    priority: priority === "" ? null : Number(priority),
    queueTimeoutMs: null,
    joinAt,
    ifFull: joinAt === null ? null : f.ifFull,
    staggerMs: stagger === "" || Number(stagger) === 0 ? null : Number(stagger) * 1000,
  };
}
