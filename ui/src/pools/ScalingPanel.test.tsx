import { act, screen, waitFor, within } from "@testing-library/react";
import type { IdleTarget, ScalingDecision, ScalingView } from "../api/types";
import { detail, validate, yaml } from "../test/definitions";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { DefinitionEditor } from "./DefinitionEditor";
import { ScalingPanel, targetParts } from "./ScalingPanel";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const target = (t: number, scheduled: number, buffer: number): IdleTarget => ({ minIdle: 2, maxIdle: 6, scheduled, buffer, target: t });

function decision(action: ScalingDecision["action"], reason: string, t = target(4, 0, 2)): ScalingDecision {
  return { pool: "zoom", at: "2026-12-01T10:00:00Z", action, target: t, arrivalsPerMinute: 1, leadTimeMs: 90_000, idleBefore: 2, created: 2, removed: 0, reason };
}

function view(decisions: ScalingDecision[], extra: Partial<ScalingView> = {}): ScalingView {
  return { pool: "zoom", scaled: true, scaleDownAfterMs: 300_000, current: target(5, 1, 2), arrivalsPerMinute: 1, leadTimeMs: 90_000, idle: 4, decisions, ...extra };
}

beforeEach(() => resetMockApi());

describe("ScalingPanel", () => {
  it("shows the target now with its parts and the recent decisions with their reasons", async () => {
    mockApi.poolScaling.mockResolvedValue(
      view([decision("down", "idle 6 above the target: removed 2"), decision("up", "idle 2 below the target: made 2")]),
    );
    renderApp(<ScalingPanel pool="zoom" />);
    const panel = await screen.findByRole("region", { name: "Scaling" });
    expect(mockApi.poolScaling).toHaveBeenCalledWith("zoom");
    expect(within(panel).getByLabelText("Current target")).toHaveTextContent(
      "target 5 = min 2 + scheduled 1 + buffer 2 (within 2–6; 1.00/min over a 1m 30s lead); 4 idle now; idle slots above it go after 5m 00s",
    );
    const items = within(within(panel).getByRole("list", { name: "Scaling decisions" })).getAllByRole("listitem");
    expect(items.map((li) => li.dataset.action)).toEqual(["down", "up"]);
    expect(items[0]).toHaveTextContent("down idle 6 above the target: removed 2");
    expect(items[1]).toHaveTextContent("up idle 2 below the target: made 2");
  });

  it("follows the scaling topic: a new decision appears without a reload", async () => {
    mockApi.poolScaling.mockResolvedValue(view([]));
    renderApp(<ScalingPanel pool="zoom" />);
    expect(await screen.findByText("No scaling decision yet.")).toBeInTheDocument();
    mockApi.poolScaling.mockResolvedValue(view([decision("up", "idle 2 below the target: made 3")]));
    act(() => emitChange({ kind: "changed", topics: ["scaling"], message: null, slotIds: null }));
    expect(await screen.findByText("idle 2 below the target: made 3")).toBeInTheDocument();
    expect(mockApi.poolScaling).toHaveBeenCalledTimes(2);
  });

  it("shows nothing for a pool with a fixed prewarm", async () => {
    mockApi.poolScaling.mockResolvedValue(view([], { scaled: false, current: null, scaleDownAfterMs: null }));
    renderApp(<ScalingPanel pool="zoom" />);
    await waitFor(() => expect(mockApi.poolScaling).toHaveBeenCalled());
    await act(async () => {});
    expect(screen.queryByRole("region", { name: "Scaling" })).toBeNull();
  });

  it("is on an applied pool's editor, not on a definition never applied", async () => {
    mockApi.validateDefinition.mockImplementation(validate);
    mockApi.poolScaling.mockResolvedValue(view([decision("up", "idle 0 below the target: made 2")]));
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), yaml("zoom", 5), { state: "applied", version: 1 }));
    const noop = () => {};
    const { unmount } = renderApp(<DefinitionEditor target={{ kind: "existing", name: "zoom" }} onSaved={noop} onDeleted={noop} onDeploy={noop} />);
    expect(await screen.findByRole("region", { name: "Scaling" })).toHaveTextContent("idle 0 below the target: made 2");
    unmount();
    mockApi.poolScaling.mockClear();
    mockApi.getDefinition.mockResolvedValue(detail("meet", yaml("meet", 5), null, { state: "notApplied" }));
    renderApp(<DefinitionEditor target={{ kind: "existing", name: "meet" }} onSaved={noop} onDeleted={noop} onDeploy={noop} />);
    expect(await screen.findByRole("region", { name: "Definition editor" })).toBeInTheDocument();
    expect(mockApi.poolScaling).not.toHaveBeenCalled();
  });

  it("spells the target's parts", () => {
    expect(targetParts(target(6, 3, 4))).toBe("target 6 = min 2 + scheduled 3 + buffer 4");
  });
});
