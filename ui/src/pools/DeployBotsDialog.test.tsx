import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { ApiError } from "../api/errors";
import type { AccountRefresh, DefinitionList, DeployRequest } from "../api/types";
import { detail, row, summary, validate, yaml } from "../test/definitions";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { deployFormProblems } from "./DeployBotsDialog";
import { EMPTY_DEPLOY_FORM } from "./deploy/useDeployForm";
import { PoolsPage } from "./PoolsPage";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const REFRESHED: AccountRefresh = { name: "zoom", added: 3, kept: 39, removed: 1, truncated: false, stats: { available: 42, inUse: 0, completed: 0, failed: 0 } };

/** zoom: SQL source re-read every 30 s, last read 10 min ago (stale); fresh: read 5 s ago; teams: no source; meet: never applied. */
function list(): DefinitionList {
  const sql = summary("zoom", 5, "sql");
  return {
    directory: "/pools",
    definitions: [
      row("zoom", { state: "applied", version: 3 }, { summary: sql, accounts: { available: 42, inUse: 0, completed: 0, failed: 0 }, lastRefresh: ago(600_000) }),
      row("fresh", { state: "applied", version: 1 }, { summary: { ...sql, name: "fresh" }, accounts: { available: 9, inUse: 0, completed: 0, failed: 0 }, lastRefresh: ago(5_000) }),
      row("teams", { state: "pending", version: 1 }),
      row("meet", { state: "notApplied" }),
    ],
    problems: [],
  };
}

let calls: string[];

beforeEach(() => {
  resetMockApi();
  calls = [];
  mockApi.listDefinitions.mockResolvedValue(list());
  mockApi.validateDefinition.mockImplementation(validate);
  mockApi.refreshAccounts.mockImplementation(async (name: string) => {
    calls.push(`refresh ${name}`);
    await new Promise((r) => setTimeout(r, 20));
    calls.push(`refreshed ${name}`);
    return REFRESHED;
  });
  mockApi.deployBots.mockImplementation(async (r: DeployRequest) => {
    calls.push(`deploy ${r.pool} ${r.count}`);
    return { botIds: Array.from({ length: r.count }, (_, i) => 500 + i), deployed: Math.min(3, r.count), queued: Math.max(0, r.count - 3), scheduled: 0 };
  });
});

/** Opens the deploy dialog from `pool`'s row and fills it in. */
async function deploy(pool: string, count: string, extra: { priority?: string } = {}) {
  const row = await screen.findByTestId(`definition-${pool}`);
  fireEvent.click(within(row).getByRole("button", { name: "Deploy bots" }));
  const dialog = screen.getByRole("dialog", { name: `Deploy bots to ${pool}` });
  expect(within(dialog).getByRole("textbox", { name: "Pool" })).toHaveValue(pool);
  fireEvent.change(within(dialog).getByRole("textbox", { name: "Meeting URL" }), { target: { value: " https://zoom.us/j/123 " } });
  fireEvent.change(within(dialog).getByRole("spinbutton", { name: "Count" }), { target: { value: count } });
  if (extra.priority !== undefined) fireEvent.change(within(dialog).getByRole("spinbutton", { name: "Priority (optional)" }), { target: { value: extra.priority } });
  return dialog;
}

const prompt = () => screen.queryByRole("dialog", { name: "Refresh before deploying?" });

