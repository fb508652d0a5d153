// The browser preview's stand-ins for the new commands answer plausibly.
import * as defs from "./mockDefinitions";

describe("mock preview definitions", () => {
  it("lists the broken file until it is repaired", () => {
    const before = defs.list(Date.now());
    expect(before.problems).toEqual([expect.objectContaining({ file: "pool-old.yaml", line: 6, field: "max_size" })]);
    const text = defs.readFile("pool-old.yaml").replace("max_size: many", "max_size: 8");
    expect(defs.repair("pool-old.yaml", text)).toEqual({ name: "pool-old", file: "pool-old.yaml", renamedFrom: null });
    const after = defs.list(Date.now());
    expect(after.problems).toEqual([]);
    expect(after.definitions.map((d) => d.summary.name)).toContain("pool-old");
  });

  it("compiles a builder's SQL, reports platforms and refuses unknown tables", () => {
    const text = `${defs.get("pool-meet").text}accounts:\n  type: sql\n  builder:\n    table: accounts\n    columns: [id, email]\n    filters:\n      - { column: pack_count, op: ">=", value: 10 }\n      - { column: banned_at, op: is_null }\n    limit: 5\n`;
    const t = defs.test(text);
    expect(t.sql).toBe('SELECT "id", "email" FROM "public"."accounts"\nWHERE "pack_count" >= $1 AND "banned_at" IS NULL\nLIMIT 5');
    expect(t.platforms.map((p) => p.health)).toEqual(["healthy", "degraded", "unavailable"]);
    expect(defs.tables()).toEqual(["accounts", "billing.seats"]);
    expect(() => defs.columns("secrets")).toThrow(expect.objectContaining({ code: "query_refused" }));
  });

  it("deploys into applied pools only", () => {
    expect(defs.deploy({ pool: "pool-zoom", meetingUrl: "https://zoom.us/j/1", count: 6, priority: null, queueTimeoutMs: null, joinAt: null, ifFull: null, staggerMs: null })).toMatchObject({ deployed: 4, queued: 2 });
    expect(() => defs.deploy({ pool: "pool-meet", meetingUrl: "https://meet.google.com/x", count: 1, priority: null, queueTimeoutMs: null, joinAt: null, ifFull: null, staggerMs: null })).toThrow(
      expect.objectContaining({ code: "conflict" }),
    );
  });
});
