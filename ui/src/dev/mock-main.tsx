// Dev-only entry (mock.html): the real app over mocked IPC with fake data
// and a simulated change feed, for browser previews and screenshots.
// `?slots=10000` for a large pool; `?db=down` to start with the database unreachable.
// The backend implements every command of the generated bindings
// (`MockBackend`): a missing or mistyped command does not compile.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { ChangeEvent, Notice, PlatformEdit, SettingsChange, SlotStatus, Topic } from "../api/types";
import { dispatch, fail, type MockBackend } from "./mockBackend";
// The `definition_schema` command's text (what `berth pools schema` prints), written by
// `cargo test -p berth-desktop --lib export_bindings`.
import definitionSchema from "./definition-schema.json?raw";
import { mockActions } from "./mockActions";
import { mockBots } from "./mockBots";
import * as defs from "./mockDefinitions";
import { mockHistory } from "./mockHistory";
import { rulesFixture } from "../test/fixtures";
import { botDetails, makeWorld, overview, pools, poolStats } from "./mockData";

const params = new URLSearchParams(location.search);
const world = makeWorld(Number(params.get("slots") ?? 60), Date.now());
let dbDown = params.get("db") === "down";
const iso = () => new Date().toISOString();

/** `out`, once announced on `topics` (as the core announces its own changes). */
function announcing<T>(topics: Topic[], out: T): T {
  void emitChange(topics);
  return out;
}

const actions = mockActions(world, (topics) => void emitChange(topics));
const bots = mockBots(world, () => actions.auditLog({}));

const backend: MockBackend = {
  connectionStatus: () => ({
    databaseOk: !dbDown,
    message: dbDown ? "connection refused (127.0.0.1:5432)" : null,
    lastEventAt: iso(),
    feedConnected: !dbDown,
    now: iso(),
  }),
  poolStats: () => poolStats(world),
  listPools: () => pools(world),
  queueEntries: () => ({ now: iso(), entries: world.queue.filter((q) => Date.parse(q.timeoutAt) > Date.now() - 5_000), releaseRatePerSec: 0.35 }),
  queueStats: () => ({ length: world.queue.length, oldestQueuedAt: world.queue[0]?.queuedAt ?? null, avgWaitMs: 67_000, releasesPerMinute: 21, now: iso() }),
  history: (span) =>
    mockHistory(span, overview(world).map((p) => p.settings.platform), pools(world).map((p) => p.name), Date.now()),
  listSlots: (f) =>
    world.slots.filter(
      (s) =>
        (!f.pool || s.pool === f.pool) &&
        (!f.platform || s.deploymentPlatform === f.platform) &&
        ((f.statuses ?? []).length === 0 || (f.statuses ?? []).includes(s.status)),
    ),
  // Copies: the demo traffic changes the world's slots in place.
  slotsByIds: (ids) => world.slots.filter((s) => ids.includes(s.id)).map((s) => ({ ...s })),
  platformsOverview: () => ({
    now: iso(),
    platforms: overview(world),
    globalQueued: 0, globalQueueTimeoutMs: world.settings.globalQueueTimeoutMs,
    globalQueueTimeoutPinnedBy: world.settings.globalQueueTimeoutPinnedBy,
  }),
  getSettings: () => world.settings,
  settingsRules: () => rulesFixture(),
  settingsHistory: (limit) => world.history.slice(0, limit),
  botDetails: (id) => botDetails(world, id, Date.now()),
  saveSettings: (plan) => {
    // All or nothing, like the core: work on a copy, keep it only if valid.
    const next = structuredClone(world.settings);
    const changes: SettingsChange[] = [];
    const change = (subject: string, field: string, oldValue: unknown, newValue: unknown) =>
      changes.push({ id: 0, subject, field, oldValue: JSON.stringify(oldValue), newValue: JSON.stringify(newValue), changedBy: "desktop:preview", at: iso() });
    if (plan.order) {
      plan.order.forEach((name, i) => {
        const p = next.platforms.find((x) => x.platform === name);
        if (p && p.position !== i) {
          change(`platform:${p.platform}`, "position", p.position, i);
          p.position = i;
        }
      });
      next.platforms.sort((a, b) => a.position - b.position);
    }
    for (const { platform, edit } of plan.edits ?? []) {
      const p = next.platforms.find((x) => x.platform === platform);
      if (!p) return fail("not_found", `no settings for ${platform}`);
      for (const [field, value] of Object.entries(edit as PlatformEdit)) {
        if (value === null || value === undefined) continue;
        if (p.pinned[field]) return fail("conflict", `${field}: is fixed by the environment variable ${p.pinned[field]}; change it there`);
        change(`platform:${p.platform}`, field, (p as unknown as Record<string, unknown>)[field], value);
        (p as unknown as Record<string, unknown>)[field] = value;
      }
    }
    if (plan.tiers) {
      change("global", "tiers", next.tiers, plan.tiers);
      next.tiers = plan.tiers;
    }
    if (!next.platforms.some((p) => p.enabled && p.botLimit !== null))
      return fail("config_invalid", "enabled: at least one enabled platform needs a limit; this change would leave none");
    if (plan.globalQueueTimeoutMs !== null && plan.globalQueueTimeoutMs !== undefined) {
      change("global", "globalQueueTimeoutMs", next.globalQueueTimeoutMs, plan.globalQueueTimeoutMs);
      next.globalQueueTimeoutMs = plan.globalQueueTimeoutMs;
    }
    world.settings = next;
    for (const c of changes) world.history.unshift({ ...c, id: world.history.length + 1 });
    return announcing(["settings"], world.settings);
  },
  listDefinitions: () => defs.list(Date.now()),
  getDefinition: (name) => defs.get(name),
  poolScaling: (pool) => ({ pool, scaled: false, scaleDownAfterMs: null, current: null, arrivalsPerMinute: null, leadTimeMs: null, idle: 0, decisions: [] }),
  validateDefinition: (text) => defs.validate(text),
  testDefinition: (text) => defs.test(text),
  saveDefinition: (originalName, text) => announcing(["pools"], defs.save(originalName, text)),
  applyDefinition: (name) => announcing(["pools"], defs.apply(name)),
  refreshAccounts: (name) => ({ name, added: 3, kept: 39, removed: 1, truncated: false, stats: { available: 42, inUse: 17, completed: 230, failed: 3 } }),
  deleteDefinition: (name) => announcing(["pools"], defs.remove(name)),
  definitionSchema: () => definitionSchema,
  queryTables: () => defs.tables(),
  tableColumns: (table) => defs.columns(table),
  readDefinitionFile: (file) => defs.readFile(file),
  repairDefinition: (file, text) => announcing(["pools"], defs.repair(file, text)),
  deployBots: (request) => announcing(["pools", "slots", "queue"], defs.deploy(request)),
  // The mock world schedules nothing: an empty timeline over the routable capacity.
  upcomingSchedule: (hours) => emptySchedule(hours, Date.now()),
  rescheduleBot: () => fail("stale_transition", "the mock world has no scheduled bot"),
  answerClose: () => null,
  setAlertKinds: () => null,
  recentAlerts: () => [],
  ...actions,
  ...bots,
};

