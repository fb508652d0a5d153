import { T0 } from "../test/fixtures";
import { countText } from "./BotsPage";
import { EMPTY_QUERY, PAGE_SIZE, searchedId, sinceOf, toBotFilter } from "./filter";

describe("toBotFilter", () => {
  it("sends nothing filtered for the empty query: every status, platform and pool, from the newest", () => {
    expect(toBotFilter(EMPTY_QUERY, T0, null)).toEqual({
      statuses: [],
      platforms: [],
      pools: [],
      since: null,
      until: null,
      search: null,
      before: null,
      limit: PAGE_SIZE,
    });
  });

  it("maps the picked statuses, platform, pool, time and search; the cursor goes as `before`", () => {
    const f = toBotFilter({ statuses: ["QUEUED", "FATAL"], platforms: ["aws"], pools: ["pool-zoom"], time: { kind: "day" }, search: "  #123 " }, T0, 4801);
    expect(f).toEqual({
      statuses: ["QUEUED", "FATAL"],
      platforms: ["aws"],
      pools: ["pool-zoom"],
      since: new Date(T0 - 86_400_000).toISOString(),
      until: null,
      search: "#123",
      before: 4801,
      limit: PAGE_SIZE,
    });
  });

  it("resolves the time range when asked: last hour, week, since a local time, all", () => {
    expect(sinceOf({ kind: "hour" }, T0)).toBe(new Date(T0 - 3_600_000).toISOString());
    expect(sinceOf({ kind: "week" }, T0)).toBe(new Date(T0 - 7 * 86_400_000).toISOString());
    expect(sinceOf({ kind: "since", at: "2026-01-15T09:30" }, T0)).toBe(new Date(2026, 0, 15, 9, 30).toISOString());
    expect(sinceOf({ kind: "since", at: "" }, T0)).toBeNull();
    expect(sinceOf({ kind: "all" }, T0)).toBeNull();
  });

  it("reads `123` and `#123` as an id, anything else as a URL part", () => {
    expect(searchedId("#123")).toBe(123);
    expect(searchedId(" 123 ")).toBe(123);
    expect(searchedId("zoom.us/j/123")).toBeNull();
  });
});

describe("countText", () => {
  it("says how many match, how many are loaded, and when the core stopped counting", () => {
    const page = (total: number, totalCapped = false) => ({ rows: [], total, totalCapped, nextBefore: null });
    expect(countText(0, undefined)).toBe("…");
    expect(countText(30, page(30))).toBe("30");
    expect(countText(200, page(1234))).toBe("200 of 1234 loaded");
    expect(countText(200, page(10_000, true))).toBe("200 of 10000+ loaded");
  });
});
