import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiError } from "../api/errors";
import type { BuilderTable, DefinitionList } from "../api/types";
import { detail, row, validate } from "../test/definitions";
import { editorText, findCodeEditor, setEditorText } from "../test/editor";
import { mockApi, resetMockApi } from "../test/mockApi";
import { renderApp } from "../test/render";
import { PoolsPage } from "./PoolsPage";
import { TYPING_PAUSE_MS } from "./QueryBuilder";
import { COMPARATORS, writeBuilder } from "./queryBuilder";

vi.mock("../api/tauri", async () => (await import("../test/mockApi")).tauriModule);
// The real writer, counted: a keystroke must not rewrite the whole YAML.
vi.mock("./queryBuilder", async (original) => {
  const real = await original<typeof import("./queryBuilder")>();
  return { ...real, writeBuilder: vi.fn(real.writeBuilder) };
});

const HEAD = `# Berth pool: zoom bots
name: zoom
meeting_platform: zoom
image: bot
tag: latest   # pinned by release
max_size: 5
prewarm: 0
`;

const WITH_BUILDER = `${HEAD}accounts:
  type: sql
  builder:
    table: accounts   # the main table
    columns: [id, email]
    filters:
      - { column: status, op: in, value: [available, retry] }
    sort:
      - { column: pack_count, direction: desc }
    limit: 100
  pool_config: { retry_failed: true, max_failures: 3, refresh_interval: 5m }   # leasing
# trailing comment
`;

const WITH_QUERY = `${HEAD}accounts:
  type: sql
  query:
    select: SELECT id, email FROM accounts WHERE status = :status
    parameters:
      - { name: status, type: string, value: available }
  pool_config:
    refresh_interval: 5m   # re-read often
`;

const ACCOUNTS: BuilderTable = {
  schema: "public",
  table: "accounts",
  columns: [
    { name: "id", dataType: "integer" },
    { name: "email", dataType: "text" },
    { name: "status", dataType: "text" },
    { name: "pack_count", dataType: "bigint" },
    { name: "banned_at", dataType: "timestamp with time zone" },
    { name: "verified", dataType: "boolean" },
  ],
};
const INVOICES: BuilderTable = {
  schema: "billing",
  table: "invoices",
  columns: [
    { name: "invoice_no", dataType: "text" },
    { name: "amount", dataType: "numeric" },
  ],
};

const LIST: DefinitionList = { directory: "/pools", definitions: [row("zoom", { state: "notApplied" })], problems: [] };

beforeEach(() => {
  vi.mocked(writeBuilder).mockClear();
  resetMockApi();
  mockApi.listDefinitions.mockResolvedValue(LIST);
  mockApi.validateDefinition.mockImplementation(validate);
  mockApi.queryTables.mockResolvedValue(["accounts", "billing.invoices"]);
  mockApi.tableColumns.mockImplementation(async (table: string) => {
    if (table === "accounts") return ACCOUNTS;
    if (table === "billing.invoices") return INVOICES;
    throw new ApiError("query_refused", `the query role cannot read any column of ${table}`);
  });
});

const button = (name: string) => screen.getByRole("button", { name });
const builder = () => screen.getByRole("region", { name: "Query builder" });
const options = (select: HTMLElement) => within(select).getAllByRole("option").filter((o) => !(o as HTMLOptionElement).disabled);
const values = (select: HTMLElement) => options(select).map((o) => (o as HTMLOptionElement).value);

/** Opens zoom with `text`, switches to the builder and waits for the table's columns. */
async function openBuilder(text: string) {
  mockApi.getDefinition.mockResolvedValue(detail("zoom", text, null, { state: "notApplied" }));
  renderApp(<PoolsPage />);
  fireEvent.click(await screen.findByRole("button", { name: "zoom" }));
  await screen.findByRole("textbox", { name: "Definition YAML" });
  fireEvent.click(button("Query builder"));
}

async function yamlText() {
  fireEvent.click(button("YAML"));
  return editorText(await findCodeEditor());
}

