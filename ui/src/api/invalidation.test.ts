import { QueryClient } from "@tanstack/react-query";
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

describe("applyChangeEvent", () => {
  it("invalidates the keys of the event's topics by prefix, and nothing of topics without keys", () => {
    const client = new QueryClient();
    for (const key of [["a", 1], ["a", 2], ["b"], ["c"]]) client.setQueryData(key, 1);
    const spy = vi.spyOn(client, "invalidateQueries");
    // Real topic names, so the test still compiles when topics become a union; `peers` maps to nothing here.
    const table = { slots: [["a"]], queue: [["a"], ["b"]] };
    applyChangeEvent(client, createLiveStore(), { kind: "changed", topics: ["slots", "queue", "peers"], message: null }, 5, table);
    // ["a"] is asked for once although two topics name it.
    expect(spy.mock.calls.map(([f]) => f?.queryKey)).toEqual([["a"], ["b"]]);
    const stale = client
      .getQueryCache()
      .getAll()
      .filter((q) => q.state.isInvalidated)
      .map((q) => JSON.stringify(q.queryKey));
    expect(stale.sort()).toEqual(['["a",1]', '["a",2]', '["b"]']);
  });
});
