// Realistic fake data for browser previews (dev only, never shipped).
import type {
  BotDetails,
  MeetingPlatform,
  PlatformKind,
  PlatformOverview,
  Pool,
  PoolStats,
  QueueEntry,
  Settings,
  SettingsChange,
  Slot,
  SlotStatus,
} from "../api/types";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const POOLS: { pool: string; meetingPlatform: MeetingPlatform; maxSize: number; share: number }[] = [
  { pool: "pool-google-meet", meetingPlatform: "google-meet", maxSize: 40, share: 0.45 },
  { pool: "pool-teams", meetingPlatform: "microsoft-teams", maxSize: 30, share: 0.3 },
  { pool: "pool-zoom", meetingPlatform: "zoom", maxSize: 30, share: 0.25 },
];
const ERRORS = [
  "deploy failed: ImagePullBackOff (registry timeout)",
  "health check failed 3 times: connection refused",
  "ECS task stopped: Essential container exited (code 137)",
  "Coolify API 502 Bad Gateway",
];

export interface MockWorld {
  slots: Slot[];
  queue: QueueEntry[];
  settings: Settings;
  history: SettingsChange[];
  health: Record<string, PlatformOverview["health"]>;
}

function uuid(r: () => number): string {
  const h = () => Math.floor(r() * 16).toString(16);
  const part = (n: number) => Array.from({ length: n }, h).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
}

export function makeWorld(slotCount: number, now: number): MockWorld {
  const r = rng(42);
  const iso = (ms: number) => new Date(ms).toISOString();
  const platforms: PlatformKind[] = ["k8s", "k8s", "aws", "aws", "coolify"];
  const slots: Slot[] = [];
  let botId = 4100;
  for (const p of POOLS) {
    const n = Math.max(1, Math.round(slotCount * p.share));
    const short = p.pool.replace("pool-", "");
    for (let i = 1; i <= n; i++) {
      const x = r();
      const status: SlotStatus = x < 0.5 ? "busy" : x < 0.8 ? "idle" : x < 0.93 ? "deploying" : "error";
      const created = now - Math.floor(r() * 9 * 86_400_000) - 3_600_000;
      const lastUsed = status === "idle" && r() < 0.15 ? null : now - Math.floor(r() * 3_600_000);
      const deploymentPlatform = platforms[Math.floor(r() * platforms.length)]!;
      slots.push({
        id: slots.length + 1,
        uuid: uuid(r),
        slotName: `pool-${short}-${String(i).padStart(3, "0")}`,
        pool: p.pool,
        meetingPlatform: p.meetingPlatform,
        deploymentPlatform,
        status,
        assignedBotId: status === "busy" || status === "deploying" ? botId++ : null,
        epoch: Math.floor(r() * 40),
        platformRef: `${deploymentPlatform}/${short}-${i}`,
        description: `[${status.toUpperCase()}] ${p.meetingPlatform} bot slot`,
        lastUsedAt: lastUsed === null ? null : iso(lastUsed),
        errorMessage: status === "error" ? ERRORS[Math.floor(r() * ERRORS.length)]! : null,
        recoveryAttempts: status === "error" ? 1 + Math.floor(r() * 3) : r() < 0.08 ? 1 : 0,
        statusChangedAt: iso(now - Math.floor(r() * 600_000)),
        createdAt: iso(created),
        draining: false,
      });
    }
  }
  const queue: QueueEntry[] = (
    [
    { botId: 5012, pool: "pool-google-meet", meetingPlatform: "google-meet", priority: 50, waited: 150_000, timeout: 450_000, waitingOn: null, est: 42_000 },
    { botId: 5017, pool: "pool-zoom", meetingPlatform: "zoom", priority: 100, waited: 75_000, timeout: 45_000, waitingOn: "k8s", est: 95_000 },
    { botId: 5021, pool: "pool-teams", meetingPlatform: "microsoft-teams", priority: 100, waited: 31_000, timeout: 569_000, waitingOn: null, est: null },
    { botId: 5023, pool: "pool-google-meet", meetingPlatform: "google-meet", priority: 200, waited: 12_000, timeout: 588_000, waitingOn: "aws", est: null },
    ] satisfies (Pick<QueueEntry, "botId" | "pool" | "meetingPlatform" | "priority" | "waitingOn"> & { waited: number; timeout: number; est: number | null })[]
  ).map((q, i) => ({
    id: 900 + i,
    botId: q.botId,
    pool: q.pool,
    meetingPlatform: q.meetingPlatform,
    priority: q.priority,
    queuedAt: iso(now - q.waited),
    timeoutAt: iso(now + q.timeout),
    waitingOn: q.waitingOn,
    position: i + 1,
    estimatedWaitMs: q.est,
  }));
  const settings: Settings = {
    platforms: [
      { platform: "k8s", label: "K8s", position: 0, enabled: true, botLimit: 30, queueTimeoutMs: 60_000, pinned: { botLimit: "K8S_BOT_LIMIT" } },
      { platform: "aws", label: "AWS", position: 1, enabled: true, botLimit: 100, queueTimeoutMs: 30_000, pinned: {} },
      { platform: "coolify", label: "Coolify", position: 2, enabled: true, botLimit: 50, queueTimeoutMs: 300_000, pinned: {} },
      { platform: "local", label: "Local", position: 3, enabled: false, botLimit: null, queueTimeoutMs: 0, pinned: { enabled: "BERTH_DEV" } },
    ],
    globalQueueTimeoutMs: 600_000,
    globalQueueTimeoutPinnedBy: null,
  };
  const history: SettingsChange[] = [
    { id: 3, subject: "platform:aws", field: "botLimit", oldValue: "80", newValue: "100", changedBy: "desktop:maria", at: iso(now - 1_800_000) },
    { id: 2, subject: "platform:coolify", field: "queueTimeoutMs", oldValue: "120000", newValue: "300000", changedBy: "desktop:sam", at: iso(now - 86_400_000) },
    { id: 1, subject: "platform:k8s", field: "botLimit", oldValue: "null", newValue: "30", changedBy: "environment", at: iso(now - 3 * 86_400_000) },
  ];
  return { slots, queue, settings, history, health: { k8s: "healthy", aws: "healthy", coolify: "degraded", local: "unknown" } };
}

