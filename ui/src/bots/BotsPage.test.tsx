// The Bots view (issue 14): the filter it asks the core with, search by id,
// paging as the operator scrolls, a bot's timeline, bot ids linking to it
// from other views, and the keyboard (g b, /, j/k, Enter, Escape).
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { closeAction } from "../actions/store";
import { App } from "../App";
import { AuditLogPanel } from "../audit/AuditLogPanel";
import { DecisionTrace } from "../infrastructure/DecisionTrace";
import type { BotFilter } from "../bindings";
import { botPage, botRows, timeline } from "../test/bots";
import { makeSlots, queueSnapshot, settingsFixture } from "../test/fixtures";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { resetBotsQuery } from "./BotsPage";
import { PAGE_SIZE } from "./filter";
import { openBotId, resetBotStore } from "./store";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

// jsdom has no layout: give the scroll area a size (as in SlotsTable.test).
const SIZES = { offsetHeight: 480, clientHeight: 480, offsetWidth: 1200, clientWidth: 1200 };
beforeAll(() => {
  for (const [k, v] of Object.entries(SIZES)) Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
});
afterAll(() => {
  for (const k of Object.keys(SIZES)) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[k];
});

beforeEach(() => {
  resetMockApi();
  resetBotStore();
  resetBotsQuery();
  // A confirmation left open by a test would take the next test's keys.
  closeAction();
  localStorage.clear();
  mockApi.poolStats.mockResolvedValue([
    { pool: "pool-zoom", meetingPlatform: "zoom", total: 0, idle: 0, deploying: 0, busy: 0, error: 0, maxSize: 10 },
    { pool: "pool-teams", meetingPlatform: "microsoft-teams", total: 0, idle: 0, deploying: 0, busy: 0, error: 0, maxSize: 10 },
  ]);
  mockApi.listSlots.mockResolvedValue(makeSlots(6));
  mockApi.queueEntries.mockResolvedValue({ ...queueSnapshot(Date.now()), entries: [] });
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.bots.mockResolvedValue(botPage(botRows(30)));
  mockApi.botTimeline.mockImplementation(async (id: number) => timeline(id));
});

function renderAt(hash: string) {
  window.history.replaceState(null, "", hash);
  return { user: userEvent.setup(), ...renderApp(<App />) };
}
const lastFilter = (): BotFilter => mockApi.bots.mock.calls.at(-1)![0];
const rows = () => screen.getAllByTestId("bot-row");
const ids = () => rows().map((r) => Number(r.getAttribute("data-bot-id")));
const panel = () => screen.queryByTestId("bot-timeline");

