import { act, screen } from "@testing-library/react";
import { ApiError } from "../api/errors";
import { STALE_AFTER_MS } from "../api/live";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { iso, T0 } from "../test/fixtures";
import { renderApp, useFakeClock } from "../test/render";
import { DatabaseBanner, LiveIndicator } from "./LiveIndicator";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const ok = () => ({ databaseOk: true, message: null, lastEventAt: null, feedConnected: true, now: iso(Date.now()) });
// setTimeout stays real (React Query schedules its notifications with it).
const flush = () =>
  act(async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  });
const level = () => screen.getByTestId("live-indicator").getAttribute("data-level");

describe("LiveIndicator", () => {
  beforeEach(() => {
    resetMockApi();
    useFakeClock(T0);
  });
  afterEach(() => vi.useRealTimers());

  it("is LIVE after a refresh, ticks 'Updated Ns ago', turns STALE when updates stop", async () => {
    // First probe answers; later ones hang (nothing fresh arrives any more).
    mockApi.connectionStatus.mockResolvedValueOnce(ok());
    renderApp(<LiveIndicator />);
    await flush();
    expect(level()).toBe("live");
    expect(screen.getByRole("tooltip")).toHaveTextContent("Updated 0s ago");

    act(() => vi.advanceTimersByTime(5_000));
    expect(screen.getByRole("tooltip")).toHaveTextContent("Updated 5s ago");
    expect(screen.getByText("LIVE")).toBeInTheDocument();

    act(() => vi.advanceTimersByTime(STALE_AFTER_MS));
    expect(level()).toBe("stale");
    expect(screen.getByText("STALE")).toBeInTheDocument();

    // A change event is fresh data again.
    act(() => emitChange({ kind: "changed", topics: ["slots"], message: null, slotIds: null }));
    expect(level()).toBe("live");
  });

  it("goes OFFLINE on a disconnected event and shows the banner until the feed speaks again", async () => {
    mockApi.connectionStatus.mockResolvedValueOnce(ok());
    renderApp(
      <>
        <DatabaseBanner />
        <LiveIndicator />
      </>,
    );
    await flush();
    act(() => emitChange({ kind: "disconnected", topics: [], message: "connection refused", slotIds: null }));
    expect(level()).toBe("disconnected");
    expect(screen.getByText("OFFLINE")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("connection refused");
    act(() => emitChange({ kind: "resync", topics: [], message: null, slotIds: null }));
    expect(level()).toBe("live");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("shows the database banner on database_unavailable and clears it on recovery", async () => {
    mockApi.connectionStatus.mockRejectedValueOnce(new ApiError("database_unavailable", "pool timed out"));
    mockApi.connectionStatus.mockResolvedValueOnce(ok());
    renderApp(
      <>
        <DatabaseBanner />
        <LiveIndicator />
      </>,
    );
    await flush();
    expect(screen.getByRole("alert")).toHaveTextContent("[DATABASE UNREACHABLE]");
    expect(level()).toBe("disconnected");
    // The next probe (5 s later) finds the database back.
    act(() => vi.advanceTimersByTime(5_000));
    await flush();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(level()).toBe("live");
  });
});
