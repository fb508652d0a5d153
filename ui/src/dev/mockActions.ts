// The operator's actions in the dev mock backend: slot actions change the
// fake world (as the core would), the others answer in the core's shapes;
// every action is kept in a fake audit log and announced with `audit`.
import type { AuditEntry, SlotOutcome, Topic } from "../bindings";
import { botDetails, type MockWorld } from "./mockData";
import { fail, type MockBackend } from "./mockBackend";

type Actions = Pick<
  MockBackend,
  "slotAction" | "cancelBot" | "setBotPriority" | "rerouteBot" | "redeployBot" | "drainPlatform" | "undrainPlatform" | "auditLog"
>;

const ACTOR = "desktop:preview";

export function mockActions(world: MockWorld, announce: (topics: Topic[]) => void): Actions {
  const log: AuditEntry[] = [];
  const record = (action: string, targetKind: AuditEntry["targetKind"], target: string, reason: string | null) => {
    log.unshift({ id: log.length + 1, at: new Date().toISOString(), actor: ACTOR, action, targetKind, target, reason, detail: {} });
  };
  const slotOne = (action: string, name: string, force: boolean): SlotOutcome => {
    const s = world.slots.find((x) => x.slotName === name);
    if (!s) return { slot: name, done: null, error: { code: "not_found", message: `no slot named "${name}"` } };
    const held = s.assignedBotId !== null;
    if (held && !force && (action === "restart" || action === "delete"))
      return { slot: name, done: null, error: { code: "slot_busy", message: `slot ${name} holds bot #${s.assignedBotId}` } };
    if (action === "drain") s.draining = true;
    if (action === "undrain") s.draining = false;
    if (action === "restart" || action === "recover") Object.assign(s, { status: "idle", assignedBotId: null, errorMessage: null });
    const gone = action === "delete" || (s.draining && s.status === "idle");
    if (gone) world.slots = world.slots.filter((x) => x !== s);
    return { slot: name, done: { status: gone ? null : s.status, draining: s.draining, endedBot: null }, error: null };
  };
  return {
    slotAction: (action, names, force, reason) => {
      const out = names.map((n) => slotOne(action, n, force));
      out.filter((o) => o.done).forEach((o) => record(`slot.${action}`, "slot", o.slot, reason));
      announce(["slots", "audit"]);
      return out;
    },
    cancelBot: (id, reason) => {
      record("bot.cancel", "bot", String(id), reason);
      announce(["bots", "queue", "audit"]);
      return { ...botDetails(world, id, Date.now()), status: "FATAL", error: `cancelled by ${ACTOR}${reason ? `: ${reason}` : ""}` };
    },
    setBotPriority: (id, priority, reason) => {
      if (priority < 0) return fail("invalid_input", `priority must be 0 or more, got ${priority}`);
      record("bot.priority", "bot", String(id), reason);
      announce(["queue", "bots", "audit"]);
      return { botId: id, from: 100, to: priority, position: 1 };
    },
    rerouteBot: (id, platform, reason) => {
      record("bot.reroute", "bot", String(id), reason);
      announce(["queue", "bots", "audit"]);
      return { botId: id, from: null, to: (platform as never) ?? null };
    },
    redeployBot: (id, reason) => {
      record("bot.redeploy", "bot", String(id), reason);
      announce(["bots", "audit"]);
      return { fromBotId: id, botId: id + 100_000, status: "QUEUED" };
    },
    drainPlatform: (platform, reason) => {
      record("platform.drain", "platform", platform, reason);
      announce(["platforms", "audit"]);
      return { platform: platform as never, drain: { at: new Date().toISOString(), by: ACTOR, reason }, running: 0 };
    },
    undrainPlatform: (platform, reason) => {
      record("platform.undrain", "platform", platform, reason);
      announce(["platforms", "queue", "audit"]);
      return { platform: platform as never, drain: { at: new Date().toISOString(), by: ACTOR, reason: null }, running: 0 };
    },
    auditLog: (q) => log.filter((e) => (!q.targetKind || e.targetKind === q.targetKind) && (!q.target || e.target === q.target)).slice(0, q.limit ?? 1000),
  };
}