describe("the bots list", () => {
  it("shows every bot newest first with reference 004's columns, the infrastructure, queue position and wait, and the total", async () => {
    // 30 rows of 1234 shown: the next page is asked for at once (it ends near the view).
    mockApi.bots.mockImplementation(async (f: BotFilter) => (f.before === null ? botPage(botRows(30), 1234, 4971) : botPage([], 1234, null)));
    renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBeGreaterThan(10));
    expect(screen.getByRole("heading", { level: 1, name: "Bots" })).toBeInTheDocument();
    expect(screen.getByTestId("bots-count")).toHaveTextContent("(30 of 1234 loaded)");
    expect(ids().slice(0, 3)).toEqual([5000, 4999, 4998]);
    const headers = screen.getAllByRole("columnheader").map((h) => h.textContent);
    expect(headers).toEqual(expect.arrayContaining(["Bot", "Status", "Pool", "Meeting", "Infra", "Slot", "Queue", "Wait", "Created"]));
    // #5000 is queued: position 1, waiting 1m 30s, no platform yet; #4999 runs on AWS.
    const first = within(rows()[0]!).getAllByRole("cell").map((c) => c.textContent);
    expect(first).toEqual(expect.arrayContaining(["#5000", "[QUEUED]", "#1", "1m 30s"]));
    expect(within(rows()[1]!).getByText("AWS")).toBeInTheDocument();
    expect(mockApi.bots.mock.calls[0]![0]).toEqual({ statuses: [], platforms: [], pools: [], since: null, until: null, search: null, before: null, limit: PAGE_SIZE });
  });

  it("asks with the filters picked: several statuses, a platform, a pool, a time range", async () => {
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await user.click(screen.getByRole("button", { name: /Status:/ }));
    const group = screen.getByRole("group", { name: "Bot status filter" });
    await user.click(within(group).getByRole("checkbox", { name: "FATAL" }));
    await user.click(within(group).getByRole("checkbox", { name: "QUEUED" }));
    await waitFor(() => expect(lastFilter().statuses).toEqual(["QUEUED", "FATAL"]));
    await user.selectOptions(screen.getByRole("combobox", { name: "Platform" }), "aws");
    await waitFor(() => expect(lastFilter().platforms).toEqual(["aws"]));
    await user.selectOptions(screen.getByRole("combobox", { name: "Pool" }), "pool-zoom");
    await waitFor(() => expect(lastFilter().pools).toEqual(["pool-zoom"]));
    const before = Date.now();
    await user.selectOptions(screen.getByRole("combobox", { name: "Created" }), "hour");
    await waitFor(() => expect(lastFilter().since).not.toBeNull());
    const since = Date.parse(lastFilter().since!);
    expect(since).toBeGreaterThanOrEqual(before - 3_600_000 - 50);
    expect(since).toBeLessThanOrEqual(Date.now() - 3_600_000);
    expect(lastFilter()).toMatchObject({ statuses: ["QUEUED", "FATAL"], platforms: ["aws"], pools: ["pool-zoom"], before: null });
    // Since a local time.
    await user.selectOptions(screen.getByRole("combobox", { name: "Created" }), "since");
    fireEvent.change(screen.getByLabelText("Created since"), { target: { value: "2026-01-15T09:30" } });
    await waitFor(() => expect(lastFilter().since).toBe(new Date(2026, 0, 15, 9, 30).toISOString()));
  });

  it("searches by id (`#123`) and by meeting URL, focused with `/`", async () => {
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    mockApi.bots.mockResolvedValue(botPage(botRows(1, 123)));
    await user.keyboard("/");
    const search = screen.getByRole("searchbox", { name: "Search bots" });
    expect(search).toHaveFocus();
    await user.keyboard("#123");
    await waitFor(() => expect(lastFilter().search).toBe("#123"));
    expect(lastFilter().before).toBeNull();
    await waitFor(() => expect(ids()).toEqual([123]));
    expect(screen.getByTestId("bots-count")).toHaveTextContent("(1)");
    await user.clear(search);
    await user.keyboard("zoom.us/j/4{Enter}");
    await waitFor(() => expect(lastFilter().search).toBe("zoom.us/j/4"));
    // Enter hands the keys back to the table.
    expect(search).not.toHaveFocus();
  });

  it("loads the next page with `before` = `nextBefore` as the operator scrolls, and only then", async () => {
    const first = botRows(PAGE_SIZE, 5000);
    const second = botRows(50, 5000 - PAGE_SIZE);
    mockApi.bots.mockImplementation(async (f: BotFilter) => (f.before === null ? botPage(first, 250, 4801) : botPage(second, 250, null)));
    renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBeGreaterThan(10));
    // Virtualised: a window of the 200 rows is in the page.
    expect(rows().length).toBeLessThan(60);
    expect(mockApi.bots).toHaveBeenCalledTimes(1);
    const root = screen.getByTestId("scroll-root");
    root.scrollTop = 170 * 32;
    fireEvent.scroll(root);
    await waitFor(() => expect(mockApi.bots).toHaveBeenCalledTimes(2));
    expect(lastFilter().before).toBe(4801);
    await waitFor(() => expect(screen.getByTestId("bots-count")).toHaveTextContent("(250)"));
    // No more pages: scrolling to the end asks nothing more.
    root.scrollTop = 250 * 32;
    fireEvent.scroll(root);
    await waitFor(() => expect(ids()).toContain(4751));
    expect(mockApi.bots).toHaveBeenCalledTimes(2);

    // Back at the top the lower pages go: a live refresh then asks for the first page only.
    root.scrollTop = 0;
    fireEvent.scroll(root);
    await waitFor(() => expect(screen.getByTestId("bots-count")).toHaveTextContent("(200 of 250 loaded)"));
    emitChange({ kind: "changed", topics: ["bots"], message: null, slotIds: null });
    await waitFor(() => expect(mockApi.bots).toHaveBeenCalledTimes(3));
    expect(lastFilter().before).toBeNull();
    // Scrolling down again asks for the next page again.
    root.scrollTop = 170 * 32;
    fireEvent.scroll(root);
    await waitFor(() => expect(mockApi.bots).toHaveBeenCalledTimes(4));
    expect(lastFilter().before).toBe(4801);
  });
});

