// The window's close requests (issue 11, item 23): what the web view
// answers the shell, and what it tells the user first.
import { act, fireEvent, screen, within } from "@testing-library/react";
import { App } from "../App";
import type { CloseImpact } from "../api/types";
import { rulesFixture, settingsFixture } from "../test/fixtures";
import { emitCloseRequested, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { ClosePrompt } from "./ClosePrompt";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const impact = (over: Partial<CloseImpact> = {}): CloseImpact => ({
  queued: 290,
  scheduled: 0,
  active: 4,
  otherInstances: 0,
  embeddedDatabase: "stops",
  stopsDispatching: true,
  stopsStarting: false,
  ...over,
});

beforeEach(() => {
  resetMockApi();
  mockApi.answerClose.mockResolvedValue(null);
});

const prompt = () => screen.queryByRole("dialog", { name: "Close Berth?" });

async function request(i: CloseImpact | null) {
  await act(async () => emitCloseRequested({ impact: i }));
}

describe("closing the window", () => {
  it("says what stops when bots are queued and nobody else dispatches, and cancels", async () => {
    renderApp(<ClosePrompt />);
    await request(impact());
    expect(mockApi.answerClose).toHaveBeenCalledWith("asking");
    const dialog = prompt()!;
    const text = within(dialog).getByTestId("close-impact");
    expect(text).toHaveTextContent("290 bots are queued and no other Berth instance is running: closing stops dispatching them.");
    expect(text).toHaveTextContent("4 bots are deploying or running");
    expect(text).toHaveTextContent("The embedded database stops too.");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();

    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("cancel");
    expect(prompt()).not.toBeInTheDocument();
  });

  it("keeps dispatching in the background, or quits, as chosen", async () => {
    renderApp(<ClosePrompt />);
    await request(impact({ embeddedDatabase: "notEmbedded" }));
    expect(within(prompt()!).queryByText(/embedded database/)).not.toBeInTheDocument();
    fireEvent.click(within(prompt()!).getByRole("button", { name: "Keep dispatching in the background" }));
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("background");
    expect(prompt()).not.toBeInTheDocument();

    await request(impact({ embeddedDatabase: "keepsRunning" }));
    expect(within(prompt()!).getByText("The embedded database keeps running for the other clients that use it.")).toBeInTheDocument();
    fireEvent.click(within(prompt()!).getByRole("button", { name: "Quit" }));
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("quit");
  });

  it("quits without asking when nothing would be lost", async () => {
    renderApp(<ClosePrompt />);
    // Another instance dispatches the queued bots.
    await request(impact({ otherInstances: 1, stopsDispatching: false }));
    expect(mockApi.answerClose).toHaveBeenCalledWith("quit");
    expect(mockApi.answerClose).not.toHaveBeenCalledWith("asking");
    expect(prompt()).not.toBeInTheDocument();
    // The core does not run (or the database did not say).
    await request(null);
    expect(mockApi.answerClose).toHaveBeenCalledTimes(2);
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("quit");
  });

  it("asks when scheduled bots would have nobody to start them, without a background offer", async () => {
    renderApp(<ClosePrompt />);
    await request(impact({ queued: 0, scheduled: 3, stopsDispatching: false, stopsStarting: true }));
    expect(mockApi.answerClose).toHaveBeenCalledWith("asking");
    const dialog = prompt()!;
    expect(within(dialog).getByTestId("close-impact")).toHaveTextContent(
      "3 bots are scheduled and no other Berth instance is running: none is started while Berth is closed",
    );
    // Background mode waits for queued bots only: scheduled starts may be days away.
    expect(within(dialog).queryByRole("button", { name: "Keep dispatching in the background" })).not.toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("cancel");
  });

  it("asks when unsaved edits would be lost, even with nothing queued", async () => {
    mockApi.getSettings.mockResolvedValue(settingsFixture());
    mockApi.settingsRules.mockResolvedValue(rulesFixture());
    mockApi.settingsHistory.mockResolvedValue([]);
    window.history.replaceState(null, "", "#/settings");
    renderApp(<App />);
    fireEvent.change(await screen.findByRole("textbox", { name: "AWS bot limit" }), { target: { value: "120" } });
    await request(impact({ queued: 0, active: 0, stopsDispatching: false, embeddedDatabase: "notEmbedded" }));
    expect(mockApi.answerClose).toHaveBeenCalledWith("asking");
    const dialog = prompt()!;
    expect(within(dialog).getByTestId("close-impact")).toHaveTextContent("Unsaved changes in Settings are lost.");
    // Nothing queued: no background offer.
    expect(within(dialog).queryByRole("button", { name: "Keep dispatching in the background" })).not.toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Quit" }));
    expect(mockApi.answerClose).toHaveBeenLastCalledWith("quit");
  });
});
