import { render, screen, within } from "@testing-library/react";
import { StatsCards } from "./StatsCards";
import { totalsOf } from "./aggregate";
import type { IdleBreakdown } from "./idleReasons";
import type { PoolStats } from "../api/types";

const stats: PoolStats[] = [
  { pool: "pool-zoom", meetingPlatform: "zoom", total: 37, idle: 12, deploying: 3, busy: 20, error: 2, maxSize: 60 },
  { pool: "pool-teams", meetingPlatform: "microsoft-teams", total: 10, idle: 5, deploying: 1, busy: 4, error: 0, maxSize: 40 },
];

describe("StatsCards", () => {
  it("shows busy+deploying of max with a progress bar, and each status count", () => {
    render(<StatsCards totals={totalsOf(stats, null)} />);
    expect(screen.getByTestId("stat-total-in-use")).toHaveTextContent("28");
    expect(screen.getByTestId("stat-total-max")).toHaveTextContent("100");
    const bar = screen.getByRole("progressbar", { name: "Capacity in use" });
    expect(bar).toHaveAttribute("aria-valuenow", "28");
    expect(bar).toHaveAttribute("aria-valuemax", "100");
    expect(screen.getByTestId("stat-idle-value")).toHaveTextContent("17");
    expect(screen.getByTestId("stat-deploying-value")).toHaveTextContent("4");
    expect(screen.getByTestId("stat-busy-value")).toHaveTextContent("24");
    expect(screen.getByTestId("stat-error-value")).toHaveTextContent("2");
    expect(within(screen.getByTestId("stat-idle")).getByText("[IDLE]")).toBeInTheDocument();
    expect(within(screen.getByTestId("stat-error")).getByText(/\[ERROR\]/)).toBeInTheDocument();
  });

  it("narrows to one pool", () => {
    render(<StatsCards totals={totalsOf(stats, "pool-teams")} />);
    expect(screen.getByTestId("stat-total-in-use")).toHaveTextContent("5");
    expect(screen.getByTestId("stat-total-max")).toHaveTextContent("40");
    expect(screen.getByTestId("stat-error-value")).toHaveTextContent("0");
  });

  it("says what the big number counts", () => {
    render(<StatsCards totals={totalsOf(stats, null)} />);
    expect(screen.getByTestId("stat-total")).toHaveTextContent(/^Slots in use/);
    expect(screen.getByTestId("stat-total-caption")).toHaveTextContent("busy + deploying slots, of 100 max");
  });

  it("counts only the idle slots a bot can take as available, and says why the others are idle", () => {
    const idle: IdleBreakdown = { idle: 17, queued: 10, usable: 0, atLimit: [{ label: "K8s", count: 12, used: 30, limit: 30 }], unroutable: 0, otherPools: 5, platformsKnown: true };
    render(<StatsCards totals={totalsOf(stats, null)} idle={idle} />);
    expect(screen.getByTestId("stat-available")).toHaveTextContent("0");
    expect(screen.getByTestId("idle-reason")).toHaveTextContent("10 queued while 17 idle: 12 on K8s (at its limit, 30/30), 5 in other pools.");
  });

  it("keeps the reason's place empty when there is nothing to explain", () => {
    render(<StatsCards totals={totalsOf(stats, null)} />);
    expect(screen.getByTestId("stat-available")).toHaveTextContent("17");
    expect(screen.getByTestId("idle-reason")).toBeEmptyDOMElement();
  });
});