mockIPC(
  (cmd, payload) => {
    if (dbDown && cmd !== "connection_status") fail("database_unavailable", "connection refused (127.0.0.1:5432)");
    return dispatch(backend, cmd, payload);
  },
  { shouldMockEvents: true },
);

// One alert batch shortly after start, so the bell and its list show something.
setTimeout(() => {
  const notices: Notice[] = [
    { kind: "exhausted", key: "zoom-prod", raised: true, title: "Pool zoom-prod exhausted", body: "4 bots queuing: every platform is at its limit.", at: iso() },
  ];
  void emit("alerts-raised", { notices });
}, 5_000);

function emitChange(topics: Topic[], slotIds: number[] | null = null) {
  const e: ChangeEvent = { kind: "changed", topics, message: null, slotIds };
  return emit("change-event", e);
}

// Demo traffic: a few slots change state every 1.5 s.
const NEXT: Record<SlotStatus, SlotStatus> = { idle: "deploying", deploying: "busy", busy: "idle", error: "idle" };
let nextBot = 7000;
setInterval(() => {
  if (dbDown) return;
  const changed: number[] = [];
  for (let k = 0; k < 2; k++) {
    const s = world.slots[Math.floor(Math.random() * world.slots.length)]!;
    changed.push(s.id);
    s.status = NEXT[s.status];
    s.assignedBotId = s.status === "idle" ? null : (s.assignedBotId ?? nextBot++);
    s.errorMessage = null;
    s.statusChangedAt = iso();
    if (s.status === "deploying") s.lastUsedAt = iso();
  }
  void emitChange(["slots", "bots"], changed);
}, 1500);

// For manual checks from the console: __berth.setDatabaseDown(true).
(window as unknown as Record<string, unknown>).__berth = {
  setDatabaseDown(down: boolean) {
    dbDown = down;
    if (down) void emit("change-event", { kind: "disconnected", topics: [], message: "connection refused", slotIds: null } satisfies ChangeEvent);
    else void emit("change-event", { kind: "resync", topics: [], message: null, slotIds: null } satisfies ChangeEvent);
  },
};

await import("../main");

/** `hours` of empty 15-minute windows from `now`. */
function emptySchedule(hours: number, now: number) {
  const start = Math.floor(now / 60_000) * 60_000;
  const windows = Array.from({ length: hours * 4 }, (_, i) => ({
    from: new Date(start + i * 900_000).toISOString(),
    to: new Date(start + (i + 1) * 900_000).toISOString(),
    booked: 0,
    capacity: 50,
  }));
  return { bots: [], windows };
}
