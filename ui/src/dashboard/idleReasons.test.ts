import type { PlatformKind, PlatformOverview, Slot } from "../api/types";
import { makeSlots, queueSnapshot } from "../test/fixtures";
import { idleBreakdown, idleExplanation } from "./idleReasons";

function platform(p: PlatformKind, label: string, used: number, botLimit: number | null, enabled = true): PlatformOverview {
  return {
    settings: { platform: p, label, position: 0, enabled, botLimit, queueTimeoutMs: 60_000, pinned: {} },
    used, queued: 0,
    health: "healthy",
    drain: null,
    slots: { idle: 0, deploying: 0, busy: 0, error: 0, total: 0 },
  };
}

/** `n` idle slots of `pool` on `on`. */
const idle = (n: number, pool: string, on: PlatformKind, from = 0): Slot[] =>
  makeSlots(n).map((s, i) => ({ ...s, id: from + i + 1, pool, deploymentPlatform: on, status: "idle", assignedBotId: null }));

const waiting = (n: number, pool = "pool-zoom") => Array.from({ length: n }, (_, i) => ({ ...queueSnapshot(0).entries[0]!, id: i + 1, botId: 100 + i, pool }));

describe("idle slots while bots queue", () => {
  it("says the idle slots are on a platform at its limit or of another pool, not available", () => {
    // Seen by an operator: 24 idle, 10 queued.
    const slots = [...idle(18, "pool-zoom", "k8s"), ...idle(6, "pool-teams", "aws", 100), ...makeSlots(4).map((s) => ({ ...s, status: "busy" as const }))];
    const b = idleBreakdown(slots, waiting(10), [platform("k8s", "K8s", 30, 30), platform("aws", "AWS", 2, 10)]);
    expect(b).toMatchObject({ idle: 24, queued: 10, usable: 0, otherPools: 6, unroutable: 0 });
    expect(b.atLimit).toEqual([{ label: "K8s", count: 18, used: 30, limit: 30 }]);
    expect(idleExplanation(b)).toBe("10 queued while 24 idle: 18 on K8s (at its limit, 30/30), 6 in other pools.");
  });

  it("counts idle slots of a waiting pool on a platform with room as available, and explains nothing then", () => {
    const b = idleBreakdown(idle(5, "pool-zoom", "k8s"), waiting(2), [platform("k8s", "K8s", 3, 30)]);
    expect(b.usable).toBe(5);
    expect(idleExplanation(b)).toBeNull();
  });

  it("names disabled and unlimited platforms, and a pending assignment", () => {
    const slots = [...idle(2, "pool-zoom", "k8s"), ...idle(3, "pool-zoom", "aws", 10), ...idle(1, "pool-zoom", "coolify", 20)];
    const b = idleBreakdown(slots, waiting(1), [platform("k8s", "K8s", 0, 5, false), platform("aws", "AWS", 0, null), platform("coolify", "Coolify", 0, 4)]);
    expect(b).toMatchObject({ usable: 1, unroutable: 5 });
    expect(idleExplanation(b)).toBe("1 queued while 6 idle: 5 on disabled or unlimited platforms, 1 free, being assigned.");
  });

  it("without a queue every idle slot on a platform with room is available", () => {
    const b = idleBreakdown(idle(4, "pool-teams", "k8s"), [], [platform("k8s", "K8s", 30, 30)]);
    expect(b).toMatchObject({ idle: 4, usable: 0, otherPools: 0 });
    // Nobody waits: nothing to explain.
    expect(idleExplanation(b)).toBeNull();
  });
});
