import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { applyChangeEvent, mergeInvalidations } from "./invalidation";
import { createLiveStore } from "./live";

describe("mergeInvalidations", () => {
  it("unions the modules' keys per topic, each key once", () => {
    const merged = mergeInvalidations({ slots: [["a"], ["b"]], queue: [["q"]] }, { slots: [["b"], ["c", { x: 1 }]] }, { slots: [["c", { x: 1 }]] });
    expect(merged).toEqual({ slots: [["a"], ["b"], ["c", { x: 1 }]], queue: [["q"]] });
  });

  it("leaves the declarations it merges unchanged", () => {
    const a = { slots: [["a"]] };
    mergeInvalidations(a, { slots: [["b"]] });
    expect(a).toEqual({ slots: [["a"]] });
  });
});

/** A query on ["a"] whose fetches end when the test says (`release`), each resolving to its number. */
function heldQuery() {
  const client = new QueryClient();
  const state = { fetches: 0, release: () => undefined as void };
  const queryFn = () => {
    state.fetches += 1;
    return new Promise<number>((resolve) => (state.release = () => resolve(state.fetches)));
  };
  return { client, state, observer: new QueryObserver(client, { queryKey: ["a"], queryFn }) };
}

describe("applyChangeEvent", () => {
  it("invalidates the keys of the event's topics by prefix, and nothing of topics without keys", () => {
    const client = new QueryClient();
    for (const key of [["a", 1], ["a", 2], ["b"], ["c"]]) client.setQueryData(key, 1);
    const spy = vi.spyOn(client, "invalidateQueries");
    // Real topic names, so the test still compiles when topics become a union; `peers` maps to nothing here.
    const table = { slots: [["a"]], queue: [["a"], ["b"]] };
    applyChangeEvent(client, createLiveStore(), { kind: "changed", topics: ["slots", "queue", "peers"], message: null, slotIds: null }, 5, table);
    // ["a"] is asked for once although two topics name it.
    expect(spy.mock.calls.map(([f]) => f?.queryKey)).toEqual([["a"], ["b"]]);
    const stale = client
      .getQueryCache()
      .getAll()
      .filter((q) => q.state.isInvalidated)
      .map((q) => JSON.stringify(q.queryKey));
    expect(stale.sort()).toEqual(['["a",1]', '["a",2]', '["b"]']);
  });

  it("asks for one more refetch after the one under way, however many changes came meanwhile", async () => {
    const { client, state, observer } = heldQuery();
    const stop = observer.subscribe(() => undefined);
    await vi.waitFor(() => expect(state.fetches).toBe(1));
    state.release();
    await vi.waitFor(() => expect(observer.getCurrentResult().data).toBe(1));
    const table = { slots: [["a"]] };
    const event = { kind: "changed" as const, topics: ["slots" as const], message: null, slotIds: null };
    applyChangeEvent(client, createLiveStore(), event, 1, table);
    await vi.waitFor(() => expect(state.fetches).toBe(2));
    // Three more changes while the second fetch runs: it is not restarted, and one fetch follows it.
    for (let i = 0; i < 3; i++) applyChangeEvent(client, createLiveStore(), event, 2 + i, table);
    expect(state.fetches).toBe(2);
    state.release();
    await vi.waitFor(() => expect(state.fetches).toBe(3));
    state.release();
    await vi.waitFor(() => expect(observer.getCurrentResult().data).toBe(3));
    expect(state.fetches).toBe(3);
    stop();
  });
  it("follows a fetch another caller started (it may have read before the change) with one more", async () => {
    const { client, state, observer } = heldQuery();
    // The view's own first fetch is under way when the change comes.
    const stop = observer.subscribe(() => undefined);
    await vi.waitFor(() => expect(state.fetches).toBe(1));
    const event = { kind: "changed" as const, topics: ["slots" as const], message: null, slotIds: null };
    applyChangeEvent(client, createLiveStore(), event, 1, { slots: [["a"]] });
    expect(state.fetches).toBe(1);
    state.release();
    await vi.waitFor(() => expect(state.fetches).toBe(2));
    state.release();
    await vi.waitFor(() => expect(observer.getCurrentResult().data).toBe(2));
    stop();
  });
});
