import { fireEvent, screen, within } from "@testing-library/react";
import { ApiError } from "../api/errors";
import type { Upcoming, WindowLoad } from "../bindings";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { botsInvalidations, botsKeys } from "./queries";
import { fill, SCHEDULE_HOURS, ScheduleTimeline } from "./ScheduleTimeline";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const T = Date.parse("2026-12-01T09:00:00Z");
const at = (min: number) => new Date(T + min * 60_000).toISOString();
const window = (i: number, booked: number, capacity = 3): WindowLoad => ({ from: at(i * 15), to: at((i + 1) * 15), booked, capacity });

function upcoming(): Upcoming {
  return {
    bots: [
      { botId: 41, pool: "zoom", meetingUrl: "https://zoom.us/j/1", joinAt: at(30), startAt: at(28), booked: true },
      { botId: 42, pool: "zoom", meetingUrl: "https://zoom.us/j/2", joinAt: at(30), startAt: at(28), booked: false },
    ],
    windows: [window(0, 0), window(1, 2), window(2, 3), window(3, 0)],
  };
}

beforeEach(() => resetMockApi());

describe("ScheduleTimeline", () => {
  it("shows each window's booked capacity and the next bots to start", async () => {
    mockApi.upcomingSchedule.mockResolvedValue(upcoming());
    renderApp(<ScheduleTimeline />);
    expect(await screen.findByTestId("schedule-summary")).toHaveTextContent("2 scheduled; at most 3 of 3 booked at once.");
    expect(mockApi.upcomingSchedule).toHaveBeenCalledWith(SCHEDULE_HOURS);
    const windows = within(screen.getByRole("list", { name: "Windows" })).getAllByRole("listitem");
    expect(windows).toHaveLength(4);
    expect(windows[1]).toHaveAccessibleName(expect.stringContaining("2 of 3 booked"));
    expect(windows[2]).toHaveClass("bg-error");
    expect(windows[1]).toHaveClass("bg-busy");
    const bots = within(screen.getByRole("list", { name: "Upcoming bots" })).getAllByRole("listitem");
    expect(bots).toHaveLength(2);
    expect(within(bots[0]!).getByRole("button", { name: "Open bot #41" })).toBeInTheDocument();
    expect(bots[0]).not.toHaveTextContent("not booked");
    expect(bots[1]).toHaveTextContent("not booked");
  });

  it("moves a bot to a new join time, and shows a refusal", async () => {
    mockApi.upcomingSchedule.mockResolvedValue(upcoming());
    mockApi.rescheduleBot.mockRejectedValueOnce(new ApiError("window_full", "the window is fully booked"));
    mockApi.rescheduleBot.mockResolvedValue({ botId: 41, from: at(30), joinAt: at(120), startAt: at(118), booked: true });
    renderApp(<ScheduleTimeline />);
    fireEvent.click(await screen.findByRole("button", { name: "Move bot #41" }));
    const form = screen.getByRole("form", { name: "Move bot #41" });
    const save = within(form).getByRole("button", { name: "Save" });
    expect(save).toBeDisabled();
    fireEvent.change(within(form).getByLabelText("New join time"), { target: { value: "2026-12-01T11:00" } });
    fireEvent.click(save);
    expect(await screen.findByRole("alert")).toHaveTextContent("[window_full]");
    expect(mockApi.rescheduleBot).toHaveBeenCalledWith(41, new Date("2026-12-01T11:00").toISOString());
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await vi.waitFor(() => expect(screen.queryByRole("form", { name: "Move bot #41" })).not.toBeInTheDocument());
    expect(mockApi.rescheduleBot).toHaveBeenCalledTimes(2);
  });

  it("says when nothing is scheduled", async () => {
    mockApi.upcomingSchedule.mockResolvedValue({ bots: [], windows: [window(0, 0)] });
    renderApp(<ScheduleTimeline />);
    expect(await screen.findByTestId("schedule-summary")).toHaveTextContent("No scheduled bots.");
    expect(screen.queryByRole("list", { name: "Upcoming bots" })).not.toBeInTheDocument();
  });

  it("reads a window's fill as booked over capacity, capped at full", () => {
    expect(fill(window(0, 0))).toBe(0);
    expect(fill(window(0, 3, 6))).toBe(0.5);
    expect(fill(window(0, 9, 6))).toBe(1);
    expect(fill(window(0, 1, 0))).toBe(1);
  });

  it("goes stale when bots or the platforms' limits change", () => {
    expect(botsInvalidations.bots).toContainEqual(botsKeys.all);
    expect(botsInvalidations.settings).toContainEqual(botsKeys.schedules);
  });
});
