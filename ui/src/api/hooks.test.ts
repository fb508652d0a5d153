import { QueryClient } from "@tanstack/react-query";
import { applyChangeEvent } from "./hooks";
import { createLiveStore } from "./live";
import type { Topic } from "./types";

vi.mock("./tauri", async () => (await import("../test/mockApi")).tauriModule);

function setup() {
  const client = new QueryClient();
  for (const key of [["stats"], ["slots", { pool: null }], ["queue", "entries"], ["queue", "stats"], ["settings"], ["settings", "history", 20], ["platforms"], ["bot", 7], ["pools"]]) {
    client.setQueryData(key, 1);
  }
  const invalidated = () =>
    client
      .getQueryCache()
      .getAll()
      .filter((q) => q.state.isInvalidated)
      .map((q) => JSON.stringify(q.queryKey))
      .sort();
  return { client, store: createLiveStore(), invalidated };
}

describe("change events invalidate only their topics' queries", () => {
  it.each<[Topic[], string[]]>([
    [["queue"], ['["queue","entries"]', '["queue","stats"]']],
    [["slots"], ['["platforms"]', '["slots",{"pool":null}]', '["stats"]']],
    [["settings"], ['["platforms"]', '["settings","history",20]', '["settings"]']],
    [["platforms"], ['["platforms"]']],
    [["bots"], ['["bot",7]', '["platforms"]']],
    [["peers"], []],
  ])("%j", (topics, expected) => {
    const { client, store, invalidated } = setup();
    applyChangeEvent(client, store, { kind: "changed", topics, message: null }, 1000);
    expect(invalidated()).toEqual([...expected].sort());
    expect(store.get().lastUpdatedAt).toBe(1000);
  });

  it("resync invalidates everything; disconnected nothing", () => {
    const a = setup();
    applyChangeEvent(a.client, a.store, { kind: "disconnected", topics: [], message: "gone" }, 1);
    expect(a.invalidated()).toEqual([]);
    expect(a.store.get().feedDisconnected).toBe(true);
    applyChangeEvent(a.client, a.store, { kind: "resync", topics: [], message: null }, 2);
    expect(a.invalidated()).toHaveLength(9);
    expect(a.store.get().feedDisconnected).toBe(false);
  });
});
