import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { PoolStats } from "../api/types";
import { formatBucket } from "../history/series";
import { historyFixture, makeSlots, queueSnapshot, T0 } from "../test/fixtures";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { DashboardPage } from "./DashboardPage";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const stats: PoolStats[] = [
  { pool: "pool-zoom", meetingPlatform: "zoom", total: 30, idle: 20, deploying: 2, busy: 8, error: 0, maxSize: 50 },
  { pool: "pool-teams", meetingPlatform: "microsoft-teams", total: 10, idle: 9, deploying: 0, busy: 1, error: 0, maxSize: 50 },
];
const at = (i: number) => formatBucket(T0 + i * 60_000, "hour");

beforeEach(() => {
  resetMockApi();
  mockApi.poolStats.mockResolvedValue(stats);
  mockApi.listSlots.mockResolvedValue(makeSlots(4));
  mockApi.queueEntries.mockResolvedValue({ ...queueSnapshot(Date.now()), entries: [] });
  const h = historyFixture("hour");
  // Two pools: the slots line of "all pools" is their sum.
  h.busyByPool.push({ key: "pool-teams", values: h.busyByPool[0]!.values.map((_, i) => (i === 5 ? 2 : 1)) });
  mockApi.history.mockResolvedValue(h);
});

describe("the dashboard's last-hour sparklines", () => {
  it("draws slots in use, queue length and p95 wait from history('hour')", async () => {
    renderApp(<DashboardPage />);
    await waitFor(() => expect(screen.getByTestId("spark-busy")).toHaveAttribute("data-points", "60"));
    expect(mockApi.history).toHaveBeenCalledWith("hour");
    expect(mockApi.history).not.toHaveBeenCalledWith("day");
    expect(screen.getByRole("img", { name: `Slots in use, last hour: latest 1.5, peak 11 at ${at(5)}` })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: `Queue length, last hour: latest 0, peak 4 at ${at(7)}` })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: `p95 wait, last hour: latest 1m 08s, peak 1m 08s at ${at(7)}` })).toBeInTheDocument();
    expect(screen.getByTestId("spark-wait")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("spark-busy-now")).toHaveTextContent("1.5");
  });

  it("narrows the slots line to the selected pool", async () => {
    renderApp(<DashboardPage />);
    fireEvent.click(await screen.findByRole("radio", { name: "pool-zoom" }));
    expect(await screen.findByRole("img", { name: `Slots in use · pool-zoom, last hour: latest 0.5, peak 9 at ${at(5)}` })).toBeInTheDocument();
  });

  it("keeps its place with dashes while the history loads", async () => {
    mockApi.history.mockReturnValue(new Promise(() => {}));
    renderApp(<DashboardPage />);
    expect(screen.getByTestId("sparklines")).toBeInTheDocument();
    expect(screen.getByTestId("spark-busy-now")).toHaveTextContent("—");
    expect(screen.getByRole("img", { name: "Queue length: loading" })).toBeInTheDocument();
    // The rest of the dashboard answers; the sparklines still wait.
    await screen.findByRole("radio", { name: "pool-zoom" });
    expect(screen.getByTestId("spark-busy-now")).toHaveTextContent("—");
  });
});
