import { rulesFixture, settingsFixture } from "../../test/fixtures";
import { draftOf, sameAs, tierSettingsOf, tiersProblems, type TiersDraft } from "./draft";

const rules = rulesFixture();
const live = () => settingsFixture().tiers;

describe("tiers draft", () => {
  it("round-trips the live tiers and sees no change", () => {
    const d = draftOf(live());
    expect(d.rows[2]).toEqual({ name: "batch", priority: "500", maxWait: "60000" });
    expect(tiersProblems(d, rules).any).toBe(false);
    expect(sameAs(d, live())).toBe(true);
    expect(tierSettingsOf(d)).toEqual(live());
  });

  it("checks names, priorities and max waits by the core's rules", () => {
    const d: TiersDraft = {
      rows: [
        { name: "Gold", priority: "10", maxWait: "" },
        { name: "silver", priority: "1001", maxWait: "999" },
        { name: "silver", priority: "10", maxWait: "600000" },
      ],
      defaultTier: "silver",
    };
    const p = tiersProblems(d, rules);
    expect(p.rows[0]!.name).toMatch(/lower-case letter/);
    expect(p.rows[1]!.priority).toBe("Priority must be a whole number from 0 to 1,000.");
    expect(p.rows[1]!.maxWait).toBe("Max wait must be a whole number from 1,000 to 600,000, or empty.");
    expect(p.rows[2]!.name).toBe("silver is listed twice.");
    expect(p.rows[2]!.priority).toBe("Each tier needs its own priority.");
    expect(p.rows[2]!.maxWait).toBeNull();
    expect(p.any).toBe(true);
  });

  it("needs the default among the tiers and at least one tier", () => {
    expect(tiersProblems({ ...draftOf(live()), defaultTier: "gold" }, rules).list).toBe("The default tier must be one of the tiers.");
    expect(tiersProblems({ rows: [], defaultTier: "standard" }, rules).list).toBe("List 1 to 16 tiers.");
  });

  it("sends an empty max wait as no ageing", () => {
    const d = draftOf(live());
    d.rows[2]!.maxWait = " ";
    expect(tierSettingsOf(d).tiers[2]!.maxWaitMs).toBeNull();
    expect(sameAs(d, live())).toBe(false);
  });
});
