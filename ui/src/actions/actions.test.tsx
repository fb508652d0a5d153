// The operator's actions from the app (issue 14): each is confirmed in a
// dialog that takes a reason; Cancel sends nothing; refusals are listed;
// a bulk action acts on the selection (shift-click for a range).
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { PlatformOverview } from "../api/types";
import { AuditLogPanel } from "../audit/AuditLogPanel";
import { SlotsTable } from "../dashboard/SlotsTable";
import { PlatformSection } from "../infrastructure/PlatformSection";
import { makeSlots, settingsFixture } from "../test/fixtures";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { ActionDialog } from "./ActionDialog";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

beforeEach(() => resetMockApi());

// jsdom has no layout: give the virtualised table's scroll element a size (as in SlotsTable.test).
const SIZES = { offsetHeight: 480, clientHeight: 480, offsetWidth: 1200, clientWidth: 1200 };
beforeAll(() => {
  for (const [k, v] of Object.entries(SIZES)) Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
});
afterAll(() => {
  for (const k of Object.keys(SIZES)) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[k];
});

function renderSlots(slots = makeSlots(6)) {
  return {
    user: userEvent.setup(),
    ...renderApp(
      <>
        <SlotsTable slots={slots} />
        <ActionDialog />
      </>,
    ),
  };
}
const done = (slot: string) => ({ slot, done: { status: "idle" as const, draining: true, endedBot: null }, error: null });

