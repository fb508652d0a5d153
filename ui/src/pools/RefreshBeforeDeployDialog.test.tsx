import { fireEvent, screen } from "@testing-library/react";
import { renderApp } from "../test/render";
import { resetMockApi } from "../test/mockApi";
import { RefreshBeforeDeployDialog } from "./RefreshBeforeDeployDialog";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

beforeEach(() => resetMockApi());

describe("RefreshBeforeDeployDialog", () => {
  it("offers refreshing first, deploying anyway or cancelling", () => {
    const onRefresh = vi.fn();
    const onDeploy = vi.fn();
    const onCancel = vi.fn();
    renderApp(<RefreshBeforeDeployDialog pool="zoom" lastRefresh={null} batchSize={25} onRefresh={onRefresh} onDeploy={onDeploy} onCancel={onCancel} />);
    const dialog = screen.getByRole("dialog", { name: "Refresh before deploying?" });
    expect(dialog).toHaveTextContent("zoom's accounts were never refreshed; deploying 25 bots");
    fireEvent.click(screen.getByRole("button", { name: "Refresh first" }));
    fireEvent.click(screen.getByRole("button", { name: "Deploy anyway" }));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect([onRefresh.mock.calls.length, onDeploy.mock.calls.length, onCancel.mock.calls.length]).toEqual([1, 1, 1]);
  });
});
