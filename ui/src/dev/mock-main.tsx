// Dev-only entry (mock.html): the real app over mocked IPC with fake data
// and a simulated change feed, for browser previews and screenshots.
// `?slots=10000` for a large pool; `?db=down` to start with the database unreachable.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import type { ChangeEvent, DeployRequest, PlatformEdit, SettingsPlan, SlotFilter } from "../bindings";
import * as defs from "./mockDefinitions";
import { botDetails, makeWorld, overview, poolStats } from "./mockData";

const params = new URLSearchParams(location.search);
const world = makeWorld(Number(params.get("slots") ?? 60), Date.now());
let dbDown = params.get("db") === "down";
const iso = () => new Date().toISOString();
const fail = (code: string, message: string) => {
  throw { code, message };
};

mockIPC(
  (cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    if (cmd === "connection_status") {
      return { databaseOk: !dbDown, message: dbDown ? "connection refused (127.0.0.1:5432)" : null, lastEventAt: iso(), feedConnected: !dbDown, now: iso() };
    }
    if (dbDown) fail("database_unavailable", "connection refused (127.0.0.1:5432)");
    switch (cmd) {
      case "pool_stats":
        return poolStats(world);
      case "list_pools":
        return poolStats(world).map((p) => ({ name: p.pool, meetingPlatform: p.meetingPlatform, image: `ghcr.io/acme/${p.pool}:1.8`, maxSize: p.maxSize, prewarmCount: 5, allowedPlatforms: null, source: "pools/" + p.pool + ".yaml" }));
      case "queue_entries":
        return { now: iso(), entries: world.queue.filter((q) => Date.parse(q.timeoutAt) > Date.now() - 5_000), releaseRatePerSec: 0.35 };
      case "queue_stats":
        return { length: world.queue.length, oldestQueuedAt: world.queue[0]?.queuedAt ?? null, avgWaitMs: 67_000, releasesPerMinute: 21, now: iso() };
      case "list_slots": {
        const f = args.filter as SlotFilter;
        return world.slots.filter((s) => (!f.pool || s.pool === f.pool) && (!f.platform || s.deploymentPlatform === f.platform) && ((f.statuses ?? []).length === 0 || (f.statuses ?? []).includes(s.status)));
      }
      case "platforms_overview":
        return { now: iso(), platforms: overview(world), globalQueueTimeoutMs: world.settings.globalQueueTimeoutMs, globalQueueTimeoutPinnedBy: world.settings.globalQueueTimeoutPinnedBy };
      case "get_settings":
        return world.settings;
      case "settings_rules":
        return { botLimit: { min: 1, max: 100_000 }, queueTimeoutMs: { min: 0, max: 3_600_000 }, globalQueueTimeoutMs: { min: 1_000, max: 3_600_000 } };
      case "settings_history":
        return world.history.slice(0, Number(args.limit ?? 20));
      case "bot_details":
        return botDetails(world, Number(args.id), Date.now());
      case "save_settings": {
        // All or nothing, like the core: work on a copy, keep it only if valid.
        const plan = args.plan as SettingsPlan;
        const next = structuredClone(world.settings);
        const changes: typeof world.history = [];
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
        if (!next.platforms.some((p) => p.enabled && p.botLimit !== null))
          return fail("config_invalid", "enabled: at least one enabled platform needs a limit; this change would leave none");
        if (plan.globalQueueTimeoutMs !== null && plan.globalQueueTimeoutMs !== undefined) {
          change("global", "globalQueueTimeoutMs", next.globalQueueTimeoutMs, plan.globalQueueTimeoutMs);
          next.globalQueueTimeoutMs = plan.globalQueueTimeoutMs;
        }
        world.settings = next;
        for (const c of changes) world.history.unshift({ ...c, id: world.history.length + 1 });
        void emitChange(["settings"]);
        return world.settings;
      }
      case "list_definitions":
        return defs.list(Date.now());
      case "get_definition":
        return defs.get(String(args.name));
      case "validate_definition":
        return defs.validate(String(args.text));
      case "test_definition":
        return defs.test(String(args.text));
      case "save_definition": {
        const out = defs.save((args.originalName as string | null) ?? null, String(args.text));
        void emitChange(["pools"]);
        return out;
      }
      case "apply_definition": {
        const out = defs.apply(String(args.name));
        void emitChange(["pools"]);
        return out;
      }
      case "refresh_accounts":
        return { name: String(args.name), added: 3, kept: 39, removed: 1, truncated: false, stats: { available: 42, inUse: 17, completed: 230, failed: 3 } };
      case "delete_definition": {
        const out = defs.remove(String(args.name));
        void emitChange(["pools"]);
        return out;
      }
      case "definition_schema":
        return "{}";
      case "query_tables":
        return defs.tables();
      case "table_columns":
        return defs.columns(String(args.table));
      case "read_definition_file":
        return defs.readFile(String(args.file));
      case "repair_definition": {
        const out = defs.repair(String(args.file), String(args.text));
        void emitChange(["pools"]);
        return out;
      }
      case "deploy_bots": {
        const out = defs.deploy(args.request as DeployRequest);
        void emitChange(["pools", "slots", "queue"]);
        return out;
      }
      default:
        return fail("not_found", `mock: unknown command ${cmd}`);
    }
  },
  { shouldMockEvents: true },
);

function emitChange(topics: string[]) {
  const e: ChangeEvent = { kind: "changed", topics, message: null };
  return emit("change-event", e);
}

// Demo traffic: a few slots change state every 1.5 s.
const NEXT: Record<string, string> = { idle: "deploying", deploying: "busy", busy: "idle", error: "idle" };
let nextBot = 7000;
setInterval(() => {
  if (dbDown) return;
  for (let k = 0; k < 2; k++) {
    const s = world.slots[Math.floor(Math.random() * world.slots.length)]!;
    s.status = NEXT[s.status] ?? "idle";
    s.assignedBotId = s.status === "idle" ? null : (s.assignedBotId ?? nextBot++);
    s.errorMessage = null;
    s.statusChangedAt = iso();
    if (s.status === "deploying") s.lastUsedAt = iso();
  }
  void emitChange(["slots", "bots"]);
}, 1500);

// For manual checks from the console: __berth.setDatabaseDown(true).
(window as unknown as Record<string, unknown>).__berth = {
  setDatabaseDown(down: boolean) {
    dbDown = down;
    if (down) void emit("change-event", { kind: "disconnected", topics: [], message: "connection refused" } satisfies ChangeEvent);
    else void emit("change-event", { kind: "resync", topics: [], message: null } satisfies ChangeEvent);
  },
};

await import("../main");
