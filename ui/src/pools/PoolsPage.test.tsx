import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { ApiError } from "../api/errors";
import type { DefinitionDetail, DefinitionList, DefinitionRow, DefinitionSummary } from "../api/types";
import { emitChange, mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { PoolsPage } from "./PoolsPage";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);

const yaml = (name: string, max: number) => `name: ${name}\nmeeting_platform: zoom\nimage: bot\ntag: latest\nmax_size: ${max}\nprewarm: 0\n`;

function summary(name: string, max = 5, sourceType: string | null = null): DefinitionSummary {
  return { name, meetingPlatform: "zoom", image: "bot", tag: "latest", maxSize: max, prewarm: 0, platforms: null, sourceType, refreshIntervalMs: sourceType ? 30_000 : null };
}

function row(name: string, state: DefinitionRow["state"], extra: Partial<DefinitionRow> = {}): DefinitionRow {
  return { file: `${name}.yaml`, summary: summary(name), state, slots: 2, accounts: null, lastRefresh: null, ...extra };
}

const LIST: DefinitionList = {
  directory: "/home/maria/.config/berth/pools",
  definitions: [
    row("zoom", { state: "applied", version: 3 }, { accounts: { available: 7, inUse: 2, completed: 1, failed: 0 }, summary: summary("zoom", 5, "sql") }),
    row("teams", { state: "pending", version: 1 }),
    row("meet", { state: "notApplied" }),
  ],
  problems: [{ file: "broken.yaml", line: 4, column: 12, field: "max_size", message: "expected an integer" }],
};

function detail(name: string, text: string, appliedText: string | null, state: DefinitionDetail["state"]): DefinitionDetail {
  return { file: `${name}.yaml`, text, summary: summary(name), state, appliedText };
}

beforeEach(() => {
  resetMockApi();
  mockApi.listDefinitions.mockResolvedValue(LIST);
  mockApi.validateDefinition.mockImplementation(async (text: string) =>
    text.includes("max_size: x")
      ? { problems: [{ file: null, line: 5, column: 11, field: "max_size", message: "invalid type: string \"x\", expected u32" }], summary: null }
      : { problems: [], summary: summary(/name: (\S+)/.exec(text)?.[1] ?? "?") },
  );
});

const editor = () => screen.findByRole("textbox", { name: "Definition YAML" });
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

describe("PoolsPage live updates", () => {
  it("reloads the list on a pools change event", async () => {
    renderApp(<PoolsPage />);
    await screen.findByTestId("definition-zoom");
    mockApi.listDefinitions.mockResolvedValue({ ...LIST, definitions: [row("zoom", { state: "applied", version: 4 })] });
    emitChange({ kind: "changed", topics: ["pools"], message: null });
    expect(await screen.findByText("[applied v4]")).toBeInTheDocument();
    expect(screen.queryByTestId("definition-teams")).not.toBeInTheDocument();
  });
});

describe("PoolsPage editor", () => {
  it("validates the YAML as it changes and shows problems with line and column", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), yaml("zoom", 5), { state: "applied", version: 3 }));
    const text = await open("zoom");
    expect(await screen.findByText("Valid.")).toBeInTheDocument();

    fireEvent.change(text, { target: { value: yaml("zoom", 5).replace("max_size: 5", "max_size: x") } });
    const problems = await screen.findByRole("list", { name: "Problems" });
    expect(within(problems).getByText("5:11")).toBeInTheDocument();
    expect(within(problems).getByText('invalid type: string "x", expected u32')).toBeInTheDocument();
    expect(document.querySelector('[data-line="5"]')).toHaveAttribute("data-problem", "true");
    expect(document.querySelector('[data-line="4"]')).not.toHaveAttribute("data-problem");
    expect(mockApi.validateDefinition).toHaveBeenLastCalledWith(expect.stringContaining("max_size: x"));
    expect(button("Save")).toBeDisabled();
    expect(button("Apply")).toBeDisabled();
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
    fireEvent.change(text, { target: { value: yaml("teams", 9) } });
    await waitFor(() => expect(mockApi.validateDefinition).toHaveBeenLastCalledWith(yaml("teams", 9)));
    expect(await screen.findByText("Valid.")).toBeInTheDocument();
    expect(button("Save")).toBeEnabled();
    expect(button("Apply")).toBeDisabled();
    expect(within(diff).getByText("+ max_size: 9")).toBeInTheDocument();
    fireEvent.change(text, { target: { value: yaml("teams", 8) } });
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
    expect(await editor()).toHaveValue(yaml("meet", 12));
    await waitFor(() => expect(button("Save")).toBeEnabled());
    fireEvent.click(button("Save"));
    await waitFor(() => expect(mockApi.saveDefinition).toHaveBeenCalledWith("meet", yaml("meet", 12)));
    expect(await screen.findByText("Saved meet.yaml.")).toBeInTheDocument();
  });

  it("tests the text and shows the impact and the account preview", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), null, { state: "notApplied" }));
    mockApi.testDefinition.mockResolvedValue({
      problems: [],
      impact: { creates: 3, removesIdle: 0, busyAffected: 0, text: "creates 3 slots, removes 0 idle, 0 busy affected" },
      accounts: { count: 42, truncated: false, columns: ["id", "email"], sample: ['{"email":"a@x","id":1}'] },
      accountsError: null,
    });
    await open("zoom");
    await waitFor(() => expect(button("Test")).toBeEnabled());
    fireEvent.click(button("Test"));
    const result = await screen.findByRole("region", { name: "Test result" });
    expect(result).toHaveTextContent("Applying creates 3 slots, removes 0 idle, 0 busy affected.");
    expect(result).toHaveTextContent("42 accounts match");
    expect(within(result).getByText('{"email":"a@x","id":1}')).toBeInTheDocument();
  });

  it("deletes only after confirmation and shows a refusal in the dialog", async () => {
    mockApi.getDefinition.mockResolvedValue(detail("zoom", yaml("zoom", 5), yaml("zoom", 5), { state: "applied", version: 3 }));
    mockApi.deleteDefinition
      .mockRejectedValueOnce(new ApiError("conflict", "zoom has 1 busy and 0 deploying slots; delete it once they are done"))
      .mockResolvedValueOnce({ name: "zoom", file: "zoom.yaml", note: "the database keeps the pool zoom with its 2 slots and applied versions; only the file is gone" });
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
    expect(await screen.findByText(/Deleted zoom.yaml: the database keeps the pool zoom/)).toBeInTheDocument();
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
  });
});
