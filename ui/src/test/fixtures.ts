import type { History, HistorySpan, QueueSnapshot, Settings, Slot } from "../api/types";
import type { SettingsRules } from "../bindings";

export const T0 = Date.parse("2026-01-15T10:00:00.000Z");
export const iso = (ms: number) => new Date(ms).toISOString();

const STATUSES = ["idle", "deploying", "busy", "error"] as const;

export function makeSlots(n: number): Slot[] {
  return Array.from({ length: n }, (_, i) => {
    const status = STATUSES[i % 4]!;
    return {
      id: i + 1,
      uuid: `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-${String(i).padStart(12, "0")}`,
      slotName: `pool-zoom-${String(i + 1).padStart(5, "0")}`,
      pool: i % 2 ? "pool-zoom" : "pool-teams",
      meetingPlatform: i % 2 ? "zoom" : "microsoft-teams",
      deploymentPlatform: "k8s",
      status,
      assignedBotId: status === "busy" ? 1000 + i : null,
      epoch: 1,
      platformRef: null,
      description: "",
      lastUsedAt: iso(T0 - i * 1000),
      errorMessage: status === "error" ? `boom ${i}` : null,
      recoveryAttempts: status === "error" ? 2 : 0,
      statusChangedAt: iso(T0),
      createdAt: iso(T0 - 86_400_000 + i),
      draining: false,
    };
  });
}

export function queueSnapshot(now: number): QueueSnapshot {
  return {
    now: iso(now),
    releaseRatePerSec: 0.5,
    entries: [
      { id: 1, botId: 456, pool: "pool-zoom", meetingPlatform: "zoom", priority: 50, tier: null, agedAt: null, queuedAt: iso(now - 90_000), timeoutAt: iso(now + 62_000), waitingOn: null, position: 1, estimatedWaitMs: 30_000 },
      { id: 2, botId: 789, pool: "pool-zoom", meetingPlatform: "zoom", priority: 100, tier: "standard", agedAt: null, queuedAt: iso(now - 10_000), timeoutAt: iso(now + 300_000), waitingOn: "k8s", position: 2, estimatedWaitMs: null },
    ],
  };
}

/** The core's settings ranges (what `settings_rules` returns). */
export function rulesFixture(): SettingsRules {
  return {
    botLimit: { min: 1, max: 100_000 },
    queueTimeoutMs: { min: 0, max: 3_600_000 },
    globalQueueTimeoutMs: { min: 1_000, max: 3_600_000 },
    tierPriority: { min: 0, max: 1_000 },
    tierMaxWaitMs: { min: 1_000, max: 600_000 },
    tierNamePattern: "^[a-z][a-z0-9_-]{0,31}$",
    maxTiers: 16,
  };
}

export function settingsFixture(): Settings {
  return {
    platforms: [
      { platform: "k8s", label: "K8s", position: 0, enabled: true, botLimit: 30, queueTimeoutMs: 60_000, pinned: { botLimit: "K8S_BOT_LIMIT" } },
      { platform: "aws", label: "AWS", position: 1, enabled: true, botLimit: 100, queueTimeoutMs: 30_000, pinned: {} },
      { platform: "coolify", label: "Coolify", position: 2, enabled: false, botLimit: 50, queueTimeoutMs: 300_000, pinned: {} },
    ],
    globalQueueTimeoutMs: 600_000,
    globalQueueTimeoutPinnedBy: null,
    tiers: {
      tiers: [
        { name: "critical", priority: 10, maxWaitMs: null },
        { name: "standard", priority: 100, maxWaitMs: null },
        { name: "batch", priority: 500, maxWaitMs: 60_000 },
      ],
      defaultTier: "standard",
    },
  };
}

/**
 * A history over `span` starting at T0 (60 one-minute buckets for an hour):
 * K8s peaks at 12 in bucket 5, AWS at 3, pool-zoom at 9; 4 bots waiting in
 * bucket 7; waits only in buckets 2 and 7 (p95 68 s at bucket 7); 3 deploy
 * failures (2 in bucket 10). `empty`: all zero / null.
 */
export function historyFixture(span: HistorySpan = "hour", empty = false): History {
  const shape = { hour: [60, 60], day: [96, 900], week: [168, 3600] }[span];
  const [n, seconds] = shape as [number, number];
  const at = (peaks: Record<number, number>, rest: number | null = 0) =>
    Array.from({ length: n }, (_, i) => (empty ? (rest === null ? null : 0) : (peaks[i] ?? rest)));
  return {
    span,
    start: iso(T0),
    bucketSeconds: seconds,
    busyByPlatform: [
      { key: "k8s", values: at({ 5: 12, 6: 8 }, 1) },
      { key: "aws", values: at({ 9: 3 }) },
    ],
    busyByPool: [{ key: "pool-zoom", values: at({ 5: 9 }, 0.5) }],
    queueLength: at({ 7: 4 }),
    waitP50: at({ 2: 5, 7: 20 }, null),
    waitP95: at({ 2: 9, 7: 68 }, null),
    deployFailures: at({ 3: 1, 10: 2 }),
  };
}
