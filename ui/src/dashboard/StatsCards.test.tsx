import { render, screen, within } from "@testing-library/react";
import { StatsCards } from "./StatsCards";
import { totalsOf } from "./aggregate";
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
});
