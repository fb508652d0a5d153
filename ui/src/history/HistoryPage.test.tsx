import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { PlatformSettings, PlatformsOverview, PoolStats } from "../api/types";
import { historyFixture, iso, T0 } from "../test/fixtures";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { HistoryPage } from "./HistoryPage";
import { formatBucket } from "./series";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const platform = (platform: "k8s" | "aws", botLimit: number | null, position: number): PlatformSettings => ({
  platform,
  label: platform === "k8s" ? "K8s" : "AWS",
  position,
  enabled: true,
  botLimit,
  queueTimeoutMs: 30_000,
  pinned: {},
});
const overview: PlatformsOverview = {
  now: iso(T0),
  platforms: [
    { settings: platform("k8s", 20, 0), used: 3, queued: 0, health: "healthy", drain: null, slots: { total: 5, idle: 2, deploying: 0, busy: 3, error: 0 } },
    { settings: platform("aws", null, 1), used: 0, queued: 0, health: "healthy", drain: null, slots: { total: 0, idle: 0, deploying: 0, busy: 0, error: 0 } },
  ],
  globalQueued: 0, globalQueueTimeoutMs: 600_000,
  globalQueueTimeoutPinnedBy: null,
};
const stats: PoolStats[] = [{ pool: "pool-zoom", meetingPlatform: "zoom", total: 5, idle: 2, deploying: 0, busy: 3, error: 0, maxSize: 10 }];
/** The local time label of bucket `i` of the hour fixture. */
const at = (i: number) => formatBucket(T0 + i * 60_000, "hour");

beforeEach(() => {
  resetMockApi();
  mockApi.history.mockImplementation((span) => Promise.resolve(historyFixture(span)));
  mockApi.platformsOverview.mockResolvedValue(overview);
  mockApi.poolStats.mockResolvedValue(stats);
});

const chart = (id: string) => within(screen.getByTestId(id));

