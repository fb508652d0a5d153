import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { ApiError } from "../../api/errors";
import { mockApi, resetMockApi } from "../../test/mockApi";
import { rulesFixture, settingsFixture } from "../../test/fixtures";
import { renderApp } from "../../test/render";
import { SettingsPage } from "../SettingsPage";

vi.mock("../../api/tauri", async () => (await import("../../test/mockApi")).tauriModule);

beforeEach(() => {
  resetMockApi();
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.settingsRules.mockResolvedValue(rulesFixture());
  mockApi.settingsHistory.mockResolvedValue([]);
});

const panel = async () => screen.findByRole("region", { name: "Priority tiers" });
const saveTiers = (p: HTMLElement) => within(p).getByRole("button", { name: "Save tiers" });

describe("Priority tiers on the Settings page", () => {
  it("shows the tiers and saves an edit as the whole tiers, alone", async () => {
    renderApp(<SettingsPage />);
    const p = await panel();
    expect(within(p).getByRole("textbox", { name: "Tier 3 max wait (ms)" })).toHaveValue("60000");
    expect(saveTiers(p)).toBeDisabled();
    fireEvent.change(within(p).getByRole("textbox", { name: "Tier 3 max wait (ms)" }), { target: { value: "120000" } });
    fireEvent.change(within(p).getByRole("combobox", { name: "Default tier" }), { target: { value: "batch" } });
    fireEvent.click(saveTiers(p));
    await waitFor(() =>
      expect(mockApi.saveSettings).toHaveBeenCalledWith({
        order: null,
        edits: [],
        globalQueueTimeoutMs: null,
        tiers: {
          tiers: [
            { name: "critical", priority: 10, maxWaitMs: null },
            { name: "standard", priority: 100, maxWaitMs: null },
            { name: "batch", priority: 500, maxWaitMs: 120_000 },
          ],
          defaultTier: "batch",
        },
      }),
    );
  });

  it("validates inline and sends nothing while a tier is invalid", async () => {
    renderApp(<SettingsPage />);
    const p = await panel();
    fireEvent.click(within(p).getByRole("button", { name: "Add tier" }));
    fireEvent.change(within(p).getByRole("textbox", { name: "Tier 4 name" }), { target: { value: "batch" } });
    fireEvent.change(within(p).getByRole("textbox", { name: "Tier 4 priority" }), { target: { value: "500" } });
    expect(within(p).getByText("batch is listed twice.")).toBeInTheDocument();
    expect(within(p).getByText("Each tier needs its own priority.")).toBeInTheDocument();
    expect(saveTiers(p)).toBeDisabled();
    fireEvent.click(within(p).getByRole("button", { name: "Remove tier 4" }));
    expect(saveTiers(p)).toBeDisabled();
    expect(mockApi.saveSettings).not.toHaveBeenCalled();
  });

  it("shows the core's refusal with its code", async () => {
    mockApi.saveSettings.mockRejectedValueOnce(new ApiError("config_invalid", "tiers[0].priority: must be from 0 to 1000, got 2000"));
    renderApp(<SettingsPage />);
    const p = await panel();
    fireEvent.change(within(p).getByRole("textbox", { name: "Tier 1 name" }), { target: { value: "urgent" } });
    fireEvent.change(within(p).getByRole("combobox", { name: "Default tier" }), { target: { value: "urgent" } });
    fireEvent.click(saveTiers(p));
    const alert = await within(p).findByText("tiers[0].priority: must be from 0 to 1000, got 2000");
    expect(alert.closest("[role=alert]")).toHaveTextContent("[config_invalid]");
  });
});
