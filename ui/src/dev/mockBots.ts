// The Bots view's commands in the dev mock backend: a few thousand bots of
// every status (the queued ones and those in the slots of the fake world
// among them), filtered and paged the way the core does (newest first,
// keyset `before`), and a timeline per bot.
import type { AuditEntry, BotEvent, BotFilter, BotPage, BotRow, BotStatus, BotTimeline, TraceEntry } from "../bindings";
import { fail, type MockBackend } from "./mockBackend";
import type { MockWorld } from "./mockData";

const MEETINGS = [
  { pool: "pool-google-meet", meetingPlatform: "google-meet", url: (i: number) => `https://meet.google.com/abc-${String(i).padStart(4, "0")}-xyz` },
  { pool: "pool-teams", meetingPlatform: "microsoft-teams", url: (i: number) => `https://teams.microsoft.com/l/meetup-join/19%3ameeting_${i}` },
  { pool: "pool-zoom", meetingPlatform: "zoom", url: (i: number) => `https://zoom.us/j/${8_100_000_000 + i}` },
] as const;
const PLATFORMS = ["k8s", "k8s", "aws", "coolify"] as const;
const LIFE: BotStatus[] = ["QUEUED", "DEPLOYING", "JOINING_CALL", "IN_WAITING_ROOM", "IN_CALL", "CALL_ENDED", "DONE"];

interface MockBot extends BotRow {
  events: BotEvent[];
  redeployOf: number | null;
}

function makeBots(world: MockWorld, count: number, now: number): MockBot[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  const held = new Map(world.slots.filter((s) => s.assignedBotId !== null).map((s) => [s.assignedBotId!, s]));
  const queued = new Map(world.queue.map((q) => [q.botId, q]));
  const ids = new Set<number>([...held.keys(), ...queued.keys()]);
  for (let id = 5100; ids.size < count; id--) ids.add(id);
  return [...ids]
    .sort((a, b) => b - a)
    .map((id, rank): MockBot => {
      const m = MEETINGS[id % 3]!;
      const slot = held.get(id);
      const q = queued.get(id);
      const created = q ? Date.parse(q.queuedAt) - 2_000 : now - 40_000 - rank * 97_000;
      // The ones in the fake world keep their state there; the rest age towards DONE (some fail).
      const status: BotStatus = q ? "QUEUED" : slot ? (slot.status === "deploying" ? "DEPLOYING" : "IN_CALL") : id % 13 === 0 ? "FATAL" : rank < 20 ? LIFE[1 + (rank % 5)]! : "DONE";
      const steps = status === "FATAL" ? ["QUEUED", "DEPLOYING", "FATAL"] : LIFE.slice(0, LIFE.indexOf(status) + 1);
      const events = (steps as BotStatus[]).map((s, i) => ({
        at: iso(created + i * (i === 1 ? 4_000 + (id % 7) * 9_000 : 20_000)),
        status: s,
        detail: s === "FATAL" ? "deploy failed: ImagePullBackOff" : s === "DEPLOYING" ? `slot ${m.pool}-${String((id % 40) + 1).padStart(3, "0")}` : null,
      }));
      const dispatched = events[1] ? Date.parse(events[1].at) - created : null;
      return {
        id,
        pool: q?.pool ?? slot?.pool ?? m.pool,
        status,
        meetingPlatform: q?.meetingPlatform ?? slot?.meetingPlatform ?? m.meetingPlatform,
        meetingUrl: m.url(id),
        displayName: id % 4 === 0 ? `Notetaker ${id}` : null,
        deploymentPlatform: q ? null : (slot?.deploymentPlatform ?? PLATFORMS[id % PLATFORMS.length]!),
        pinnedPlatform: q?.waitingOn ?? null,
        slotName: slot?.slotName ?? null,
        priority: q?.priority ?? 100,
        queuePosition: q?.position ?? null,
        waitMs: q ? now - Date.parse(q.queuedAt) : dispatched,
        error: status === "FATAL" ? "deploy failed: ImagePullBackOff (registry timeout)" : null,
        createdAt: iso(created),
        updatedAt: events[events.length - 1]!.at,
        endedAt: status === "DONE" || status === "FATAL" ? events[events.length - 1]!.at : null,
        joinAt: null,
        events,
        redeployOf: id % 13 === 1 ? id - 1 : null,
      };
    });
}

