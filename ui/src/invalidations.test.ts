import { QueryClient } from "@tanstack/react-query";
import type { Topic } from "./bindings";
import { applyChangeEvent } from "./api/invalidation";
import { auditKeys } from "./audit/queries";
import { EMPTY_QUERY } from "./bots/filter";
import { botsKeys } from "./bots/queries";
import { createLiveStore } from "./api/live";
import { dashboardKeys } from "./dashboard/queries";
import { infrastructureKeys } from "./infrastructure/queries";
import { LIVE_INVALIDATIONS, LIVE_PATCHES } from "./invalidations";
import { mockApi } from "./test/mockApi";
import { poolsKeys } from "./pools/queries";
import { settingsKeys } from "./settings/queries";

vi.mock("./api/tauri", async () => (await import("./test/mockApi")).tauriModule);

// One key of each kind every view's query module uses.
const KEYS = [
  dashboardKeys.stats,
  dashboardKeys.slots(null),
  infrastructureKeys.queueEntries,
  infrastructureKeys.queueStats,
  settingsKeys.settings,
  settingsKeys.history(20),
  infrastructureKeys.platforms,
  infrastructureKeys.bot(7),
  poolsKeys.definitions,
  poolsKeys.definition("alpha"),
  poolsKeys.scaling("alpha"),
  auditKeys.list({ targetKind: "slot", target: null, actor: null, since: null, limit: 50 }),
  botsKeys.list(EMPTY_QUERY),
  botsKeys.timeline(7),
];
// The Bots view's list and timeline: stale on bots, queue and slots; the timeline on audit too.
const TIMELINE = '["bots","timeline",7]';
const BOTS = ['["bots","list",{"statuses":[],"platforms":[],"pools":[],"time":{"kind":"all"},"search":""}]', TIMELINE];

function setup() {
  const client = new QueryClient();
  for (const key of KEYS) client.setQueryData(key, 1);
  const invalidated = () =>
    client
      .getQueryCache()
      .getAll()
      .filter((q) => q.state.isInvalidated)
      .map((q) => JSON.stringify(q.queryKey))
      .sort();
  return { client, store: createLiveStore(), invalidated };
}

describe("change events invalidate only their topics' queries (every view's declaration merged)", () => {
  it.each<[Topic[], string[]]>([
    [["queue"], [...BOTS, '["queue","entries"]', '["queue","stats"]']],
    [["slots"], [...BOTS, '["platforms"]', '["slots",{"pool":null}]', '["stats"]']],
    [["settings"], ['["platforms"]', '["settings","history",20]', '["settings"]']],
    [["platforms"], ['["platforms"]']],
    [["bots"], [...BOTS, '["bot",7]', '["platforms"]']],
    [["pools"], ['["pools","definition","alpha"]', '["pools","definitions"]', '["pools","scaling","alpha"]', '["stats"]']],
    [["scaling"], ['["pools","scaling","alpha"]']],
    [["peers"], []],
    [["audit"], [TIMELINE, '["audit",{"targetKind":"slot","target":null,"actor":null,"since":null,"limit":50}]']],
    [["queue", "bots"], [...BOTS, '["bot",7]', '["platforms"]', '["queue","entries"]', '["queue","stats"]']],
  ])("%j", (topics, expected) => {
    const { client, store, invalidated } = setup();
    applyChangeEvent(client, store, { kind: "changed", topics, message: null, slotIds: null }, 1000, LIVE_INVALIDATIONS);
    expect(invalidated()).toEqual([...expected].sort());
    expect(store.get().lastUpdatedAt).toBe(1000);
  });

  it("an event that names its slots patches the slots lists instead of invalidating them", () => {
    const { client, store, invalidated } = setup();
    mockApi.slotsByIds.mockResolvedValue([]);
    applyChangeEvent(client, store, { kind: "changed", topics: ["slots"], message: null, slotIds: [3] }, 1000, LIVE_INVALIDATIONS, LIVE_PATCHES);
    expect(invalidated()).toEqual([...BOTS, '["platforms"]', '["stats"]'].sort());
    expect(mockApi.slotsByIds).toHaveBeenCalledWith([3]);
    // Without the patches (or without ids), the list is read again.
    const plain = setup();
    applyChangeEvent(plain.client, plain.store, { kind: "changed", topics: ["slots"], message: null, slotIds: [3] }, 1000, LIVE_INVALIDATIONS);
    expect(plain.invalidated()).toContain('["slots",{"pool":null}]');
  });

  it("resync invalidates everything; disconnected nothing", () => {
    const a = setup();
    applyChangeEvent(a.client, a.store, { kind: "disconnected", topics: [], message: "gone", slotIds: null }, 1, LIVE_INVALIDATIONS);
    expect(a.invalidated()).toEqual([]);
    expect(a.store.get().feedDisconnected).toBe(true);
    applyChangeEvent(a.client, a.store, { kind: "resync", topics: [], message: null, slotIds: null }, 2, LIVE_INVALIDATIONS);
    expect(a.invalidated()).toHaveLength(KEYS.length);
    expect(a.store.get().feedDisconnected).toBe(false);
  });
});
