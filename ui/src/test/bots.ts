// Bots for the Bots view's tests: rows in the core's shape and a timeline.
import type { BotPage, BotRow, BotTimeline } from "../bindings";
import { iso, T0 } from "./fixtures";

/** `n` bots, newest first, ids `top`, `top - 1`, …; every fifth queued, every seventh failed. */
export function botRows(n: number, top = 5000): BotRow[] {
  return Array.from({ length: n }, (_, i) => {
    const id = top - i;
    const queued = i % 5 === 0;
    const failed = !queued && i % 7 === 0;
    return {
      id,
      pool: i % 2 ? "pool-zoom" : "pool-teams",
      status: queued ? "QUEUED" : failed ? "FATAL" : "IN_CALL",
      meetingPlatform: i % 2 ? "zoom" : "microsoft-teams",
      meetingUrl: `https://zoom.us/j/${id}`,
      displayName: null,
      deploymentPlatform: queued ? null : "aws",
      pinnedPlatform: null,
      slotName: queued || failed ? null : `pool-zoom-${String(i).padStart(3, "0")}`,
      priority: 100,
      queuePosition: queued ? i / 5 + 1 : null,
      waitMs: queued ? 90_000 : 4_000,
      error: failed ? "deploy failed: boom" : null,
      createdAt: iso(T0 - i * 60_000),
      updatedAt: iso(T0 - i * 60_000 + 5_000),
      endedAt: failed ? iso(T0 - i * 60_000 + 5_000) : null,
      joinAt: null,
    };
  });
}

export function botPage(rows: BotRow[], total = rows.length, nextBefore: number | null = null, totalCapped = false): BotPage {
  return { rows, total, totalCapped, nextBefore };
}

/** Bot #42: queued 10:00:00, deploying 10:01:30, in the call 10:02:00; a trace of two decisions; one action. */
export function timeline(id = 42): BotTimeline {
  const bot = { ...botRows(1, id)[0]!, status: "IN_CALL" as const, slotName: "pool-zoom-007", deploymentPlatform: "k8s" as const, queuePosition: null };
  return {
    bot,
    events: [
      { at: iso(T0), status: "QUEUED", detail: null },
      { at: iso(T0 + 90_000), status: "DEPLOYING", detail: "slot pool-zoom-007" },
      { at: iso(T0 + 120_000), status: "IN_CALL", detail: null },
    ],
    trace: [
      { platform: "aws", decision: "full", detail: "limit 100/100", at: iso(T0 + 1_000) },
      { platform: "k8s", decision: "deployed", detail: "idle slot taken", at: iso(T0 + 90_000) },
    ],
    slot: { name: "pool-zoom-007", pool: "pool-zoom", platform: "k8s", status: "busy" },
    account: { id: "17", label: "zoom-user-17@acme.test", pool: "pool-zoom", leasedAt: iso(T0 + 90_000), held: true },
    actions: [
      { id: 9, at: iso(T0 + 30_000), actor: "desktop:maria", action: "bot.priority", targetKind: "bot", target: String(id), reason: "vip customer", detail: {} },
    ],
    redeployOf: 41,
    redeployedAs: [77],
  };
}
