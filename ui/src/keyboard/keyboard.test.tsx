// The keyboard (issue 14): the command palette, `/`, `g` + letter, j/k and
// Enter in tables, `?` and Escape — over the whole app, without the mouse.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "../App";
import type { DefinitionList } from "../api/types";
import { detail, row, validate, yaml } from "../test/definitions";
import { makeSlots, queueSnapshot, rulesFixture, settingsFixture } from "../test/fixtures";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { intentOf, isTyping } from "./keys";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const LIST: DefinitionList = {
  directory: "/pools",
  definitions: [row("zoom", { state: "applied", version: 1 }), row("meet", { state: "notApplied" }), row("teams", { state: "notApplied" })],
  problems: [],
};

beforeEach(() => {
  resetMockApi();
  localStorage.clear();
  mockApi.poolStats.mockResolvedValue([]);
  mockApi.listSlots.mockResolvedValue(makeSlots(6));
  mockApi.queueEntries.mockResolvedValue({ ...queueSnapshot(Date.now()), entries: [] });
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.settingsRules.mockResolvedValue(rulesFixture());
  mockApi.settingsHistory.mockResolvedValue([]);
  mockApi.listDefinitions.mockResolvedValue(LIST);
  mockApi.validateDefinition.mockImplementation(validate);
  mockApi.getDefinition.mockImplementation(async (name: string) => detail(name, yaml(name, 5), null, { state: "notApplied" }));
});

function renderAt(hash: string) {
  window.history.replaceState(null, "", hash);
  return { user: userEvent.setup(), ...renderApp(<App />) };
}
const tab = (name: string) => screen.getByRole("tab", { name });
const palette = () => screen.queryByRole("dialog", { name: "Command palette" });

