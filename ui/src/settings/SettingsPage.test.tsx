import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { ApiError } from "../api/errors";
import { mockApi, resetMockApi } from "../test/mockApi";
import { rulesFixture, settingsFixture } from "../test/fixtures";
import { renderApp } from "../test/render";
import { SettingsPage } from "./SettingsPage";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

beforeEach(() => {
  resetMockApi();
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.settingsRules.mockResolvedValue(rulesFixture());
  mockApi.settingsHistory.mockResolvedValue([
    { id: 1, subject: "platform:aws", field: "botLimit", oldValue: "80", newValue: "100", changedBy: "desktop:maria", at: new Date().toISOString() },
  ]);
});

const input = (name: string) => screen.getByRole("textbox", { name });
const save = () => screen.getByRole("button", { name: "Save changes" });

describe("SettingsPage", () => {
  it("validates inline before saving and sends nothing while invalid", async () => {
    renderApp(<SettingsPage />);
    const limit = await screen.findByRole("textbox", { name: "AWS bot limit" });

    fireEvent.change(limit, { target: { value: "0" } });
    expect(screen.getByText("Limit must be from 1 to 100,000.")).toBeInTheDocument();
    expect(limit).toHaveAttribute("aria-invalid", "true");
    expect(save()).toBeDisabled();

    fireEvent.change(limit, { target: { value: "12.5" } });
    expect(screen.getByText("Limit must be a whole number (1 to 100,000).")).toBeInTheDocument();
    fireEvent.change(limit, { target: { value: "100001" } });
    expect(screen.getByText("Limit must be from 1 to 100,000.")).toBeInTheDocument();

    fireEvent.change(input("AWS queue timeout"), { target: { value: "3600001" } });
    expect(screen.getByText("Queue timeout must be from 0 to 3,600,000 ms.")).toBeInTheDocument();
    fireEvent.change(input("Global queue timeout"), { target: { value: "999" } });
    expect(screen.getByText("Global queue timeout must be from 1,000 to 3,600,000 ms.")).toBeInTheDocument();

    fireEvent.submit(screen.getByRole("form", { name: "Platform settings" }));
    expect(save()).toBeDisabled();
    expect(mockApi.saveSettings).not.toHaveBeenCalled();
  });

  it("shows env-pinned fields read-only with the variable's name", async () => {
    renderApp(<SettingsPage />);
    const k8s = await screen.findByRole("textbox", { name: "K8s bot limit" });
    expect(k8s).toHaveAttribute("readonly");
    expect(k8s).toHaveValue("30");
    expect(within(screen.getByTestId("settings-k8s")).getByText("K8S_BOT_LIMIT")).toBeInTheDocument();
    expect(input("K8s queue timeout")).not.toHaveAttribute("readonly");
    expect(input("AWS bot limit")).not.toHaveAttribute("readonly");
  });

  it("saves only what changed as one plan, in one command, and shows typed errors", async () => {
    mockApi.saveSettings.mockRejectedValueOnce(new ApiError("config_invalid", "botLimit must be at least the bots running (120)"));
    renderApp(<SettingsPage />);
    fireEvent.change(await screen.findByRole("textbox", { name: "AWS bot limit" }), { target: { value: "120" } });
    fireEvent.click(screen.getByRole("button", { name: "Move AWS up" }));
    fireEvent.click(save());

    await waitFor(() =>
      expect(mockApi.saveSettings).toHaveBeenCalledWith({
        order: ["aws", "k8s", "coolify"],
        edits: [{ platform: "aws", edit: { botLimit: 120 } }],
        globalQueueTimeoutMs: null,
      }),
    );
    expect(mockApi.saveSettings).toHaveBeenCalledTimes(1);
    const alert = await screen.findByText("botLimit must be at least the bots running (120)");
    expect(alert.closest("[role=alert]")).toHaveTextContent("[config_invalid]");
    // The draft stays, so the administrator can fix it and save again.
    expect(input("AWS bot limit")).toHaveValue("120");
  });

  it("sends every unticked platform in the same save, so a refusal leaves all of them as they were", async () => {
    mockApi.saveSettings.mockRejectedValueOnce(
      new ApiError("config_invalid", "enabled: at least one enabled platform needs a limit; this change would leave none"),
    );
    renderApp(<SettingsPage />);
    for (const label of ["K8s", "AWS", "Coolify"]) {
      const toggle = await screen.findByRole("switch", { name: `${label} enabled` });
      if ((toggle as HTMLInputElement).checked) fireEvent.click(toggle);
    }
    fireEvent.click(save());
    expect(await screen.findByText("Settings were not saved")).toBeInTheDocument();
    expect(mockApi.saveSettings).toHaveBeenCalledTimes(1);
    const plan = mockApi.saveSettings.mock.calls[0]![0];
    expect((plan.edits ?? []).map((e) => [e.platform, e.edit.enabled])).toEqual(
      settingsFixture()
        .platforms.filter((p) => p.enabled)
        .map((p) => [p.platform, false]),
    );
  });

  it("lists the change history", async () => {
    renderApp(<SettingsPage />);
    expect(await screen.findByText("aws.botLimit")).toBeInTheDocument();
    expect(screen.getByText("by desktop:maria")).toBeInTheDocument();
  });

  it("fits a 1024x700 window: one column below 1280 px, Save sticky at the bottom of the scroll area", async () => {
    // jsdom lays nothing out: this checks the classes that do it.
    renderApp(<SettingsPage />);
    await screen.findByRole("textbox", { name: "AWS bot limit" });
    const layout = screen.getByTestId("settings-layout");
    expect(layout).toHaveClass("grid-cols-1");
    expect(layout.className).toMatch(/(^| )xl:grid-cols-/);
    expect(layout.className).not.toMatch(/(^| )grid-cols-\[/);
    const bar = screen.getByTestId("settings-save-bar");
    expect(bar).toHaveClass("sticky", "bottom-0");
    expect(within(bar).getByRole("button", { name: "Save changes" })).toBeInTheDocument();
  });
});
