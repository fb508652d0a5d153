import { EditorView } from "@codemirror/view";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { ApiError } from "../api/errors";
import type { DefinitionList } from "../api/types";
import { detail, row, summary, validate, yaml } from "../test/definitions";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { editorDiagnostics, editorText, findCodeEditor, setEditorText } from "../test/editor";
import { renderApp } from "../test/render";
import { PoolsPage } from "./PoolsPage";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const LIST: DefinitionList = {
  directory: "/home/maria/.config/berth/pools",
  definitions: [
    row("zoom", { state: "applied", version: 3 }, { accounts: { available: 7, inUse: 2, completed: 1, failed: 0 }, summary: summary("zoom", 5, "sql") }),
    row("teams", { state: "pending", version: 1 }),
    row("meet", { state: "notApplied" }),
  ],
  problems: [{ file: "broken.yaml", line: 4, column: 12, field: "max_size", message: "expected an integer" }],
};

beforeEach(() => {
  resetMockApi();
  mockApi.listDefinitions.mockResolvedValue(LIST);
  mockApi.validateDefinition.mockImplementation(validate);
});

const editor = () => findCodeEditor();
const button = (name: string) => screen.getByRole("button", { name });

async function open(name: string) {
  renderApp(<PoolsPage />);
  fireEvent.click(await screen.findByRole("button", { name }));
  return editor();
}

describe("PoolsPage list", () => {
  it("shows each definition's state, slots, accounts and the broken files", async () => {
    renderApp(<PoolsPage />);
    const zoom = await screen.findByTestId("definition-zoom");
    expect(within(zoom).getByText("[applied v3]")).toHaveAttribute("data-state", "applied");
    expect(within(zoom).getByText("7 / 2 / 1 / 0")).toBeInTheDocument();
    expect(within(zoom).getByText("sql")).toBeInTheDocument();
    expect(within(screen.getByTestId("definition-teams")).getByText("[pending · v1]")).toHaveAttribute("data-state", "pending");
    expect(within(screen.getByTestId("definition-meet")).getByText("[not applied]")).toBeInTheDocument();
    const broken = screen.getByLabelText("Broken files");
    expect(within(broken).getByText("broken.yaml:4:12")).toBeInTheDocument();
    expect(within(broken).getByText("expected an integer")).toBeInTheDocument();
    expect(screen.getByText("Definitions in /home/maria/.config/berth/pools")).toBeInTheDocument();
  });
});

describe("PoolsPage refresh failures", () => {
  it("shows a pool's failed automatic refresh with its code and message, and nothing on the others", async () => {
    const failed = row(
      "zoom",
      { state: "applied", version: 3 },
      {
        accounts: { available: 7, inUse: 2, completed: 1, failed: 0 },
        summary: summary("zoom", 5, "sql"),
        refreshError: {
          failedAt: new Date(Date.now() - 120_000).toISOString(),
          code: "query_refused",
          message: "the query has more than 65 UNION, INTERSECT or EXCEPT operations",
        },
      },
    );
    mockApi.listDefinitions.mockResolvedValue({ ...LIST, definitions: [failed, row("teams", { state: "notApplied" })] });
    renderApp(<PoolsPage />);
    const zoom = await screen.findByTestId("definition-zoom");
    const alert = within(zoom).getByRole("alert");
    expect(alert).toHaveTextContent("[query_refused] auto-refresh failed 2 min ago: the query has more than 65 UNION");
    expect(within(screen.getByTestId("definition-teams")).queryByRole("alert")).not.toBeInTheDocument();
  });
});

describe("PoolsPage live updates", () => {
  it("reloads the list on a pools change event", async () => {
    renderApp(<PoolsPage />);
    await screen.findByTestId("definition-zoom");
    mockApi.listDefinitions.mockResolvedValue({ ...LIST, definitions: [row("zoom", { state: "applied", version: 4 })] });
    emitChange({ kind: "changed", topics: ["pools"], message: null, slotIds: null });
    expect(await screen.findByText("[applied v4]")).toBeInTheDocument();
    expect(screen.queryByTestId("definition-teams")).not.toBeInTheDocument();
  });
});