export function poolStats(w: MockWorld): PoolStats[] {
  return POOLS.map((p) => {
    const mine = w.slots.filter((s) => s.pool === p.pool);
    const c = (st: SlotStatus) => mine.filter((s) => s.status === st).length;
    return { pool: p.pool, meetingPlatform: p.meetingPlatform, total: mine.length, idle: c("idle"), deploying: c("deploying"), busy: c("busy"), error: c("error"), maxSize: Math.max(p.maxSize, mine.length) };
  });
}

export function pools(w: MockWorld): Pool[] {
  return POOLS.map((p) => ({
    name: p.pool,
    meetingPlatform: p.meetingPlatform,
    image: `ghcr.io/acme/${p.pool}:1.8`,
    maxSize: Math.max(p.maxSize, w.slots.filter((s) => s.pool === p.pool).length),
    prewarmCount: 5,
    allowedPlatforms: null,
    source: "pools/" + p.pool + ".yaml",
    usesAccounts: false,
    queuePriority: 100,
    queueTimeoutMs: 600_000,
    retired: false,
  }));
}

export function overview(w: MockWorld): PlatformOverview[] {
  return [...w.settings.platforms]
    .sort((a, b) => a.position - b.position)
    .map((p) => {
      const mine = w.slots.filter((s) => s.deploymentPlatform === p.platform);
      const c = (st: SlotStatus) => mine.filter((s) => s.status === st).length;
      return {
        settings: p,
        used: c("busy") + c("deploying"), queued: 0,
        health: w.health[p.platform] ?? "unknown",
        slots: { idle: c("idle"), deploying: c("deploying"), busy: c("busy"), error: c("error"), total: mine.length },
        drain: null,
      };
    });
}

export function botDetails(w: MockWorld, id: number, now: number): BotDetails {
  const q = w.queue.find((e) => e.botId === id);
  const iso = (ms: number) => new Date(ms).toISOString();
  const t0 = q ? Date.parse(q.queuedAt) : now - 60_000;
  return {
    id,
    pool: q?.pool ?? "pool-google-meet",
    meetingPlatform: q?.meetingPlatform ?? "google-meet",
    meetingUrl: "https://meet.google.com/abc-defg-hij",
    status: q ? "QUEUED" : "IN_CALL",
    priority: q?.priority ?? 100,
    queueTimeoutMs: 600_000,
    deploymentPlatform: null,
    slotName: null,
    error: null,
    pinnedPlatform: null,
    redeployOf: null,
    joinAt: null,
    startAt: null,
    decisionTrace:
      q?.pool === "pool-zoom"
        ? [
            { platform: "k8s", decision: "poolFull", detail: "no idle slot; pool max size 30 reached", at: iso(t0 - 900) },
            { platform: null, decision: "noAccount", detail: "no account available in pool-zoom (17 in use, 230 completed, 3 failed); waiting for one to return or a refresh", at: iso(t0) },
          ]
        : [
            { platform: "k8s", decision: "full", detail: "limit 30/30", at: iso(t0 - 62_000) },
            { platform: "k8s", decision: "waiting", detail: "waited 60 s for capacity", at: iso(t0 - 61_000) },
            { platform: "aws", decision: "failed", detail: "RunTask: capacity unavailable in us-east-1a", at: iso(t0 - 1_500) },
            { platform: "coolify", decision: "poolFull", detail: "pool max size 40 reached", at: iso(t0 - 800) },
            { platform: "local", decision: "disabled", detail: "disabled (pinned by BERTH_DEV)", at: iso(t0 - 700) },
            { platform: null, decision: "queued", detail: `global queue, position ${q?.position ?? 1}`, at: iso(t0) },
          ],
    createdAt: iso(t0 - 63_000),
    updatedAt: iso(t0),
    endedAt: null,
  };
}
