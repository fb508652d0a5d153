import { describe, expect, it } from "vitest";
import { linear, time } from "./scale";

describe("history scales", () => {
  it("map linearly, nice the domain and tick round values", () => {
    const y = linear([0, 9.3], [100, 0], true);
    expect(y.domain()).toEqual([0, 10]);
    expect(y(5)).toBe(50);
    expect(y.ticks(5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(y.range()).toEqual([100, 0]);
    expect(linear([3, 3], [0, 10])(3)).toBe(0);
  });

  it("tick time on calendar boundaries", () => {
    const start = new Date(Date.UTC(2026, 10, 30, 11, 0));
    const x = time([start, new Date(start.getTime() + 3_600_000)], [0, 600]);
    expect(x(new Date(start.getTime() + 1_800_000))).toBe(300);
    const ticks = x.ticks(4);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.every((t) => t.getUTCMinutes() % 15 === 0 && t.getUTCSeconds() === 0)).toBe(true);
  });
});
