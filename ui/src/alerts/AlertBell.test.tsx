// The in-app alert list (issue 14, Notifications): batches from the shell
// listed newest first with a count of new ones, and per-kind switches kept
// in localStorage and sent to the shell.
import { act, fireEvent, screen, within } from "@testing-library/react";
import type { Notice } from "../api/types";
import { emitAlerts, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { AlertBell, MAX_NOTICES, addBatch } from "./AlertBell";
import { loadKinds } from "./kinds";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const notice = (title: string, over: Partial<Notice> = {}): Notice => ({
  kind: "exhausted",
  key: "zoom",
  raised: true,
  title,
  body: `${title}: why`,
  at: "2026-12-01T00:00:00Z",
  ...over,
});

beforeEach(() => {
  resetMockApi();
  localStorage.clear();
  mockApi.setAlertKinds.mockResolvedValue(null);
  mockApi.recentAlerts.mockResolvedValue([]);
});

const bell = () => screen.getByRole("button", { name: /^Alerts/ });

describe("the alert list", () => {
  it("counts new alerts on the bell and lists them newest first", async () => {
    renderApp(<AlertBell />);
    expect(screen.queryByTestId("alert-count")).not.toBeInTheDocument();
    await act(async () => emitAlerts({ notices: [notice("Pool zoom exhausted")] }));
    await act(async () => emitAlerts({ notices: [notice("Platform k8s is down", { kind: "platform_down" }), notice("Pool meet exhausted", { key: "meet" })] }));
    expect(screen.getByTestId("alert-count")).toHaveTextContent("3");
    expect(bell()).toHaveAccessibleName("Alerts (3 new)");

    fireEvent.click(bell());
    const list = within(screen.getByRole("dialog", { name: "Alerts" })).getByRole("list", { name: "Alert list" });
    const titles = within(list).getAllByRole("listitem").map((li) => li.textContent);
    expect(titles[0]).toContain("Pool meet exhausted");
    expect(titles[1]).toContain("Platform k8s is down");
    expect(titles[2]).toContain("Pool zoom exhausted");
    expect(screen.queryByTestId("alert-count")).not.toBeInTheDocument();
    fireEvent.keyDown(bell(), { key: "Escape" });
    expect(screen.queryByRole("dialog", { name: "Alerts" })).not.toBeInTheDocument();
  });

  it("lists what the shell sent before the window listened, once", async () => {
    const early = notice("Pool zoom exhausted");
    mockApi.recentAlerts.mockResolvedValue([early, notice("Pool zoom back to normal", { raised: false, at: "2026-12-01T00:00:05Z" })]);
    renderApp(<AlertBell />);
    // The same batch live as well: not listed twice.
    await act(async () => emitAlerts({ notices: [early] }));
    fireEvent.click(bell());
    const items = within(screen.getByRole("list", { name: "Alert list" })).getAllByRole("listitem");
    expect(items.map((li) => li.textContent)).toEqual([
      expect.stringContaining("Pool zoom back to normal"),
      expect.stringContaining("Pool zoom exhausted"),
    ]);
  });

  it("keeps at most the newest hundred", () => {
    let list: Notice[] = [];
    for (let i = 0; i < MAX_NOTICES + 5; i++) list = addBatch(list, [notice(`n${i}`, { key: `p${i}` })]);
    expect(list).toHaveLength(MAX_NOTICES);
    expect(list[0]!.title).toBe(`n${MAX_NOTICES + 4}`);
  });
});

describe("the alert switches", () => {
  it("send every kind at start, then the choice, and remember it", async () => {
    const first = renderApp(<AlertBell />);
    expect(mockApi.setAlertKinds).toHaveBeenCalledWith(["exhausted", "platform_down", "slots_failing", "bots_expired"]);
    fireEvent.click(bell());
    const off = screen.getByRole("checkbox", { name: "Platform down" });
    expect(off).toBeChecked();
    fireEvent.click(off);
    expect(off).not.toBeChecked();
    expect(mockApi.setAlertKinds).toHaveBeenLastCalledWith(["exhausted", "slots_failing", "bots_expired"]);
    expect(loadKinds()).toEqual(["exhausted", "slots_failing", "bots_expired"]);

    // The next start sends the saved choice.
    first.unmount();
    mockApi.setAlertKinds.mockClear();
    renderApp(<AlertBell />);
    expect(mockApi.setAlertKinds).toHaveBeenCalledWith(["exhausted", "slots_failing", "bots_expired"]);
    fireEvent.click(bell());
    expect(screen.getByRole("checkbox", { name: "Platform down" })).not.toBeChecked();
  });

  it("start with every kind on when the saved choice is garbled", () => {
    localStorage.setItem("berth.alertKinds", "{not json");
    expect(loadKinds()).toHaveLength(4);
  });
});
