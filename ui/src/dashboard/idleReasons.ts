// Why bots queue while slots sit idle (issue 14: "24 idle, available 24, 10
// queued"). An idle slot takes a waiting bot only when it belongs to the
// bot's pool and its platform is enabled, has a limit and is under it; the
// rest are idle for a reason the dashboard states instead of calling them
// available.
import type { PlatformOverview, QueueEntry, Slot } from "../api/types";

export interface IdleBreakdown {
  /** Idle slots in view. */
  idle: number;
  /** Bots waiting in view. */
  queued: number;
  /** Idle slots a bot of their pool could take now (the platform has room). */
  usable: number;
  /** Idle slots whose platform is at its bot limit, by platform (`K8s 30/30`). */
  atLimit: { label: string; count: number; used: number; limit: number }[];
  /** Idle slots on a disabled platform, or one without a limit (skipped by the router). */
  unroutable: number;
  /** Idle slots of other pools than those bots wait for (when bots queue). */
  otherPools: number;
  /** Whether the platforms' limits were known (else `usable` counts every idle slot of a waiting pool). */
  platformsKnown: boolean;
}

/**
 * Sorts the idle slots of `slots` (the slots in view) by whether a bot can
 * take them: `entries` are the bots waiting in view, `platforms` the
 * platforms' limits and use (undefined while not loaded).
 */
export function idleBreakdown(slots: Slot[], entries: QueueEntry[], platforms: PlatformOverview[] | undefined): IdleBreakdown {
  const waitingPools = new Set(entries.map((e) => e.pool));
  const byPlatform = new Map((platforms ?? []).map((p) => [p.settings.platform, p]));
  const full = new Map<string, IdleBreakdown["atLimit"][number]>();
  const b: IdleBreakdown = { idle: 0, queued: entries.length, usable: 0, atLimit: [], unroutable: 0, otherPools: 0, platformsKnown: platforms !== undefined };
  for (const s of slots) {
    if (s.status !== "idle") continue;
    b.idle += 1;
    if (entries.length > 0 && !waitingPools.has(s.pool)) {
      b.otherPools += 1;
      continue;
    }
    const p = byPlatform.get(s.deploymentPlatform);
    if (!p) {
      b.usable += 1;
      continue;
    }
    const limit = p.settings.botLimit;
    if (!p.settings.enabled || limit === null) b.unroutable += 1;
    else if (p.used >= limit) {
      const f = full.get(p.settings.label) ?? { label: p.settings.label, count: 0, used: p.used, limit };
      f.count += 1;
      full.set(p.settings.label, f);
    } else b.usable += 1;
  }
  b.atLimit = [...full.values()];
  return b;
}

/** The sentence the dashboard shows when bots wait while slots sit idle; null when there is nothing to explain. */
export function idleExplanation(b: IdleBreakdown): string | null {
  if (b.queued === 0 || b.idle === 0 || b.usable === b.idle) return null;
  // Short: it shares a narrow card (the full text is its title too).
  const parts = [
    ...b.atLimit.map((f) => `${f.count} on ${f.label} (at its limit, ${f.used}/${f.limit})`),
    ...(b.unroutable > 0 ? [`${b.unroutable} on disabled or unlimited platforms`] : []),
    ...(b.otherPools > 0 ? [`${b.otherPools} in other pools`] : []),
    ...(b.usable > 0 ? [`${b.usable} free, being assigned`] : []),
  ];
  return `${b.queued} queued while ${b.idle} idle: ${parts.join(", ")}.`;
}
