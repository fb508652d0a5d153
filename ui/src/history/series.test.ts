import { historyFixture } from "../test/fixtures";
import { formatBucket, formatCount, formatSeconds, formatTick, isEmptyHistory, peakOf, sumSeries, totalOf } from "./series";

describe("reading a history", () => {
  it("finds the peak past gaps, and none in an all-gap series", () => {
    expect(peakOf([null, 2, 7.5, null, 7.5, 1])).toEqual({ value: 7.5, index: 2 });
    expect(peakOf([null, null])).toBeNull();
  });

  it("sums series bucket by bucket, a gap only where every series has one", () => {
    expect(sumSeries([[1, null, null], [2, 3, null]])).toEqual([3, 3, null]);
    expect(totalOf([1, null, 2])).toBe(3);
  });

  it("prints averages to one decimal and whole counts as they are", () => {
    expect(formatCount(2)).toBe("2");
    expect(formatCount(2.46)).toBe("2.5");
  });

  it("labels times in local time: the clock, the weekday for a week, the day at a local midnight", () => {
    const midnight = new Date(2026, 0, 15, 0, 0).getTime();
    const afternoon = new Date(2026, 0, 15, 14, 5).getTime();
    const weekday = new Date(midnight).toLocaleDateString(undefined, { weekday: "short" });
    expect(formatBucket(afternoon, "hour")).toBe("14:05");
    expect(formatBucket(afternoon, "week")).toBe(`${weekday} 14:05`);
    expect(formatTick(midnight, "day")).toBe(`${weekday} 15`);
    expect(formatTick(midnight, "hour")).toBe("00:00");
    expect(formatTick(afternoon, "week")).toBe("14:05");
  });

  it("calls a window with nothing above zero empty", () => {
    expect(isEmptyHistory(historyFixture("day", true))).toBe(true);
    expect(isEmptyHistory(historyFixture("day"))).toBe(false);
    const onlyFailure = historyFixture("hour", true);
    onlyFailure.deployFailures[3] = 1;
    expect(isEmptyHistory(onlyFailure)).toBe(false);
  });

  it("formats waits under 10 s with a decimal, longer ones as durations", () => {
    expect(formatSeconds(0)).toBe("0s");
    expect(formatSeconds(0.25)).toBe("0.25s");
    expect(formatSeconds(2.46)).toBe("2.5s");
    expect(formatSeconds(75)).toBe("1m 15s");
  });
});