describe("a bot's timeline", () => {
  it("shows its states with times and durations, its decision trace, slot, platform, account, actions and redeploys", async () => {
    mockApi.bots.mockResolvedValue(botPage(botRows(3, 42)));
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBe(3));
    await user.click(rows()[0]!);
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(42));
    const t = await screen.findByTestId("bot-timeline");
    // The table makes room: the columns the timeline shows for the open bot go.
    expect(screen.getAllByRole("columnheader").map((h) => h.textContent)).not.toContain("Created");
    // Every row has one cell per header left (a cell left behind wrapped the row).
    const headers = screen.getAllByRole("columnheader").length;
    for (const row of rows()) expect(within(row).getAllByRole("cell")).toHaveLength(headers);
    await within(t).findByText("[IN_CALL]", { selector: "[data-testid=bot-event] *" });
    const events = within(t).getAllByTestId("bot-event");
    expect(events.map((e) => e.getAttribute("data-status"))).toEqual(["QUEUED", "DEPLOYING", "IN_CALL"]);
    // Queued for 1m 30s, deploying for 30s; the last state lasts until now.
    expect(events[0]).toHaveTextContent("1m 30s");
    expect(events[1]).toHaveTextContent("30s");
    expect(events[1]).toHaveTextContent("slot pool-zoom-007");
    expect(events[2]).toHaveTextContent("for");
    const trace = within(t).getByTestId("trace");
    expect(within(trace).getAllByRole("listitem").map((li) => li.querySelector("[data-decision]")?.getAttribute("data-decision"))).toEqual(["full", "deployed"]);
    expect(trace).toHaveTextContent("limit 100/100");
    expect(within(t).getByTestId("bot-slot")).toHaveTextContent("pool-zoom-007");
    expect(within(t).getByTestId("bot-platform")).toHaveTextContent("K8s");
    expect(within(t).getByTestId("bot-account")).toHaveTextContent("zoom-user-17@acme.test (17)");
    expect(within(t).getByTestId("bot-account")).toHaveTextContent("held");
    const actions = within(t).getAllByTestId("bot-action");
    expect(actions).toHaveLength(1);
    expect(actions[0]).toHaveTextContent("bot.priority by desktop:maria");
    expect(actions[0]).toHaveTextContent("vip customer");
    // The redeploy links open those bots here.
    expect(within(t).getByRole("button", { name: "Open bot #77" })).toBeInTheDocument();
    await user.click(within(t).getByRole("button", { name: "Open bot #41" }));
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(41));
    expect(within(screen.getByTestId("bot-timeline")).getByRole("heading", { name: "Bot #41" })).toBeInTheDocument();
  });

  it("offers the bot's actions for its status: a running bot can be cancelled", async () => {
    mockApi.bots.mockResolvedValue(botPage(botRows(3, 42)));
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBe(3));
    await user.click(rows()[0]!);
    const t = await screen.findByTestId("bot-timeline");
    await user.click(await within(t).findByRole("button", { name: "Actions for bot #42" }));
    expect(screen.getAllByRole("menuitem").map((m) => m.textContent)).toEqual(["Cancel"]);
    await user.click(screen.getByRole("menuitem", { name: "Cancel" }));
    expect(await screen.findByRole("dialog", { name: /Cancel bot #42/ })).toBeInTheDocument();
  });

  it("says so when the bot does not exist", async () => {
    mockApi.botTimeline.mockRejectedValue({ code: "not_found", message: "no bot #42" });
    mockApi.bots.mockResolvedValue(botPage(botRows(1, 42)));
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBe(1));
    await user.click(rows()[0]!);
    expect(await within(screen.getByTestId("bot-timeline")).findByText(/Could not load bot #42/)).toBeInTheDocument();
  });
});

describe("bot ids link to the bot", () => {
  it("from the slots table: the Bots view opens with that bot's timeline", async () => {
    const { user } = renderAt("#/dashboard");
    const link = await screen.findByRole("button", { name: "Open bot #1002" });
    await user.click(link);
    expect(screen.getByRole("tab", { name: "Bots" })).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(1002));
    expect(await screen.findByTestId("bot-timeline")).toHaveAccessibleName("Bot #1002");
  });

  it("from the global queue, beside the trace it selects", async () => {
    mockApi.queueEntries.mockResolvedValue(queueSnapshot(Date.now()));
    mockApi.platformsOverview.mockResolvedValue({ now: new Date().toISOString(), platforms: [], globalQueued: 0, globalQueueTimeoutMs: 1000, globalQueueTimeoutPinnedBy: null });
    const { user } = renderAt("#/infrastructure");
    await user.click(await screen.findByRole("button", { name: "Open bot #789" }));
    expect(screen.getByRole("tab", { name: "Bots" })).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(789));
  });

  it("from the audit log's target and the decision trace", async () => {
    mockApi.auditLog.mockResolvedValue(timeline(42).actions);
    mockApi.botDetails.mockResolvedValue({ ...timeline(789).bot, queueTimeoutMs: 1000, decisionTrace: [], endedAt: null, redeployOf: null, startAt: null });
    renderApp(
      <>
        <AuditLogPanel />
        <DecisionTrace botId={789} onClose={() => {}} />
      </>,
    );
    // Without the app's shell a link only opens the bot (the Bots view shows it when there).
    fireEvent.click(await screen.findByRole("button", { name: "Open bot #42" }));
    expect(openBotId()).toBe(42);
    fireEvent.click(await screen.findByRole("button", { name: "Open bot #789" }));
    expect(openBotId()).toBe(789);
  });
});