describe("Query builder", () => {
  it("loads an existing builder into the form", async () => {
    await openBuilder(WITH_BUILDER);
    const form = builder();
    await within(form).findByRole("checkbox", { name: "id" });
    expect(within(form).getByRole("combobox", { name: "Table" })).toHaveValue("accounts");
    expect(mockApi.tableColumns).toHaveBeenCalledWith("accounts");
    expect(within(form).getByRole("checkbox", { name: "id" })).toBeChecked();
    expect(within(form).getByRole("checkbox", { name: "email" })).toBeChecked();
    expect(within(form).getByRole("checkbox", { name: "status" })).not.toBeChecked();

    const filter = within(form).getByRole("group", { name: "Filter 1" });
    expect(within(filter).getByRole("combobox", { name: "Column" })).toHaveValue("status");
    expect(within(filter).getByRole("combobox", { name: "Comparator" })).toHaveValue("in");
    expect(within(filter).getByRole("textbox", { name: "Values, comma-separated" })).toHaveValue("available, retry");
    expect(within(form).queryByRole("group", { name: "Filter 2" })).not.toBeInTheDocument();

    const sort = within(form).getByRole("group", { name: "Sort 1" });
    expect(within(sort).getByRole("combobox", { name: "Column" })).toHaveValue("pack_count");
    expect(within(sort).getByRole("combobox", { name: "Direction" })).toHaveValue("desc");
    expect(within(form).getByRole("spinbutton", { name: "Limit" })).toHaveValue(100);
    // Opening the builder changes nothing.
    expect(await yamlText()).toBe(WITH_BUILDER);
  });

  it("adding filters writes them into accounts.builder, typed by column, leaving the rest of the file as written", async () => {
    await openBuilder(WITH_BUILDER);
    const form = builder();
    await within(form).findByRole("checkbox", { name: "id" });

    fireEvent.click(within(form).getByRole("button", { name: "Add filter" }));
    const second = within(form).getByRole("group", { name: "Filter 2" });
    fireEvent.change(within(second).getByRole("combobox", { name: "Column" }), { target: { value: "pack_count" } });
    fireEvent.change(within(second).getByRole("combobox", { name: "Comparator" }), { target: { value: ">=" } });
    const number = within(second).getByRole("spinbutton", { name: "Value" });
    fireEvent.change(number, { target: { value: "10" } });

    fireEvent.click(within(form).getByRole("button", { name: "Add filter" }));
    const third = within(form).getByRole("group", { name: "Filter 3" });
    fireEvent.change(within(third).getByRole("combobox", { name: "Column" }), { target: { value: "banned_at" } });
    fireEvent.change(within(third).getByRole("combobox", { name: "Comparator" }), { target: { value: "is_null" } });
    expect(within(third).queryByRole("textbox")).not.toBeInTheDocument();

    fireEvent.click(within(form).getByRole("button", { name: "Add filter" }));
    const fourth = within(form).getByRole("group", { name: "Filter 4" });
    fireEvent.change(within(fourth).getByRole("combobox", { name: "Column" }), { target: { value: "verified" } });
    expect(values(within(fourth).getByRole("combobox", { name: "Value" }))).toEqual(["true", "false"]);

    expect(await yamlText()).toBe(
      WITH_BUILDER.replace(
        "      - { column: status, op: in, value: [available, retry] }\n",
        [
          "      - { column: status, op: in, value: [available, retry] }",
          '      - { column: pack_count, op: ">=", value: 10 }',
          "      - { column: banned_at, op: is_null }",
          "      - { column: verified, op: =, value: true }",
          "",
        ].join("\n"),
      ),
    );
    await waitFor(() => expect(mockApi.validateDefinition).toHaveBeenLastCalledWith(expect.stringContaining("value: 10 }")));
  });

  it("writes a comma-separated list for in, and removes a filter", async () => {
    await openBuilder(WITH_BUILDER);
    const form = builder();
    await within(form).findByRole("checkbox", { name: "id" });
    const filter = within(form).getByRole("group", { name: "Filter 1" });
    fireEvent.change(within(filter).getByRole("combobox", { name: "Column" }), { target: { value: "id" } });
    fireEvent.change(within(filter).getByRole("textbox", { name: "Values, comma-separated" }), { target: { value: "1, 2,3," } });
    fireEvent.change(within(form).getByRole("spinbutton", { name: "Limit" }), { target: { value: "" } });
    fireEvent.click(within(form).getByRole("checkbox", { name: "status" }));
    let text = await yamlText();
    expect(text).toContain("      - { column: id, op: in, value: [ 1, 2, 3 ] }\n");
    expect(text).toContain("    columns: [ id, email, status ]\n");
    expect(text).not.toContain("limit:");

    fireEvent.click(button("Query builder"));
    fireEvent.click(await screen.findByRole("button", { name: "Remove filter 1" }));
    text = await yamlText();
    expect(text).not.toContain("filters:");
    expect(text).toContain("    sort:\n      - { column: pack_count, direction: desc }\n");
  });

  it("offers only the table's real columns, from tableColumns", async () => {
    await openBuilder(WITH_BUILDER);
    const form = builder();
    await within(form).findByRole("checkbox", { name: "id" });
    const names = ACCOUNTS.columns.map((c) => c.name);
    expect(within(form).getAllByRole("checkbox").map((c) => c.closest("label")?.textContent)).toEqual(names);
    expect(values(within(within(form).getByRole("group", { name: "Filter 1" })).getByRole("combobox", { name: "Column" }))).toEqual(names);
    expect(values(within(within(form).getByRole("group", { name: "Sort 1" })).getByRole("combobox", { name: "Column" }))).toEqual(names);
    expect(values(within(form).getByRole("combobox", { name: "Table" }))).toEqual(["accounts", "billing.invoices"]);

    // Another table: its own columns only; the old table's filters and sort go.
    fireEvent.change(within(form).getByRole("combobox", { name: "Table" }), { target: { value: "billing.invoices" } });
    await within(form).findByRole("checkbox", { name: "invoice_no" });
    expect(mockApi.tableColumns).toHaveBeenLastCalledWith("billing.invoices");
    expect(within(form).queryByRole("group", { name: "Filter 1" })).not.toBeInTheDocument();
    fireEvent.click(within(form).getByRole("button", { name: "Add filter" }));
    const filter = within(form).getByRole("group", { name: "Filter 1" });
    expect(values(within(filter).getByRole("combobox", { name: "Column" }))).toEqual(["invoice_no", "amount"]);
    fireEvent.change(within(filter).getByRole("combobox", { name: "Column" }), { target: { value: "amount" } });
    fireEvent.change(within(filter).getByRole("combobox", { name: "Comparator" }), { target: { value: "<" } });
    fireEvent.change(within(filter).getByRole("spinbutton", { name: "Value" }), { target: { value: "12.5" } });
    const text = await yamlText();
    expect(text).toContain("    table: billing.invoices   # the main table\n    filters:\n      - { column: amount, op: <, value: 12.5 }\n    limit: 100\n");
    expect(text).not.toContain("columns:");
    expect(text).not.toContain("sort:");
  });

  it("offers exactly the allowed comparators", async () => {
    await openBuilder(WITH_BUILDER);
    const form = builder();
    await within(form).findByRole("checkbox", { name: "id" });
    const comparator = within(within(form).getByRole("group", { name: "Filter 1" })).getByRole("combobox", { name: "Comparator" });
    expect(values(comparator)).toEqual(["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "like", "is_null", "is_not_null"]);
    expect(values(comparator)).toEqual([...COMPARATORS]);
  });

  it("shows a refused table's error inline", async () => {
    await openBuilder(WITH_BUILDER.replace("table: accounts", "table: secrets"));
    const alert = await within(builder()).findByRole("alert");
    expect(alert).toHaveTextContent("[query_refused]");
    expect(alert).toHaveTextContent("Cannot use the table secrets");
    expect(alert).toHaveTextContent("the query role cannot read any column of secrets");
    expect(within(builder()).getByRole("button", { name: "Add filter" })).toBeDisabled();
  });

  it("replaces a hand-written query only after the user confirms", async () => {
    await openBuilder(WITH_QUERY);
    const dialog = screen.getByRole("dialog", { name: "Replace the hand-written query?" });
    expect(screen.queryByRole("region", { name: "Query builder" })).not.toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(editorText(screen.getByRole("textbox", { name: "Definition YAML" }))).toBe(WITH_QUERY);

    fireEvent.click(button("Query builder"));
    fireEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Use the query builder" }));
    const form = builder();
    expect(within(form).getByRole("note")).toHaveTextContent("replaces the hand-written accounts.query");
    // Confirming alone writes nothing; the first edit does.
    expect(await yamlText()).toBe(WITH_QUERY);
    // Still a query: asked again.
    fireEvent.click(button("Query builder"));
    fireEvent.click(within(screen.getByRole("dialog", { name: "Replace the hand-written query?" })).getByRole("button", { name: "Use the query builder" }));
    const table = await within(builder()).findByRole("combobox", { name: "Table" });
    await waitFor(() => expect(values(table)).toContain("accounts"));
    fireEvent.change(table, { target: { value: "accounts" } });
    expect(await yamlText()).toBe(`${HEAD}accounts:
  type: sql
  builder:
    table: accounts
  pool_config:
    refresh_interval: 5m   # re-read often
`);
  });

  it("adds an SQL builder source to a pool without one, and is not offered for a file source", async () => {
    await openBuilder(HEAD);
    const table = within(builder()).getByRole("combobox", { name: "Table" });
    await waitFor(() => expect(values(table)).toContain("accounts"));
    fireEvent.change(table, { target: { value: "accounts" } });
    expect(await yamlText()).toBe(`${HEAD}accounts:\n  type: sql\n  builder:\n    table: accounts\n`);

    setEditorText(screen.getByRole("textbox", { name: "Definition YAML" }), `${HEAD}accounts:\n  type: file\n  directory: accounts/\n`);
    expect(button("Query builder")).toBeDisabled();
    expect(button("Query builder")).toHaveAttribute("title", "The query builder is for SQL account sources (this one is file)");
  });

  describe("typing at 30 ms a key (issue 11, item 26)", () => {
    const WITH_EQUALS = WITH_BUILDER.replace("{ column: status, op: in, value: [available, retry] }", '{ column: status, op: =, value: "" }');

    /** The builder open on WITH_EQUALS, then a keyboard on a virtual clock (each key 30 ms after the last). */
    async function typist() {
      await openBuilder(WITH_EQUALS);
      const form = builder();
      await within(form).findByRole("checkbox", { name: "id" });
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      // Testing Library lets React settle with a setTimeout(0) after each
      // user-event call, and advances fake timers for it only under `jest`.
      vi.stubGlobal("jest", { advanceTimersByTime: (ms: number) => vi.advanceTimersByTime(ms) });
      const input = within(within(form).getByRole("group", { name: "Filter 1" })).getByRole("textbox", { name: "Value" });
      return { input, user: userEvent.setup({ delay: 30, advanceTimers: vi.advanceTimersByTime }) };
    }
    afterEach(() => {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    });

    it("keeps every key and rewrites the YAML once, when typing pauses", async () => {
      const { input, user } = await typist();
      await user.type(input, "available");
      expect(input).toHaveValue("available");
      // Nine keys, no rewrite of the whole document yet.
      expect(writeBuilder).not.toHaveBeenCalled();
      await act(async () => vi.advanceTimersByTime(TYPING_PAUSE_MS));
      expect(writeBuilder).toHaveBeenCalledTimes(1);
      vi.useRealTimers();
      const text = await yamlText();
      expect(text).toContain("      - { column: status, op: =, value: available }\n");
      expect(text).toBe(WITH_EQUALS.replace('value: "" }', "value: available }"));
    });

    it("writes what was typed at once when the field loses focus, and when the builder closes", async () => {
      const { input, user } = await typist();
      await user.type(input, "ava");
      await user.tab();
      expect(writeBuilder).toHaveBeenCalledTimes(1);
      await user.type(input, "il");
      expect(input).toHaveValue("avail");
      vi.useRealTimers();
      // Straight to the YAML (no blur): closing the builder writes it.
      expect(await yamlText()).toContain('value: avail }');
      expect(writeBuilder).toHaveBeenCalledTimes(2);
    });
  });
});