const isOver = (s: BotStatus) => s === "DONE" || s === "FATAL";

function matches(b: BotRow, f: BotFilter): boolean {
  if (f.statuses.length > 0 && !f.statuses.includes(b.status)) return false;
  if (f.platforms.length > 0 && (b.deploymentPlatform === null || !f.platforms.includes(b.deploymentPlatform))) return false;
  if (f.pools.length > 0 && !f.pools.includes(b.pool)) return false;
  if (f.since && b.createdAt < f.since) return false;
  if (f.until && b.createdAt >= f.until) return false;
  const s = f.search?.trim() ?? "";
  if (s !== "") {
    const id = /^#?(\d+)$/.exec(s);
    if (id) return b.id === Number(id[1]);
    const needle = s.toLowerCase();
    return b.meetingUrl.toLowerCase().includes(needle) || (b.displayName ?? "").toLowerCase().includes(needle);
  }
  return true;
}

export function mockBots(world: MockWorld, audit: () => AuditEntry[]): Pick<MockBackend, "bots" | "botTimeline"> {
  const all = makeBots(world, 3_000, Date.now());
  const row = ({ events: _e, redeployOf: _r, ...r }: MockBot): BotRow => r;
  return {
    bots: (f): BotPage => {
      if (f.limit < 1 || f.limit > 1000) return fail("invalid_input", `limit must be 1 to 1000, got ${f.limit}`);
      const hits = all.filter((b) => matches(b, f));
      const page = hits.filter((b) => f.before === null || b.id < f.before).slice(0, f.limit);
      const more = page.length === f.limit && hits.some((b) => b.id < page[page.length - 1]!.id);
      // The core counts up to a cap (then says so); the mock's fleet is below it.
      return { rows: page.map(row), total: hits.length, totalCapped: false, nextBefore: more ? page[page.length - 1]!.id : null };
    },
    botTimeline: (id): BotTimeline => {
      const b = all.find((x) => x.id === id);
      if (!b) return fail("not_found", `no bot #${id}`);
      const slot = world.slots.find((s) => s.slotName === b.slotName);
      const at = Date.parse(b.createdAt);
      const trace: TraceEntry[] =
        b.status === "QUEUED"
          ? [
              { platform: "k8s", decision: "full", detail: "limit 30/30", at: new Date(at + 500).toISOString() },
              { platform: null, decision: "queued", detail: `global queue, position ${b.queuePosition ?? 1}`, at: new Date(at + 900).toISOString() },
            ]
          : [{ platform: b.deploymentPlatform, decision: b.status === "FATAL" ? "failed" : "deployed", detail: b.error ?? "idle slot taken", at: b.events[1]?.at ?? b.createdAt }];
      return {
        bot: row(b),
        events: b.events,
        trace,
        slot: slot ? { name: slot.slotName, pool: slot.pool, platform: slot.deploymentPlatform, status: slot.status } : null,
        account: b.pool === "pool-zoom" && b.status !== "QUEUED" ? { id: String(700 + (b.id % 40)), label: `zoom-user-${b.id % 40}@acme.test`, pool: b.pool, leasedAt: b.events[1]?.at ?? null, held: !isOver(b.status) } : null,
        actions: audit().filter((e) => e.targetKind === "bot" && e.target === String(id)),
        redeployOf: b.redeployOf,
        redeployedAs: all.filter((x) => x.redeployOf === id).map((x) => x.id),
      };
    },
  };
}
