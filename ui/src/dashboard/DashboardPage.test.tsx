import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { makeSlots, queueSnapshot } from "../test/fixtures";
import { renderApp } from "../test/render";
import { DashboardPage } from "./DashboardPage";
import type { PoolStats, Slot } from "../api/types";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const stats = (busy: number): PoolStats[] => [
  { pool: "pool-zoom", meetingPlatform: "zoom", total: 30, idle: 30 - busy - 2, deploying: 2, busy, error: 0, maxSize: 50 },
  { pool: "pool-teams", meetingPlatform: "microsoft-teams", total: 10, idle: 9, deploying: 0, busy: 1, error: 0, maxSize: 50 },
];

beforeEach(() => {
  resetMockApi();
  mockApi.poolStats.mockResolvedValue(stats(10));
  mockApi.listSlots.mockResolvedValue(makeSlots(8));
  mockApi.queueEntries.mockResolvedValue({ ...queueSnapshot(Date.now()), entries: [] });
});

describe("DashboardPage", () => {
  it("shows the core's numbers and refreshes the stats on a `slots` event only", async () => {
    renderApp(<DashboardPage />);
    await waitFor(() => expect(screen.getByTestId("stat-total-in-use")).toHaveTextContent("13"));
    expect(screen.getByTestId("stat-total-max")).toHaveTextContent("100");
    expect(screen.queryByTestId("queue-section")).not.toBeInTheDocument();
    // The queue's place is kept, empty.
    expect(screen.getByTestId("queue-empty")).toHaveTextContent("No bots waiting");
    const queueCalls = mockApi.queueEntries.mock.calls.length;

    mockApi.poolStats.mockResolvedValue(stats(20));
    act(() => emitChange({ kind: "changed", topics: ["slots"], message: null, slotIds: null }));
    await waitFor(() => expect(screen.getByTestId("stat-total-in-use")).toHaveTextContent("23"));
    expect(mockApi.queueEntries.mock.calls.length).toBe(queueCalls);
  });

  it("patches the row of an event that names its slot, without reading the list again", async () => {
    const all = makeSlots(10_000);
    mockApi.listSlots.mockResolvedValue(all);
    const { client } = renderApp(<DashboardPage />);
    const key = ["slots", { pool: null }];
    await waitFor(() => expect(client.getQueryData<Slot[]>(key)).toHaveLength(10_000));
    const lists = mockApi.listSlots.mock.calls.length;
    const drained = { ...all[4_241]!, draining: true };
    mockApi.slotsByIds.mockResolvedValue([drained]);
    act(() => emitChange({ kind: "changed", topics: ["slots", "audit"], message: null, slotIds: [drained.id] }));
    await waitFor(() => expect(client.getQueryData<Slot[]>(key)![4_241]).toEqual(drained));
    expect(mockApi.slotsByIds).toHaveBeenCalledWith([drained.id]);
    const after = client.getQueryData<Slot[]>(key)!;
    expect(after).toHaveLength(10_000);
    // The other rows are the same objects: their memoised rows do not render again.
    expect(after[4_240]).toBe(all[4_240]);
    expect(mockApi.listSlots.mock.calls.length).toBe(lists);

    // An event that does not name its slots reads the list again, as before.
    act(() => emitChange({ kind: "changed", topics: ["slots"], message: null, slotIds: null }));
    await waitFor(() => expect(mockApi.listSlots.mock.calls.length).toBe(lists + 1));
    expect(mockApi.slotsByIds).toHaveBeenCalledTimes(1);
  });

  it("offers a pool selector with All pools and narrows the cards", async () => {
    renderApp(<DashboardPage />);
    const zoom = await screen.findByRole("radio", { name: "pool-zoom" });
    expect(screen.getByRole("radio", { name: "All pools" })).toHaveAttribute("aria-checked", "true");
    fireEvent.click(zoom);
    expect(screen.getByTestId("stat-total-in-use")).toHaveTextContent("12");
    await waitFor(() => expect(mockApi.listSlots).toHaveBeenCalledWith({ statuses: [], pool: "pool-zoom", platform: null }));
  });

  it("refresh refetches everything", async () => {
    renderApp(<DashboardPage />);
    await screen.findByRole("radio", { name: "pool-zoom" });
    const before = mockApi.poolStats.mock.calls.length;
    fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    await waitFor(() => expect(mockApi.poolStats.mock.calls.length).toBe(before + 1));
    expect(mockApi.queueEntries.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it("surfaces a typed command error", async () => {
    mockApi.poolStats.mockRejectedValue({ code: "internal", message: "boom" });
    renderApp(<DashboardPage />);
    expect(await screen.findByText("boom")).toBeInTheDocument();
    expect(screen.getByText("[internal]")).toBeInTheDocument();
  });

  it("explains idle slots while bots queue from the slots, the queue and the platforms' limits", async () => {
    // makeSlots(8): slots 1 and 5 idle (pool-teams), on K8s.
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    mockApi.platformsOverview.mockResolvedValue({
      now: new Date().toISOString(),
      globalQueued: 0,
      globalQueueTimeoutMs: 600_000,
      globalQueueTimeoutPinnedBy: null,
      platforms: [
        {
          settings: { platform: "k8s", label: "K8s", position: 0, enabled: true, botLimit: 30, queueTimeoutMs: 60_000, pinned: {} },
          used: 30, queued: 0,
          health: "healthy",
          drain: null,
          slots: { idle: 2, deploying: 2, busy: 2, error: 2, total: 8 },
        },
      ],
    });
    renderApp(<DashboardPage />);
    await waitFor(() => expect(screen.getByTestId("idle-reason")).toHaveTextContent("2 queued while 2 idle: 2 in other pools."));
    expect(screen.getByTestId("stat-available")).toHaveTextContent("0");
  });
});
