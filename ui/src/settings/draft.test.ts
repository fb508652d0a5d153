import { rulesFixture, settingsFixture } from "../test/fixtures";
import { EMPTY, planOf, rowsOf } from "./draft";

describe("settings draft", () => {
  it("plans nothing for an empty draft or a draft equal to the live values", () => {
    expect(planOf(settingsFixture(), EMPTY, rulesFixture())).toEqual({ edits: [] });
    expect(planOf(settingsFixture(), { order: ["k8s", "aws", "coolify"], platforms: { aws: { limit: "100", enabled: true } }, global: "600000" }, rulesFixture())).toEqual({ edits: [] });
  });

  it("plans only what differs, never a pinned field, and leaves an invalid value out", () => {
    const plan = planOf(settingsFixture(), {
      order: ["aws", "k8s", "coolify"],
      platforms: { k8s: { limit: "40" }, aws: { limit: "0", timeout: "45000" }, coolify: { enabled: true } },
      global: "900000",
    }, rulesFixture());
    expect(plan).toEqual({
      order: ["aws", "k8s", "coolify"],
      edits: [
        { platform: "aws", edit: { queueTimeoutMs: 45_000 } },
        { platform: "coolify", edit: { enabled: true } },
      ],
      globalQueueTimeoutMs: 900_000,
    });
  });

  it("shows rows in the live order when the draft's order no longer fits, and an unset limit as valid until typed", () => {
    const settings = settingsFixture();
    settings.platforms[1]!.botLimit = null;
    const rows = rowsOf(settings, { order: ["aws", "k8s"], platforms: {}, global: null }, rulesFixture());
    expect(rows.map((r) => r.p.platform)).toEqual(["k8s", "aws", "coolify"]);
    expect(rows[1]).toMatchObject({ limit: "", limitError: null });
    const typed = rowsOf(settings, { order: null, platforms: { aws: { limit: "" } }, global: null }, rulesFixture());
    expect(typed[1]!.limitError).toBe("Limit is required (1 to 100,000).");
  });
});