describe("a slot's actions menu", () => {
  it("drains a slot after the confirmation, with the reason", async () => {
    mockApi.slotAction.mockResolvedValue([done("pool-zoom-00001")]);
    const { user } = renderSlots();
    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00001" }));
    // Recover only for a slot in error; undrain only for a draining one.
    const items = screen.getAllByRole("menuitem").map((m) => m.textContent);
    expect(items).toEqual(["Restart", "Drain", "Delete"]);
    await user.click(screen.getByRole("menuitem", { name: "Drain" }));
    const dialog = screen.getByRole("dialog", { name: "Drain pool-zoom-00001?" });
    expect(dialog).toHaveTextContent("takes no new bot");
    await user.type(within(dialog).getByRole("textbox", { name: "Reason" }), "node upgrade");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(mockApi.slotAction).toHaveBeenCalledWith("drain", ["pool-zoom-00001"], false, "node upgrade"));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("sends nothing when cancelled; an empty reason is sent as none", async () => {
    mockApi.slotAction.mockResolvedValue([done("pool-zoom-00004")]);
    const { user } = renderSlots();
    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00004" }));
    expect(screen.getByRole("menuitem", { name: "Recover now" })).toBeInTheDocument();
    await user.click(screen.getByRole("menuitem", { name: "Recover now" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(mockApi.slotAction).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00004" }));
    await user.click(screen.getByRole("menuitem", { name: "Recover now" }));
    await user.keyboard("{Escape}");
    expect(mockApi.slotAction).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00004" }));
    await user.click(screen.getByRole("menuitem", { name: "Recover now" }));
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(mockApi.slotAction).toHaveBeenCalledWith("recover", ["pool-zoom-00004"], false, null));
  });

  it("shows a draining badge and offers undrain on a draining slot", async () => {
    const slots = makeSlots(2);
    slots[0]!.draining = true;
    const { user } = renderSlots(slots);
    const rows = screen.getAllByTestId("slot-row");
    expect(within(rows[0]!).getByText("DRAINING")).toBeInTheDocument();
    expect(within(rows[1]!).queryByText("DRAINING")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00001" }));
    expect(screen.getByRole("menuitem", { name: "Undrain" })).toBeInTheDocument();
    expect(screen.queryByRole("menuitem", { name: "Drain" })).not.toBeInTheDocument();
  });
});

describe("bulk actions", () => {
  it("act on a shift-clicked range; a busy slot offers force; refusals are listed with their code", async () => {
    mockApi.slotAction.mockResolvedValue([
      { slot: "pool-zoom-00001", done: { status: null, draining: false, endedBot: null }, error: null },
      { slot: "pool-zoom-00002", done: { status: null, draining: false, endedBot: null }, error: null },
      { slot: "pool-zoom-00003", done: null, error: { code: "slot_busy", message: "slot pool-zoom-00003 holds bot #1002" } },
    ]);
    const { user } = renderSlots();
    await user.click(screen.getByRole("checkbox", { name: "Select pool-zoom-00001" }));
    await user.keyboard("{Shift>}");
    await user.click(screen.getByRole("checkbox", { name: "Select pool-zoom-00003" }));
    await user.keyboard("{/Shift}");
    expect(screen.getByTestId("selected-count")).toHaveTextContent("3 selected");
    expect(screen.getByRole("checkbox", { name: "Select pool-zoom-00002" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "Select pool-zoom-00004" })).not.toBeChecked();

    await user.click(within(screen.getByRole("toolbar", { name: "Actions on the selected slots" })).getByRole("button", { name: "Delete" }));
    const dialog = screen.getByRole("dialog", { name: "Delete 3 slots?" });
    // pool-zoom-00003 is busy (bot #1002): force is offered, with its warning, and off.
    const force = within(dialog).getByRole("checkbox", { name: "Force" });
    expect(force).not.toBeChecked();
    expect(dialog).toHaveTextContent("pool-zoom-00003 holds bot #1002");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(mockApi.slotAction).toHaveBeenCalledWith("delete", ["pool-zoom-00001", "pool-zoom-00002", "pool-zoom-00003"], false, null));
    const refused = await screen.findByRole("list", { name: "Refused slots" });
    expect(refused).toHaveTextContent("pool-zoom-00003 slot_busy: slot pool-zoom-00003 holds bot #1002");
    expect(screen.getByRole("dialog")).toHaveTextContent("2 of 3 done; 1 refused");
  });

  it("forces a delete when asked; select-all takes the shown rows", async () => {
    mockApi.slotAction.mockResolvedValue(makeSlots(6).map((s) => done(s.slotName)));
    const { user } = renderSlots();
    await user.click(screen.getByRole("checkbox", { name: "Select every shown slot" }));
    expect(screen.getByTestId("selected-count")).toHaveTextContent("6 selected");
    await user.click(within(screen.getByRole("toolbar")).getByRole("button", { name: "Delete" }));
    await user.click(screen.getByRole("checkbox", { name: "Force" }));
    await user.type(screen.getByRole("textbox", { name: "Reason" }), "decommission");
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(mockApi.slotAction).toHaveBeenCalledWith("delete", makeSlots(6).map((s) => s.slotName), true, "decommission"));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await user.click(within(screen.getByRole("toolbar")).getByRole("button", { name: "Clear" }));
    expect(screen.queryByRole("toolbar")).not.toBeInTheDocument();
  });

  it("shows a refusal of the whole call in the dialog", async () => {
    mockApi.slotAction.mockRejectedValue(new Error("reason is too long"));
    const { user } = renderSlots();
    await user.click(screen.getByRole("button", { name: "Actions for pool-zoom-00001" }));
    await user.click(screen.getByRole("menuitem", { name: "Restart" }));
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("reason is too long");
  });
});

describe("platform drain", () => {
  const k8s = settingsFixture().platforms[0] as PlatformOverview["settings"];
  const platform = (drain: PlatformOverview["drain"]): PlatformOverview => ({
    settings: k8s,
    used: 1, queued: 0,
    health: "healthy",
    slots: { total: 1, idle: 1, deploying: 0, busy: 0, error: 0 },
    drain,
  });

  it("says who drained it and why, and undrains after the confirmation", async () => {
    mockApi.undrainPlatform.mockResolvedValue({} as never);
    const user = userEvent.setup();
    renderApp(
      <>
        <PlatformSection overview={platform({ at: "2026-12-01T00:00:00Z", by: "cli:bob", reason: "maintenance" })} rank={1} />
        <ActionDialog />
      </>,
    );
    expect(screen.getByTestId(`drain-${k8s.platform}`)).toHaveTextContent("Drained by cli:bob: maintenance");
    await user.click(screen.getByRole("button", { name: `Undrain ${k8s.label}` }));
    await user.type(screen.getByRole("textbox", { name: "Reason" }), "done{Enter}");
    await waitFor(() => expect(mockApi.undrainPlatform).toHaveBeenCalledWith(k8s.platform, "done"));
  });

  it("drains a platform that takes bots", async () => {
    mockApi.drainPlatform.mockResolvedValue({} as never);
    const user = userEvent.setup();
    renderApp(
      <>
        <PlatformSection overview={platform(null)} rank={1} />
        <ActionDialog />
      </>,
    );
    await user.click(screen.getByRole("button", { name: `Drain ${k8s.label}` }));
    expect(screen.getByRole("dialog")).toHaveTextContent("running bots finish");
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(mockApi.drainPlatform).toHaveBeenCalledWith(k8s.platform, null));
  });
});

describe("audit log panel", () => {
  it("lists the recorded actions newest first with actor, action, target and reason", async () => {
    mockApi.auditLog.mockResolvedValue([
      { id: 2, at: "2026-12-01T00:02:00Z", actor: "desktop:alice", action: "bot.cancel", targetKind: "bot", target: "42", reason: null, detail: {} },
      { id: 1, at: "2026-12-01T00:01:00Z", actor: "cli:bob", action: "slot.drain", targetKind: "slot", target: "pool-zoom-00001", reason: "upgrade", detail: {} },
    ]);
    renderApp(<AuditLogPanel />);
    const rows = await screen.findAllByTestId("audit-row");
    expect(rows[0]).toHaveTextContent("desktop:alicebot.cancelbot #42—");
    expect(rows[1]).toHaveTextContent("cli:bobslot.drainslot pool-zoom-00001upgrade");
    expect(mockApi.auditLog).toHaveBeenCalledWith({ limit: 50 });
  });
});