describe("HistoryPage", () => {
  it("charts every series of the last hour, with titles, summaries and limits", async () => {
    renderApp(<HistoryPage />);
    await screen.findByTestId("chart-platforms");
    expect(mockApi.history).toHaveBeenCalledWith("hour");
    expect(screen.getByRole("radio", { name: "Last hour" })).toHaveAttribute("aria-checked", "true");

    for (const title of ["Busy slots per platform", "Busy slots per pool", "Queue length", "Wait before deploy", "Deploy failures"]) {
      expect(screen.getByRole("heading", { name: title })).toBeInTheDocument();
    }
    await waitFor(() =>
      expect(chart("chart-platforms").getByRole("img")).toHaveAccessibleName(
        `Busy slots per platform: K8s: peak 12 at ${at(5)} of 20; AWS: peak 3 at ${at(9)}`,
      ),
    );
    await waitFor(() =>
      expect(chart("chart-pools").getByRole("img")).toHaveAccessibleName(`Busy slots per pool: pool-zoom: peak 9 at ${at(5)} of 10`),
    );
    expect(chart("chart-queue").getByRole("img")).toHaveAccessibleName(`Queue length: peak 4 at ${at(7)} waiting`);
    expect(chart("chart-waits").getByRole("img")).toHaveAccessibleName(`Wait before deploy: p95 peak 1m 08s at ${at(7)}; p50 peak 20s at ${at(7)}`);
    expect(chart("chart-failures").getByRole("img")).toHaveAccessibleName(`Deploy failures: 3 deploy failures, most 2 at ${at(10)}`);

    // One point per bucket; the waits only where a bot deployed.
    expect(screen.getByTestId("series-k8s")).toHaveAttribute("data-points", "60");
    expect(screen.getByTestId("series-pool-zoom")).toHaveAttribute("data-points", "60");
    expect(screen.getByTestId("series-p95")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("series-failures").querySelectorAll("rect")).toHaveLength(2);
    // Failures are counted: whole-number ticks only.
    expect(chart("chart-failures").getByText("1")).toBeInTheDocument();
    expect(chart("chart-failures").queryByText("0.5")).not.toBeInTheDocument();
    // The limit is in the legend too.
    expect(chart("chart-platforms").getByText("/ 20")).toBeInTheDocument();
  });

  it("reads one bucket's values out with the arrow keys", async () => {
    renderApp(<HistoryPage />);
    const figure = await screen.findByTestId("chart-platforms");
    await waitFor(() => expect(chart("chart-platforms").getByText("/ 20")).toBeInTheDocument());
    const plot = within(figure).getByRole("group", { name: "Busy slots per platform: ←/→ read each point" });
    const readout = screen.getByTestId("chart-platforms-readout");
    expect(readout).toBeEmptyDOMElement();
    fireEvent.keyDown(plot, { key: "ArrowRight" });
    expect(readout).toHaveTextContent(`${at(0)} · K8s 1 · AWS 0`);
    for (let i = 0; i < 5; i++) fireEvent.keyDown(plot, { key: "ArrowRight" });
    expect(readout).toHaveTextContent(`${at(5)} · K8s 12 · AWS 0`);
    expect(within(figure).getByTestId("cursor")).toBeInTheDocument();
    fireEvent.keyDown(plot, { key: "End" });
    expect(readout).toHaveTextContent(`${at(59)} · K8s 1 · AWS 0`);
    fireEvent.keyDown(screen.getByTestId("chart-waits").querySelector<HTMLElement>('[tabindex="0"]')!, { key: "Home" });
    expect(screen.getByTestId("chart-waits-readout")).toHaveTextContent(`${at(0)} · p95 — · p50 —`);
    fireEvent.keyDown(plot, { key: "Escape" });
    expect(readout).toBeEmptyDOMElement();
  });

  it("asks for the other span when it is switched", async () => {
    renderApp(<HistoryPage />);
    await screen.findByTestId("chart-platforms");
    let answerWeek: () => void = () => {};
    mockApi.history.mockImplementation((span) =>
      span === "week" ? new Promise((resolve) => (answerWeek = () => resolve(historyFixture("week")))) : Promise.resolve(historyFixture(span)),
    );
    fireEvent.click(screen.getByRole("radio", { name: "Last week" }));
    await waitFor(() => expect(mockApi.history).toHaveBeenCalledWith("week"));
    expect(screen.getByRole("radio", { name: "Last week" })).toHaveAttribute("aria-checked", "true");
    // The hour's charts stay (busy) until the week answers: no layout jump.
    expect(screen.getByTestId("series-k8s")).toHaveAttribute("data-points", "60");
    expect(screen.getByTestId("series-k8s").closest("[aria-busy]")).toHaveAttribute("aria-busy", "true");
    act(() => answerWeek());
    await waitFor(() => expect(screen.getByTestId("series-k8s")).toHaveAttribute("data-points", "168"));
    expect(screen.getByTestId("series-k8s").closest("[aria-busy]")).toHaveAttribute("aria-busy", "false");
    fireEvent.click(screen.getByRole("radio", { name: "Last day" }));
    await waitFor(() => expect(screen.getByTestId("series-k8s")).toHaveAttribute("data-points", "96"));
    expect(mockApi.history).toHaveBeenCalledWith("day");
  });

  it("says so when there is no history", async () => {
    mockApi.history.mockImplementation((span) => Promise.resolve(historyFixture(span, true)));
    renderApp(<HistoryPage />);
    expect(await screen.findByTestId("history-empty")).toHaveTextContent("No history for the last hour yet");
    expect(screen.queryByTestId("chart-platforms")).not.toBeInTheDocument();
  });

  it("surfaces a typed error", async () => {
    mockApi.history.mockRejectedValue({ code: "database_unavailable", message: "connection refused" });
    renderApp(<HistoryPage />);
    expect(await screen.findByText("connection refused")).toBeInTheDocument();
  });

  it("refetches on slot, bot and queue changes, at most once per throttle window", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(T0);
    try {
      renderApp(<HistoryPage />);
      await act(() => vi.advanceTimersByTimeAsync(100));
      expect(screen.getByTestId("chart-platforms")).toBeInTheDocument();
      const calls = () => mockApi.history.mock.calls.length;
      const before = calls();

      act(() => emitChange({ kind: "changed", topics: ["settings"], message: null, slotIds: null }));
      await act(() => vi.advanceTimersByTimeAsync(11_000));
      expect(calls()).toBe(before);

      // A burst: one refetch now (the data is older than the throttle)...
      act(() => emitChange({ kind: "changed", topics: ["slots"], message: null, slotIds: null }));
      await act(() => vi.advanceTimersByTimeAsync(0));
      expect(calls()).toBe(before + 1);
      // ...and the changes right after it wait for one trailing refetch.
      act(() => emitChange({ kind: "changed", topics: ["bots"], message: null, slotIds: null }));
      act(() => emitChange({ kind: "changed", topics: ["queue"], message: null, slotIds: null }));
      await act(() => vi.advanceTimersByTimeAsync(5_000));
      expect(calls()).toBe(before + 1);
      await act(() => vi.advanceTimersByTimeAsync(5_100));
      expect(calls()).toBe(before + 2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("History in the main navigation", () => {
  it("opens from its tab and from #/history", async () => {
    const { App } = await import("../App");
    window.history.replaceState(null, "", "#/history");
    const { unmount } = renderApp(<App />);
    expect(await screen.findByRole("heading", { level: 1, name: "History" })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "History" })).toHaveAttribute("aria-selected", "true");
    unmount();

    window.history.replaceState(null, "", "#/dashboard");
    renderApp(<App />);
    fireEvent.click(screen.getByRole("tab", { name: "History" }));
    expect(await screen.findByRole("heading", { level: 1, name: "History" })).toBeInTheDocument();
    expect(window.location.hash).toBe("#/history");
  });
});