describe("Deploy bots", () => {
  it("is offered for applied pools only, in the list and in the editor", async () => {
    mockApi.getDefinition.mockImplementation(async (name: string) =>
      detail(name, yaml(name, 5), name === "meet" ? null : yaml(name, 5), name === "meet" ? { state: "notApplied" } : { state: "applied", version: 3 }),
    );
    renderApp(<PoolsPage />);
    for (const pool of ["zoom", "fresh", "teams"]) {
      expect(within(await screen.findByTestId(`definition-${pool}`)).getByRole("button", { name: "Deploy bots" })).toBeInTheDocument();
    }
    expect(within(screen.getByTestId("definition-meet")).queryByRole("button", { name: "Deploy bots" })).not.toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "meet" }));
    const editor = await screen.findByRole("region", { name: "Definition editor" });
    await within(editor).findByRole("textbox", { name: "Definition YAML" });
    expect(within(editor).queryByRole("button", { name: "Deploy bots" })).not.toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "zoom" }));
    await waitFor(() => expect(within(screen.getByRole("region", { name: "Definition editor" })).getByRole("heading")).toHaveTextContent("zoom"));
    fireEvent.click(within(screen.getByRole("region", { name: "Definition editor" })).getByRole("button", { name: "Deploy bots" }));
    expect(screen.getByRole("dialog", { name: "Deploy bots to zoom" })).toBeInTheDocument();
  });

  it("deploys a small batch at once and shows what became of it", async () => {
    renderApp(<PoolsPage />);
    const dialog = await deploy("zoom", "5", { priority: "20" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(await within(dialog).findByRole("status")).toHaveTextContent("3 deployed, 2 queued.");
    expect(prompt()).not.toBeInTheDocument();
    expect(mockApi.deployBots).toHaveBeenCalledWith({
      pool: "zoom",
      meetingUrl: "https://zoom.us/j/123",
      count: 5,
      priority: 20,
      queueTimeoutMs: null,
      joinAt: null,
      ifFull: null,
      staggerMs: null,
    });
    expect(mockApi.refreshAccounts).not.toHaveBeenCalled();
    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("schedules a batch at a join time, staggered, queued if its window is full", async () => {
    mockApi.deployBots.mockResolvedValue({ botIds: [500, 501], deployed: 0, queued: 0, scheduled: 2 });
    renderApp(<PoolsPage />);
    const dialog = await deploy("fresh", "2");
    const ifFull = within(dialog).getByRole("combobox", { name: "If the window is full" });
    expect(ifFull).toBeDisabled();
    // Local time, as a `datetime-local` input gives it.
    const at = new Date(Date.now() + 3_600_000);
    at.setSeconds(0, 0);
    const local = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, "0")}-${String(at.getDate()).padStart(2, "0")}T${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
    fireEvent.change(within(dialog).getByLabelText("Join at (optional)"), { target: { value: local } });
    expect(ifFull).toBeEnabled();
    fireEvent.change(ifFull, { target: { value: "queue" } });
    fireEvent.change(within(dialog).getByRole("spinbutton", { name: "Stagger (s, optional)" }), { target: { value: "5" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(await within(dialog).findByRole("status")).toHaveTextContent("0 deployed, 0 queued, 2 scheduled.");
    expect(mockApi.deployBots).toHaveBeenCalledWith(expect.objectContaining({ joinAt: at.toISOString(), ifFull: "queue", staggerMs: 5000 }));
  });

  it("blocks a join time in the past before sending anything", async () => {
    renderApp(<PoolsPage />);
    const dialog = await deploy("fresh", "2");
    fireEvent.change(within(dialog).getByLabelText("Join at (optional)"), { target: { value: "2020-01-01T09:00" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(within(dialog).getByRole("list", { name: "Form problems" })).toHaveTextContent("Join at must be a time in the future");
    expect(mockApi.deployBots).not.toHaveBeenCalled();
  });

  it("asks to refresh only before a large batch on a stale source", async () => {
    renderApp(<PoolsPage />);
    // Fresh source, large batch: no question.
    let dialog = await deploy("fresh", "25");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(await within(dialog).findByRole("status")).toHaveTextContent("3 deployed, 22 queued.");
    expect(prompt()).not.toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));

    // No account source, large batch: no question.
    dialog = await deploy("teams", "50");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(await within(dialog).findByRole("status")).toHaveTextContent("3 deployed, 47 queued.");
    expect(prompt()).not.toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));

    // Stale source, large batch: asked; cancelling sends nothing and keeps the form.
    dialog = await deploy("zoom", "10");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    const ask = prompt()!;
    expect(ask).toHaveTextContent("zoom's accounts were last refreshed 10 min ago; deploying 10 bots");
    fireEvent.click(within(ask).getByRole("button", { name: "Cancel" }));
    expect(prompt()).not.toBeInTheDocument();
    expect(screen.getByRole("spinbutton", { name: "Count" })).toHaveValue(10);
    expect(calls).toEqual(["deploy fresh 25", "deploy teams 50"]);
  });

  it("refreshes first, then deploys, when asked to", async () => {
    renderApp(<PoolsPage />);
    fireEvent.click(within(await deploy("zoom", "10")).getByRole("button", { name: "Deploy" }));
    fireEvent.click(within(prompt()!).getByRole("button", { name: "Refresh first" }));
    const status = await screen.findByRole("status");
    expect(status).toHaveTextContent("Accounts refreshed first: 3 added, 39 kept, 1 removed.");
    expect(status).toHaveTextContent("3 deployed, 7 queued.");
    expect(status).toHaveTextContent("#500 #501");
    // The deploy starts only once the refresh is done.
    expect(calls).toEqual(["refresh zoom", "refreshed zoom", "deploy zoom 10"]);
  });

  it("deploys without refreshing when told to deploy anyway", async () => {
    renderApp(<PoolsPage />);
    fireEvent.click(within(await deploy("zoom", "10")).getByRole("button", { name: "Deploy" }));
    fireEvent.click(within(prompt()!).getByRole("button", { name: "Deploy anyway" }));
    expect(await screen.findByRole("status")).toHaveTextContent("3 deployed, 7 queued.");
    expect(calls).toEqual(["deploy zoom 10"]);
    expect(mockApi.refreshAccounts).not.toHaveBeenCalled();
  });

  it("does not deploy when the refresh fails, and shows the typed error", async () => {
    mockApi.refreshAccounts.mockRejectedValue(new ApiError("query_refused", "permission denied for table accounts"));
    renderApp(<PoolsPage />);
    fireEvent.click(within(await deploy("zoom", "10")).getByRole("button", { name: "Deploy" }));
    fireEvent.click(within(prompt()!).getByRole("button", { name: "Refresh first" }));
    const alert = await within(screen.getByRole("dialog", { name: "Deploy bots to zoom" })).findByRole("alert");
    expect(alert).toHaveTextContent("[query_refused]");
    expect(alert).toHaveTextContent("permission denied for table accounts");
    expect(mockApi.deployBots).not.toHaveBeenCalled();
  });

  it("shows a refused deploy as a typed error", async () => {
    mockApi.deployBots.mockRejectedValue(new ApiError("conflict", "pool zoom is not applied"));
    renderApp(<PoolsPage />);
    const dialog = await deploy("zoom", "2");
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("[conflict]");
    expect(alert).toHaveTextContent("Not deployed");
    expect(within(dialog).queryByRole("status")).not.toBeInTheDocument();
  });

  it.each(["0", "101", "2.5", "-3", ""])("blocks count %j before sending anything", async (count) => {
    renderApp(<PoolsPage />);
    const dialog = await deploy("zoom", count);
    expect(within(dialog).getByRole("list", { name: "Form problems" })).toHaveTextContent("Count must be a whole number from 1 to 100.");
    expect(within(dialog).getByRole("spinbutton", { name: "Count" })).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByRole("button", { name: "Deploy" })).toBeDisabled();
    fireEvent.submit(dialog);
    expect(prompt()).not.toBeInTheDocument();
    expect(mockApi.deployBots).not.toHaveBeenCalled();
    expect(mockApi.refreshAccounts).not.toHaveBeenCalled();
  });

  it("asks for a meeting URL on submit", async () => {
    renderApp(<PoolsPage />);
    const dialog = await deploy("zoom", "2");
    fireEvent.change(within(dialog).getByRole("textbox", { name: "Meeting URL" }), { target: { value: "" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Deploy" }));
    expect(within(dialog).getByRole("list", { name: "Form problems" })).toHaveTextContent("The meeting URL must start with https://");
    expect(mockApi.deployBots).not.toHaveBeenCalled();
  });
});

describe("deployFormProblems", () => {
  it("accepts 1 to 100 bots, an http(s) URL and an optional whole priority", () => {
    const ok = { ...EMPTY_DEPLOY_FORM, meetingUrl: "https://meet.google.com/abc-defg-hij", count: "100" };
    expect(deployFormProblems(ok)).toEqual([]);
    expect(deployFormProblems({ ...ok, count: "1", priority: "-5" })).toEqual([]);
    expect(deployFormProblems({ ...ok, priority: "1.5" })).toHaveLength(1);
    expect(deployFormProblems({ ...ok, meetingUrl: "zoom.us/j/1" })).toHaveLength(1);
  });

  it("accepts a future join time and a stagger of 0 to 600 s", () => {
    const ok = { ...EMPTY_DEPLOY_FORM, meetingUrl: "https://zoom.us/j/1" };
    const now = Date.parse("2026-12-01T10:00:00Z");
    expect(deployFormProblems({ ...ok, joinAt: "2026-12-02T10:00", staggerS: "600" }, now)).toEqual([]);
    expect(deployFormProblems({ ...ok, joinAt: "2026-11-30T10:00" }, now)).toHaveLength(1);
    expect(deployFormProblems({ ...ok, joinAt: "not a time" }, now)).toHaveLength(1);
    expect(deployFormProblems({ ...ok, staggerS: "601" }, now)).toHaveLength(1);
    expect(deployFormProblems({ ...ok, staggerS: "1.5" }, now)).toHaveLength(1);
  });
});
