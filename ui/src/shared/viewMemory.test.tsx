// The app opens on its last view and gives each view back its scroll position.
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { App } from "../App";
import { makeSlots, queueSnapshot, rulesFixture, settingsFixture } from "../test/fixtures";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { initialView } from "./viewMemory";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

beforeEach(() => {
  resetMockApi();
  localStorage.clear();
  window.history.replaceState(null, "", "#");
  mockApi.poolStats.mockResolvedValue([]);
  mockApi.listSlots.mockResolvedValue(makeSlots(4));
  mockApi.queueEntries.mockResolvedValue({ ...queueSnapshot(Date.now()), entries: [] });
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.settingsRules.mockResolvedValue(rulesFixture());
  mockApi.settingsHistory.mockResolvedValue([]);
  mockApi.listDefinitions.mockResolvedValue({ directory: "/pools", definitions: [], problems: [] });
});

describe("the last view", () => {
  it("opens on the view the app was left on; an address naming a view wins", async () => {
    const first = renderApp(<App />);
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    fireEvent.click(screen.getByRole("tab", { name: "Settings" }));
    await screen.findByRole("heading", { level: 1, name: "Platform settings" });
    first.unmount();

    window.history.replaceState(null, "", "#");
    renderApp(<App />);
    expect(await screen.findByRole("heading", { level: 1, name: "Platform settings" })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Settings" })).toHaveAttribute("aria-selected", "true");

    window.history.replaceState(null, "", "#/pools");
    expect(initialView()).toBe("pools");
    localStorage.setItem("berth.lastView", "nonsense");
    window.history.replaceState(null, "", "#");
    expect(initialView()).toBe("dashboard");
  });

  it("gives each view back its scroll position", async () => {
    renderApp(<App />);
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    const root = screen.getByTestId("scroll-root");
    root.scrollTop = 340;
    fireEvent.scroll(root);
    await waitFor(() => expect(localStorage.getItem("berth.scroll.dashboard")).toBe("340"));

    fireEvent.click(screen.getByRole("tab", { name: "Pools" }));
    await screen.findByRole("heading", { level: 1, name: "Pools" });
    // Pools was never scrolled: it opens at the top.
    expect(root.scrollTop).toBe(0);

    fireEvent.click(screen.getByRole("tab", { name: "Pool dashboard" }));
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    expect(root.scrollTop).toBe(340);
    // Still saved after the restore (its own scroll events are not the user's).
    expect(localStorage.getItem("berth.scroll.dashboard")).toBe("340");
  });
});