describe("PoolsPage editor", () => {
  it("validates the YAML as it changes and shows problems with line and column", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), yaml("zoom", 5), { state: "applied", version: 3 }));
    const text = await open("zoom");
    expect(await screen.findByText("Valid.")).toBeInTheDocument();

    setEditorText(text, yaml("zoom", 5).replace("max_size: 5", "max_size: x"));
    const problems = await screen.findByRole("list", { name: "Problems" });
    expect(within(problems).getByText("5:11")).toBeInTheDocument();
    expect(within(problems).getByText('invalid type: string "x", expected u32')).toBeInTheDocument();
    // Marked in the editor: line 5's value (column 11 to the token's end), and no other line.
    await waitFor(() => expect(editorDiagnostics(text)).toEqual([{ line: 5, text: "x", message: 'max_size: invalid type: string "x", expected u32' }]));
    expect(text.querySelector(".cm-lintRange-error")).toHaveTextContent("x");
    expect(mockApi.validateDefinition).toHaveBeenLastCalledWith(expect.stringContaining("max_size: x"));
    expect(button("Save")).toBeDisabled();
    expect(button("Apply")).toBeDisabled();
  });

  it("shows a listed problem in the editor when its location is clicked", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5).replace("max_size: 5", "max_size: x"), null, { state: "notApplied" }));
    const text = await open("zoom");
    const problems = await screen.findByRole("list", { name: "Problems" });
    fireEvent.click(within(problems).getByRole("button", { name: "5:11" }));
    const view = EditorView.findFromDOM(text)!;
    const { from, to } = view.state.selection.main;
    expect([view.state.doc.lineAt(from).number, view.state.sliceDoc(from, to)]).toEqual([5, "x"]);
    expect(view.hasFocus).toBe(true);
  });

  it("diffs against the applied version, applies only saved valid text and shows the new version", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("teams", yaml("teams", 8), yaml("teams", 5), { state: "pending", version: 1 }));
    mockApi.applyDefinition.mockResolvedValue({ name: "teams", version: 2, changed: true });
    mockApi.saveDefinition.mockResolvedValue({ name: "teams", file: "teams.yaml", renamedFrom: null });
    const text = await open("teams");
    await screen.findByText("Valid.");

    fireEvent.click(button("Diff"));
    const diff = screen.getByRole("region", { name: "Diff against the applied version" });
    expect(within(diff).getByText("− max_size: 5")).toHaveAttribute("data-sign", "−");
    expect(within(diff).getByText("+ max_size: 8")).toHaveAttribute("data-sign", "+");
    expect(within(diff).getByText("name: teams", { exact: false })).toHaveAttribute("data-sign", " ");

    // Unsaved edits keep Apply disabled; so does invalid text.
    setEditorText(text, yaml("teams", 9));
    await waitFor(() => expect(mockApi.validateDefinition).toHaveBeenLastCalledWith(yaml("teams", 9)));
    expect(await screen.findByText("Valid.")).toBeInTheDocument();
    expect(button("Save")).toBeEnabled();
    expect(button("Apply")).toBeDisabled();
    expect(within(diff).getByText("+ max_size: 9")).toBeInTheDocument();
    setEditorText(text, yaml("teams", 8));
    await waitFor(() => expect(button("Apply")).toBeEnabled());

    fireEvent.click(button("Apply"));
    await waitFor(() => expect(mockApi.applyDefinition).toHaveBeenCalledWith("teams"));
    expect(await screen.findByText("Applied as v2.")).toBeInTheDocument();
  });

  it("shows a refused apply as a typed error", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("teams", yaml("teams", 8), null, { state: "notApplied" }));
    mockApi.applyDefinition.mockRejectedValue(new ApiError("database_unavailable", "connection refused"));
    await open("teams");
    await waitFor(() => expect(button("Apply")).toBeEnabled());
    fireEvent.click(button("Apply"));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("[database_unavailable]");
    expect(alert).toHaveTextContent("connection refused");
  });

  it("saves edits through the form mode, which rewrites the YAML lines", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("meet", yaml("meet", 5), null, { state: "notApplied" }));
    mockApi.saveDefinition.mockResolvedValue({ name: "meet", file: "meet.yaml", renamedFrom: null });
    await open("meet");
    await screen.findByText("Valid.");
    fireEvent.click(button("Form"));
    fireEvent.change(screen.getByRole("textbox", { name: "Max size" }), { target: { value: "12" } });
    fireEvent.click(button("YAML"));
    expect(editorText(await editor())).toBe(yaml("meet", 12));
    await waitFor(() => expect(button("Save")).toBeEnabled());
    fireEvent.click(button("Save"));
    await waitFor(() => expect(mockApi.saveDefinition).toHaveBeenCalledWith("meet", yaml("meet", 12)));
    expect(await screen.findByText("Saved meet.yaml.")).toBeInTheDocument();
  });

  it("tests the text and shows the impact, platform reachability, the SQL and the account preview", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), null, { state: "notApplied" }));
    mockApi.testDefinition.mockResolvedValue({
      problems: [],
      impact: { creates: 3, removesIdle: 0, busyAffected: 0, text: "creates 3 slots, removes 0 idle, 0 busy affected" },
      accounts: { count: 42, truncated: false, columns: ["id", "email"], sample: ['{"email":"a@x","id":1}'] },
      accountsError: null,
      platforms: [
        { platform: "k8s", health: "healthy", detail: null },
        { platform: "aws", health: "down", detail: "not answering its health check" },
        { platform: "coolify", health: "unavailable", detail: "no adapter is configured for it in this instance" },
      ],
      sql: 'SELECT "id", "email" FROM "public"."accounts" WHERE "status" = $1',
    });
    await open("zoom");
    await waitFor(() => expect(button("Test")).toBeEnabled());
    fireEvent.click(button("Test"));
    const result = await screen.findByRole("region", { name: "Test result" });
    expect(result).toHaveTextContent("Applying creates 3 slots, removes 0 idle, 0 busy affected.");
    expect(result).toHaveTextContent("42 accounts match");
    expect(within(result).getByText('{"email":"a@x","id":1}')).toBeInTheDocument();

    // One line per platform, in order, with the reason only when not healthy.
    const reach = within(result).getAllByRole("listitem").filter((li) => li.hasAttribute("data-platform"));
    expect(reach.map((li) => li.textContent)).toEqual([
      "K8s healthy",
      "AWS down: not answering its health check",
      "Coolify unavailable: no adapter is configured for it in this instance",
    ]);
    expect(reach[1]).toHaveAttribute("data-health", "down");
    const sql = within(result).getByLabelText("Account source SQL");
    expect(sql.tagName).toBe("PRE");
    expect(sql).toHaveTextContent('SELECT "id", "email" FROM "public"."accounts" WHERE "status" = $1');
  });

  it("shows neither platforms nor SQL when the test has none", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("meet", yaml("meet", 5), null, { state: "notApplied" }));
    mockApi.testDefinition.mockResolvedValue({
      problems: [],
      impact: { creates: 0, removesIdle: 0, busyAffected: 0, text: "creates 0 slots, removes 0 idle, 0 busy affected" },
      accounts: null,
      accountsError: null,
      platforms: [],
      sql: null,
    });
    await open("meet");
    await waitFor(() => expect(button("Test")).toBeEnabled());
    fireEvent.click(button("Test"));
    const result = await screen.findByRole("region", { name: "Test result" });
    expect(result).toHaveTextContent("No account source.");
    expect(within(result).queryByRole("list", { name: "Platform reachability" })).not.toBeInTheDocument();
    expect(within(result).queryByLabelText("Account source SQL")).not.toBeInTheDocument();
  });

  it("deletes only after confirmation and shows a refusal in the dialog", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), yaml("zoom", 5), { state: "applied", version: 3 }));
    mockApi.deleteDefinition
      .mockRejectedValueOnce(new ApiError("conflict", "zoom has 1 busy and 0 deploying slots; delete it once they are done"))
      .mockResolvedValueOnce({ name: "zoom", file: "zoom.yaml", note: "zoom is retired: it takes no new bots and its 2 idle slots will be removed; its history stays" });
    await open("zoom");
    fireEvent.click(button("Delete"));
    const dialog = screen.getByRole("dialog", { name: "Delete zoom?" });
    expect(mockApi.deleteDefinition).not.toHaveBeenCalled();

    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(mockApi.deleteDefinition).not.toHaveBeenCalled();

    fireEvent.click(button("Delete"));
    fireEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete definition" }));
    const refusal = await within(screen.getByRole("dialog")).findByRole("alert");
    expect(refusal).toHaveTextContent("[conflict]");
    expect(refusal).toHaveTextContent("1 busy");

    fireEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete definition" }));
    expect(await screen.findByText(/Deleted zoom.yaml: zoom is retired/)).toBeInTheDocument();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(mockApi.deleteDefinition).toHaveBeenCalledTimes(2);
    expect(screen.queryByRole("textbox", { name: "Definition YAML" })).not.toBeInTheDocument();
  });

  it("creates a new pool with a null original name", async () => {
    mockApi.saveDefinition.mockResolvedValue({ name: "new-pool", file: "new-pool.yaml", renamedFrom: null });
    mockApi.getDefinition.mockResolvedValue(detail("new-pool", yaml("new-pool", 10), null, { state: "notApplied" }));
    renderApp(<PoolsPage />);
    fireEvent.click(await screen.findByRole("button", { name: "New pool" }));
    await screen.findByText("Valid.");
    expect(button("Apply")).toBeDisabled();
    fireEvent.click(button("Save"));
    await waitFor(() => expect(mockApi.saveDefinition).toHaveBeenCalledWith(null, expect.stringContaining("name: new-pool")));
    await waitFor(() => expect(mockApi.getDefinition).toHaveBeenCalledWith("new-pool"));
    expect(await screen.findByText("Saved new-pool.yaml.")).toBeInTheDocument();
  });
});

