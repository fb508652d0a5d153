// Leaving a view with unsaved edits asks first (issue 11, item 25): the
// whole app with its real views, over the mocked API module.
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import type { BuilderTable, DefinitionList } from "./api/types";
import { detail, row, validate, yaml } from "./test/definitions";
import { rulesFixture, settingsFixture } from "./test/fixtures";
import { mockApi, resetMockApi } from "./test/mockApi";
import { editorText, findCodeEditor, setEditorText } from "./test/editor";
import { renderApp } from "./test/render";

vi.mock("./api/tauri", async () => (await import("./test/mockApi")).tauriModule);

const LIST: DefinitionList = { directory: "/pools", definitions: [row("zoom", { state: "notApplied" }), row("meet", { state: "notApplied" })], problems: [] };
const ACCOUNTS: BuilderTable = { schema: "public", table: "accounts", columns: [{ name: "status", dataType: "text" }] };

beforeEach(() => {
  resetMockApi();
  mockApi.getSettings.mockResolvedValue(settingsFixture());
  mockApi.settingsRules.mockResolvedValue(rulesFixture());
  mockApi.settingsHistory.mockResolvedValue([]);
  mockApi.listDefinitions.mockResolvedValue(LIST);
  mockApi.validateDefinition.mockImplementation(validate);
  mockApi.getDefinition.mockImplementation(async (name: string) => detail(name, yaml(name, 5), null, { state: "notApplied" }));
  mockApi.queryTables.mockResolvedValue(["accounts"]);
  mockApi.tableColumns.mockResolvedValue(ACCOUNTS);
});

function renderAt(hash: string) {
  window.history.replaceState(null, "", hash);
  return renderApp(<App />);
}

const tab = (name: string) => screen.getByRole("tab", { name });
const heading = (name: string) => screen.findByRole("heading", { level: 1, name });
const leaveDialog = () => screen.queryByRole("dialog", { name: "Discard unsaved changes?" });

describe("unsaved edits when switching views", () => {
  it("asks before leaving Settings with an edit; Cancel keeps the edit, Discard leaves", async () => {
    renderAt("#/settings");
    const limit = await screen.findByRole("textbox", { name: "AWS bot limit" });
    fireEvent.change(limit, { target: { value: "120" } });

    fireEvent.click(tab("Pools"));
    const dialog = leaveDialog();
    expect(dialog).toBeInTheDocument();
    expect(dialog).toHaveTextContent("Unsaved changes in Settings are lost if you leave now.");
    fireEvent.click(within(dialog!).getByRole("button", { name: "Cancel" }));
    expect(leaveDialog()).not.toBeInTheDocument();
    expect(tab("Settings")).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("textbox", { name: "AWS bot limit" })).toHaveValue("120");

    fireEvent.click(tab("Pools"));
    fireEvent.click(within(leaveDialog()!).getByRole("button", { name: "Discard changes" }));
    expect(await heading("Pools")).toBeInTheDocument();
    expect(tab("Pools")).toHaveAttribute("aria-selected", "true");
    expect(window.location.hash).toBe("#/pools");
    // Back on Settings: the server's value, nothing was saved.
    fireEvent.click(tab("Settings"));
    expect(await screen.findByRole("textbox", { name: "AWS bot limit" })).toHaveValue("100");
    expect(mockApi.saveSettings).not.toHaveBeenCalled();
  });

  it("counts an invalid value typed as an edit, and switches at once without edits", async () => {
    renderAt("#/settings");
    const limit = await screen.findByRole("textbox", { name: "AWS bot limit" });
    fireEvent.change(limit, { target: { value: "0" } });
    fireEvent.click(tab("Infrastructure"));
    expect(leaveDialog()).toBeInTheDocument();
    fireEvent.click(within(leaveDialog()!).getByRole("button", { name: "Cancel" }));
    // Typed back to the live value: nothing to lose.
    fireEvent.change(limit, { target: { value: "100" } });
    fireEvent.click(tab("Infrastructure"));
    expect(leaveDialog()).not.toBeInTheDocument();
    expect(tab("Infrastructure")).toHaveAttribute("aria-selected", "true");
  });

  it("asks before leaving the pool editor with unsaved YAML", async () => {
    renderAt("#/pools");
    fireEvent.click(await screen.findByRole("button", { name: "zoom" }));
    const text = await findCodeEditor();
    setEditorText(text, yaml("zoom", 9));
    fireEvent.click(tab("Pool dashboard"));
    expect(leaveDialog()).toHaveTextContent("Unsaved changes in the pool definition zoom are lost");
    fireEvent.click(within(leaveDialog()!).getByRole("button", { name: "Cancel" }));
    expect(editorText(screen.getByRole("textbox", { name: "Definition YAML" }))).toBe(yaml("zoom", 9));
  });

  it("asks when a value was typed in the query builder just before the click (the blur writes it first)", async () => {
    mockApi.getDefinition.mockResolvedValue(
      detail("zoom", `${yaml("zoom", 5)}accounts:\n  type: sql\n  builder:\n    table: accounts\n    filters:\n      - { column: status, op: =, value: x }\n`, null, { state: "notApplied" }),
    );
    renderAt("#/pools");
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "zoom" }));
    await screen.findByRole("textbox", { name: "Definition YAML" });
    await user.click(screen.getByRole("button", { name: "Query builder" }));
    const value = await within(screen.getByRole("group", { name: "Filter 1" })).findByRole("textbox", { name: "Value" });
    await user.type(value, "yz");
    await user.click(tab("Settings"));
    expect(leaveDialog()).toBeInTheDocument();
    await user.click(within(leaveDialog()!).getByRole("button", { name: "Discard changes" }));
    expect(await heading("Platform settings")).toBeInTheDocument();
  });
});

describe("unsaved edits when switching pools", () => {
  it("asks before opening another pool over unsaved edits", async () => {
    renderAt("#/pools");
    fireEvent.click(await screen.findByRole("button", { name: "zoom" }));
    setEditorText(await findCodeEditor(), yaml("zoom", 9));
    fireEvent.click(screen.getByRole("button", { name: "meet" }));
    expect(leaveDialog()).toHaveTextContent("the pool definition zoom");
    fireEvent.click(within(leaveDialog()!).getByRole("button", { name: "Cancel" }));
    expect(screen.getByRole("heading", { level: 2, name: "zoom" })).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "New pool" }));
    fireEvent.click(within(leaveDialog()!).getByRole("button", { name: "Discard changes" }));
    expect(await screen.findByRole("heading", { level: 2, name: "New pool" })).toBeInTheDocument();
    // The untouched template of a new pool is nothing to lose.
    fireEvent.click(screen.getByRole("button", { name: "meet" }));
    expect(leaveDialog()).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("heading", { level: 2, name: "meet" })).toBeInTheDocument());
  });
});