describe("command palette", () => {
  it("opens on Ctrl+K, runs a navigation by name, and closes on Escape", async () => {
    const { user } = renderAt("#/dashboard");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await user.keyboard("{Control>}k{/Control}");
    const dialog = palette()!;
    expect(dialog).toBeInTheDocument();
    // Every view is listed with its `g` letter.
    expect(within(dialog).getByRole("option", { name: /Go to Settings\s*g s/ })).toBeInTheDocument();
    expect(within(dialog).queryByRole("option", { name: /Go to Pool dashboard/ })).not.toBeInTheDocument();
    await user.keyboard("infrastr");
    await user.keyboard("{Enter}");
    expect(palette()).not.toBeInTheDocument();
    expect(await screen.findByRole("heading", { level: 1, name: "Infrastructure" })).toBeInTheDocument();
    expect(tab("Infrastructure")).toHaveAttribute("aria-selected", "true");

    await user.keyboard("{Meta>}k{/Meta}");
    expect(palette()).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(palette()).not.toBeInTheDocument();
  });

  it("runs a view's actions: deploy bots into an applied pool, open a definition", async () => {
    const { user } = renderAt("#/pools");
    await screen.findByRole("button", { name: "zoom" });
    await user.keyboard("{Control>}k{/Control}");
    // Only the applied pool can take bots.
    expect(within(palette()!).queryByRole("option", { name: /Deploy bots into meet/ })).not.toBeInTheDocument();
    await user.keyboard("deploy bots into zoom{Enter}");
    expect(await screen.findByRole("dialog", { name: "Deploy bots to zoom" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog", { name: "Deploy bots to zoom" })).not.toBeInTheDocument();

    await user.keyboard("{Control>}k{/Control}open definition meet{Enter}");
    expect(await screen.findByRole("heading", { level: 2, name: "meet" })).toBeInTheDocument();
    // The editor's buttons are commands too, disabled with the reason.
    await user.keyboard("{Control>}k{/Control}accounts of meet");
    const refresh = within(palette()!).getByRole("option", { name: /Refresh the accounts of meet/ });
    expect(refresh).toHaveAttribute("aria-disabled", "true");
    expect(refresh).toHaveTextContent("no account source");
    await user.keyboard("{Escape}");
    await user.keyboard("{Control>}k{/Control}test meet");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(mockApi.testDefinition).toHaveBeenCalledWith(yaml("meet", 5)));
  });

  it("refreshes every query from the palette", async () => {
    const { user } = renderAt("#/dashboard");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await waitFor(() => expect(mockApi.poolStats).toHaveBeenCalledTimes(1));
    await user.keyboard("{Control>}k{/Control}refresh all{Enter}");
    await waitFor(() => expect(mockApi.poolStats).toHaveBeenCalledTimes(2));
  });
});

describe("commands about another view", () => {
  it("switch to it and do it there: deploy into a pool, a waiting bot's trace", async () => {
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    const { user } = renderAt("#/dashboard");
    await screen.findByTestId("queue-section");
    await user.keyboard("{Control>}k{/Control}");
    // Only the applied pool takes bots.
    await waitFor(() => expect(within(palette()!).getByRole("option", { name: /Deploy bots into zoom/ })).toBeInTheDocument());
    expect(within(palette()!).queryByRole("option", { name: /Deploy bots into meet/ })).not.toBeInTheDocument();
    await user.keyboard("deploy bots into zoom{Enter}");
    expect(await screen.findByRole("dialog", { name: "Deploy bots to zoom" })).toBeInTheDocument();
    expect(tab("Pools")).toHaveAttribute("aria-selected", "true");
    await user.keyboard("{Escape}");

    await user.keyboard("{Control>}k{/Control}trace of bot #789{Enter}");
    await screen.findByRole("heading", { level: 1, name: "Infrastructure" });
    await waitFor(() => expect(mockApi.botDetails).toHaveBeenCalledWith(789));
    // Once: coming back later shows no trace asked for before.
    await user.keyboard("gdgi");
    await screen.findByRole("heading", { level: 1, name: "Infrastructure" });
    expect(mockApi.botDetails).toHaveBeenCalledTimes(1);
  });

  it("do nothing when the switch is cancelled over unsaved edits", async () => {
    const { user } = renderAt("#/settings");
    const limit = await screen.findByRole("textbox", { name: "AWS bot limit" });
    await user.clear(limit);
    await user.type(limit, "120");
    limit.blur();
    await user.keyboard("{Control>}k{/Control}open definition meet{Enter}");
    const leave = await screen.findByRole("dialog", { name: "Discard unsaved changes?" });
    await user.click(within(leave).getByRole("button", { name: "Cancel" }));
    expect(tab("Settings")).toHaveAttribute("aria-selected", "true");
    // Visiting Pools later opens no editor.
    await user.keyboard("gp");
    await user.click(within(await screen.findByRole("dialog", { name: "Discard unsaved changes?" })).getByRole("button", { name: "Discard changes" }));
    await screen.findByRole("button", { name: "meet" });
    expect(screen.queryByRole("heading", { level: 2, name: "meet" })).not.toBeInTheDocument();
  });
});

describe("settings from the palette", () => {
  it("moves, disables and saves without the mouse; first-in-order cannot move up", async () => {
    mockApi.saveSettings.mockResolvedValue(settingsFixture());
    const { user } = renderAt("#/settings");
    await screen.findByRole("textbox", { name: "AWS bot limit" });
    await user.keyboard("{Control>}k{/Control}move k8s up");
    expect(within(palette()!).getByRole("option", { name: /Move K8s up/ })).toHaveTextContent("already first");
    await user.keyboard("{Escape}");
    await user.keyboard("{Control>}k{/Control}move aws up{Enter}");
    await user.keyboard("{Control>}k{/Control}disable aws{Enter}");
    expect(screen.getByRole("switch", { name: "AWS enabled" })).not.toBeChecked();
    await user.keyboard("{Control>}k{/Control}save settings{Enter}");
    await waitFor(() =>
      expect(mockApi.saveSettings).toHaveBeenCalledWith({ order: ["aws", "k8s", "coolify"], edits: [{ platform: "aws", edit: { enabled: false } }], globalQueueTimeoutMs: null }),
    );
  });
});

describe("shortcuts", () => {
  it("g then a letter switches views; typing in a field never does", async () => {
    const { user } = renderAt("#/dashboard");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await user.keyboard("gs");
    expect(await screen.findByRole("heading", { level: 1, name: "Platform settings" })).toBeInTheDocument();
    await user.keyboard("gp");
    expect(await screen.findByRole("heading", { level: 1, name: "Pools" })).toBeInTheDocument();
    await user.keyboard("gd");
    const search = await screen.findByRole("searchbox", { name: "Search slots" });
    // `/` focuses the view's search; `g s` typed there is text.
    await user.keyboard("/");
    expect(search).toHaveFocus();
    await user.keyboard("gs");
    expect(search).toHaveValue("gs");
    expect(tab("Pool dashboard")).toHaveAttribute("aria-selected", "true");
  });

  it("j/k move the row highlight and Enter opens the row", async () => {
    const { user } = renderAt("#/pools");
    await screen.findByRole("button", { name: "zoom" });
    const marked = () => document.querySelectorAll("[data-cursor='true']");
    expect(marked()).toHaveLength(0);
    await user.keyboard("j");
    expect(marked()[0]).toHaveAttribute("data-testid", "definition-zoom");
    await user.keyboard("jjj");
    // Stops at the last row.
    expect(marked()[0]).toHaveAttribute("data-testid", "definition-teams");
    await user.keyboard("k");
    expect(marked()[0]).toHaveAttribute("data-testid", "definition-meet");
    await user.keyboard("{Enter}");
    expect(await screen.findByRole("heading", { level: 2, name: "meet" })).toBeInTheDocument();
    // Escape clears the highlight.
    (document.activeElement as HTMLElement).blur();
    await user.keyboard("{Escape}");
    expect(marked()).toHaveLength(0);
  });

  it("? lists the shortcuts with the view letters; Escape closes it", async () => {
    const { user } = renderAt("#/dashboard");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await user.keyboard("?");
    const help = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    expect(help).toHaveTextContent("g i");
    expect(help).toHaveTextContent("Go to Infrastructure");
    expect(help).toHaveTextContent("Command palette");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog", { name: "Keyboard shortcuts" })).not.toBeInTheDocument();
  });
});

describe("/ in every view with a list", () => {
  it("focuses the Pools filter, which narrows the table; on Infrastructure the queue's filter", async () => {
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    const { user } = renderAt("#/pools");
    await screen.findByRole("button", { name: "zoom" });
    await user.keyboard("/");
    const filter = screen.getByRole("searchbox", { name: "Filter pools" });
    expect(filter).toHaveFocus();
    await user.keyboard("mee");
    expect(screen.getByRole("button", { name: "meet" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "zoom" })).not.toBeInTheDocument();
    // j/k walk the rows left.
    // Escape leaves the filter: the shortcuts work again.
    await user.keyboard("{Escape}");
    expect(filter).not.toHaveFocus();
    await user.keyboard("j{Enter}");
    expect(await screen.findByRole("heading", { level: 2, name: "meet" })).toBeInTheDocument();

    await user.keyboard("gi");
    await screen.findByRole("heading", { level: 1, name: "Infrastructure" });
    await user.keyboard("/");
    expect(screen.getByRole("searchbox", { name: "Filter the queue" })).toHaveFocus();
    await user.keyboard("789");
    expect(screen.getByRole("region", { name: "Global queue" })).toHaveTextContent("(1 of 2)");
  });
});

describe("the actions on the highlighted row", () => {
  it("are listed for the slot under the cursor, named after it, and run with it after a confirmation; Enter on a slot opens the palette", async () => {
    mockApi.slotAction.mockResolvedValue([{ slot: "pool-zoom-00002", done: { status: "idle", draining: false, endedBot: null }, error: null }]);
    const { user } = renderAt("#/dashboard");
    await screen.findByTestId("slots-count");
    await waitFor(() => expect(screen.getByTestId("slots-count")).toHaveTextContent("(6)"));
    // No row highlighted: no slot action.
    await user.keyboard("{Control>}k{/Control}restart");
    expect(within(palette()!).queryByRole("option", { name: /Restart pool/ })).not.toBeInTheDocument();
    await user.keyboard("{Escape}");

    await user.keyboard("jj{Enter}");
    expect(palette()).toBeInTheDocument();
    // The highlighted slot's actions come first (recover only for a slot in error).
    const first = within(palette()!).getAllByRole("option").slice(0, 4).map((o) => o.textContent);
    expect(first).toEqual(["Copy the UUID of pool-zoom-00002", "Restart pool-zoom-00002", "Drain pool-zoom-00002", "Delete pool-zoom-00002"]);
    expect(within(palette()!).queryByRole("option", { name: /Undrain|Recover now/ })).not.toBeInTheDocument();
    await user.keyboard("restart{Enter}");
    const dialog = await screen.findByRole("dialog", { name: "Restart pool-zoom-00002?" });
    expect(mockApi.slotAction).not.toHaveBeenCalled();
    await user.type(within(dialog).getByRole("textbox", { name: "Reason" }), "stuck{Enter}");
    await waitFor(() => expect(mockApi.slotAction).toHaveBeenCalledWith("restart", ["pool-zoom-00002"], false, "stuck"));
    await waitFor(() => expect(screen.queryByRole("dialog", { name: /Restart/ })).not.toBeInTheDocument());
  });

  it("list a queued bot's cancel, priority, re-route and redeploy, and change its priority without the mouse", async () => {
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    mockApi.platformsOverview.mockResolvedValue({ platforms: [], globalQueueTimeoutMs: 1000, globalQueueTimeoutPinnedBy: null } as never);
    mockApi.setBotPriority.mockResolvedValue({ botId: 789, from: 100, to: 5, position: 1 } as never);
    const { user } = renderAt("#/infrastructure");
    await screen.findByRole("region", { name: "Global queue" });
    // The queue's rows are virtualised (jsdom lays out none of them): wait for its count; j highlights the first by index.
    await waitFor(() => expect(screen.getByRole("region", { name: "Global queue" })).toHaveTextContent("(2)"));
    await user.keyboard("j{Control>}k{/Control}");
    const titles = within(palette()!).getAllByRole("option").map((o) => o.textContent ?? "");
    for (const t of ["Cancel bot #", "Change priority of bot #", "Re-route bot #", "Deploy again bot #"]) expect(titles.some((x) => x.startsWith(t))).toBe(true);
    await user.keyboard("change priority{Enter}");
    const dialog = await screen.findByRole("dialog", { name: /Change priority of bot #\d+\?/ });
    await user.type(within(dialog).getByRole("spinbutton", { name: "Priority" }), "5");
    await user.type(within(dialog).getByRole("textbox", { name: "Reason" }), "vip{Enter}");
    await waitFor(() => expect(mockApi.setBotPriority).toHaveBeenCalledWith(expect.any(Number), 5, "vip"));
  });
});

describe("intentOf", () => {
  const key = (k: string, target: EventTarget | null = document.body, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
    intentOf({ key: k, ctrlKey: false, metaKey: false, altKey: false, target, ...mods }, false);

  it("ignores shortcuts while typing, except Escape and Ctrl/Cmd+K", () => {
    const area = document.createElement("textarea");
    const editable = document.createElement("div");
    editable.setAttribute("contenteditable", "true");
    document.body.append(area, editable);
    for (const t of [area, editable]) {
      expect(isTyping(t)).toBe(true);
      expect(key("j", t)).toBeNull();
      expect(key("/", t)).toBeNull();
      expect(key("Escape", t)).toEqual({ kind: "escape" });
      expect(key("k", t, { ctrlKey: true })).toEqual({ kind: "palette" });
    }
    const box = document.createElement("input");
    box.type = "checkbox";
    expect(isTyping(box)).toBe(false);
    expect(key("j", box)).toEqual({ kind: "move", delta: 1 });
  });

  it("leaves Enter to buttons and links", () => {
    const button = document.createElement("button");
    expect(key("Enter", button)).toBeNull();
    expect(key("Enter")).toEqual({ kind: "open" });
  });
});

describe("matchScore", () => {
  it("ranks a title starting with the search first, then containing it, then having every word; else hides", async () => {
    const { matchScore } = await import("./CommandPalette");
    expect(matchScore("x", "test", ["Test meet"])).toBe(1);
    expect(matchScore("x", "meet", ["Test meet"])).toBe(0.8);
    expect(matchScore("x", "meet test", ["Test meet"])).toBe(0.5);
    expect(matchScore("x", "clipboard", ["Copy the UUID", "clipboard"])).toBe(0.5);
    // "test meet" is not a fuzzy match of "Open definition teams".
    expect(matchScore("x", "test meet", ["Open definition teams", "edit", "teams.yaml"])).toBe(0);
    expect(matchScore("x", "", ["anything"])).toBe(1);
  });
});