describe("the keyboard", () => {
  it("g b switches to Bots; j/k move, Enter opens, Escape closes the timeline, then clears the highlight", async () => {
    const { user } = renderAt("#/dashboard");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await user.keyboard("gb");
    expect(await screen.findByRole("heading", { level: 1, name: "Bots" })).toBeInTheDocument();
    await waitFor(() => expect(rows().length).toBeGreaterThan(3));
    await user.keyboard("jjjk");
    expect(rows()[1]).toHaveAttribute("data-cursor", "true");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(4999));
    expect(panel()).toHaveAccessibleName("Bot #4999");
    // The keyboard is in the timeline: Tab reaches its controls.
    expect(within(panel()!).getByRole("heading", { name: "Bot #4999" })).toHaveFocus();
    expect(rows()[1]).toHaveAttribute("aria-selected", "true");
    await user.keyboard("{Escape}");
    expect(panel()).not.toBeInTheDocument();
    expect(rows()[1]).toHaveAttribute("data-cursor", "true");
    await user.keyboard("{Escape}");
    expect(rows().some((r) => r.getAttribute("data-cursor") === "true")).toBe(false);
  });

  it("the palette opens the highlighted bot, and finds a bot from any view", async () => {
    const { user } = renderAt("#/bots");
    await waitFor(() => expect(rows().length).toBeGreaterThan(3));
    await user.keyboard("jj{Control>}k{/Control}open bot #4999{Enter}");
    await waitFor(() => expect(mockApi.botTimeline).toHaveBeenCalledWith(4999));
    await user.keyboard("{Escape}gd");
    await screen.findByRole("heading", { level: 1, name: "Pool Management" });
    await user.keyboard("{Control>}k{/Control}open bot…{Enter}");
    expect(await screen.findByRole("heading", { level: 1, name: "Bots" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("searchbox", { name: "Search bots" })).toHaveFocus());
  });
});