describe("PoolsPage broken files", () => {
  const BROKEN = yaml("spare", 5).replace("max_size: 5", "max_size: x");
  const brokenList: DefinitionList = {
    ...LIST,
    problems: [
      { file: "spare.yaml", line: 5, column: 11, field: "max_size", message: 'invalid type: string "x", expected u32' },
      { file: "spare.yaml", line: 7, column: 1, field: null, message: "unknown field `colour`" },
      { file: "dup.yaml", line: null, column: null, field: null, message: "a pool named zoom is already defined in zoom.yaml" },
    ],
  };

  beforeEach(() => {
    mockApi.listDefinitions.mockResolvedValue(brokenList);
    mockApi.readDefinitionFile.mockResolvedValue(BROKEN);
  });

  it("lists each broken file with its located problems and an Open action", async () => {
    renderApp(<PoolsPage />);
    const spare = await screen.findByTestId("broken-spare.yaml");
    expect(within(spare).getByText("spare.yaml:5:11")).toBeInTheDocument();
    expect(within(spare).getByText("spare.yaml:7:1")).toBeInTheDocument();
    expect(within(spare).getByText("unknown field `colour`")).toBeInTheDocument();
    expect(within(spare).getByRole("button", { name: "Open spare.yaml" })).toBeInTheDocument();
    const dup = screen.getByTestId("broken-dup.yaml");
    expect(within(dup).getByText("a pool named zoom is already defined in zoom.yaml")).toBeInTheDocument();
    expect(within(dup).getByRole("button", { name: "Open dup.yaml" })).toBeInTheDocument();
    expect(mockApi.readDefinitionFile).not.toHaveBeenCalled();
  });

  it("opens a broken file's raw text with live validation and repairs it on save", async () => {
    mockApi.repairDefinition.mockResolvedValue({ name: "spare", file: "spare.yaml", renamedFrom: null });
    mockApi.getDefinition.mockResolvedValue(detail("spare", yaml("spare", 6), null, { state: "notApplied" }));
    renderApp(<PoolsPage />);
    fireEvent.click(await screen.findByRole("button", { name: "Open spare.yaml" }));
    const text = await editor();
    expect(mockApi.readDefinitionFile).toHaveBeenCalledWith("spare.yaml");
    expect(editorText(text)).toBe(BROKEN);
    const panel = screen.getByRole("region", { name: "Definition editor" });
    expect(within(panel).getByRole("heading")).toHaveTextContent("spare.yaml");
    expect(within(panel).getByText("[broken file]")).toBeInTheDocument();
    expect(screen.getByTestId("broken-spare.yaml")).toHaveAttribute("aria-current", "true");

    const problems = await screen.findByRole("list", { name: "Problems" });
    expect(within(problems).getByText("5:11")).toBeInTheDocument();
    expect(button("Save")).toBeDisabled();
    expect(button("Apply")).toBeDisabled();
    expect(button("Delete")).toBeDisabled();

    setEditorText(text, yaml("spare", 6));
    await waitFor(() => expect(button("Save")).toBeEnabled());
    fireEvent.click(button("Save"));
    await waitFor(() => expect(mockApi.repairDefinition).toHaveBeenCalledWith("spare.yaml", yaml("spare", 6)));
    expect(mockApi.saveDefinition).not.toHaveBeenCalled();
    expect(await screen.findByText("Repaired spare.yaml.")).toBeInTheDocument();
    await waitFor(() => expect(mockApi.getDefinition).toHaveBeenCalledWith("spare"));
  });

  it("saves an already valid broken file as it is, and says where a rename put it", async () => {
    mockApi.readDefinitionFile.mockResolvedValue(yaml("zoom2", 5));
    mockApi.repairDefinition.mockResolvedValue({ name: "zoom2", file: "zoom2.yaml", renamedFrom: "dup.yaml" });
    mockApi.getDefinition.mockResolvedValue(detail("zoom2", yaml("zoom2", 5), null, { state: "notApplied" }));
    renderApp(<PoolsPage />);
    fireEvent.click(await screen.findByRole("button", { name: "Open dup.yaml" }));
    await screen.findByText("Valid.");
    fireEvent.click(button("Save"));
    expect(await screen.findByText("Repaired dup.yaml: saved as zoom2.yaml.")).toBeInTheDocument();
    expect(mockApi.repairDefinition).toHaveBeenCalledWith("dup.yaml", yaml("zoom2", 5));
  });

  it("shows a refused repair and an unreadable file as typed errors", async () => {
    mockApi.readDefinitionFile.mockResolvedValueOnce(yaml("zoom", 5)).mockRejectedValueOnce(new ApiError("not_found", "no file spare.yaml in /pools"));
    mockApi.repairDefinition.mockRejectedValue(new ApiError("conflict", "a pool named zoom is already defined in zoom.yaml"));
    renderApp(<PoolsPage />);
    fireEvent.click(await screen.findByRole("button", { name: "Open dup.yaml" }));
    await screen.findByText("Valid.");
    fireEvent.click(button("Save"));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("[conflict]");
    expect(alert).toHaveTextContent("a pool named zoom is already defined in zoom.yaml");

    fireEvent.click(button("Open spare.yaml"));
    const unreadable = await screen.findByText("Cannot open spare.yaml");
    expect(unreadable.closest("[role=alert]")).toHaveTextContent("[not_found]");
  });
});
