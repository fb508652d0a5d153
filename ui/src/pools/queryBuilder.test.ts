import { parse } from "yaml";
import { EMPTY_FORM, filterData, readAccounts, valueKind, writeBuilder, type BuilderForm } from "./queryBuilder";

const untyped = () => null;
const form = (patch: Partial<BuilderForm>): BuilderForm => ({ ...EMPTY_FORM, table: "accounts", ...patch });

describe("readAccounts", () => {
  it("tells builder, query, other and missing sources apart", () => {
    expect(readAccounts("name: a\n")).toEqual({ kind: "none" });
    expect(readAccounts("name: a\naccounts:\n  type: file\n  directory: x\n")).toEqual({ kind: "other", type: "file" });
    expect(readAccounts("name: a\naccounts:\n  type: sql\n  query: { select: SELECT 1 }\n")).toEqual({ kind: "query" });
    expect(readAccounts("name: [a\n")).toEqual({ kind: "unparsable" });
    expect(readAccounts("- a\n")).toEqual({ kind: "unparsable" });
    expect(
      readAccounts(
        "accounts:\n  type: sql\n  builder:\n    table: s.t\n    filters:\n      - { column: n, op: in, value: [1, 2] }\n      - { column: b, op: is_null }\n    limit: 5\n",
      ),
    ).toEqual({
      kind: "builder",
      form: { table: "s.t", columns: [], filters: [{ column: "n", op: "in", value: "1, 2" }, { column: "b", op: "is_null", value: "" }], sort: [], limit: "5" },
    });
  });
});

describe("filter values", () => {
  it("types values by the column's database type", () => {
    expect(["integer", "bigint", "smallint", "numeric", "real", "double precision", "numeric(10,2)"].map(valueKind)).toEqual(Array(7).fill("number"));
    expect(valueKind("boolean")).toBe("boolean");
    expect(valueKind("timestamp with time zone")).toBe("text");
    expect(filterData({ column: "n", op: ">=", value: "10" }, "number")).toEqual({ column: "n", op: ">=", value: 10 });
    expect(filterData({ column: "s", op: "=", value: "10" }, "text")).toEqual({ column: "s", op: "=", value: "10" });
    expect(filterData({ column: "b", op: "!=", value: "false" }, "boolean")).toEqual({ column: "b", op: "!=", value: false });
    expect(filterData({ column: "n", op: "not_in", value: " 1, 2 ,, 3 " }, "number")).toEqual({ column: "n", op: "not_in", value: [1, 2, 3] });
    expect(filterData({ column: "n", op: "like", value: "1%" }, "number")).toEqual({ column: "n", op: "like", value: "1%" });
    expect(filterData({ column: "n", op: "is_not_null", value: "x" }, "number")).toEqual({ column: "n", op: "is_not_null" });
  });
});

describe("writeBuilder", () => {
  it("keeps the file's own indentation and a missing final newline", () => {
    const text = "name: a\naccounts:\n    type: sql\n    builder:\n        table: t   # here\n        limit: 5";
    const out = writeBuilder(text, form({ table: "t", limit: "7", sort: [{ column: "id", direction: "asc" }] }), untyped);
    expect(out).toBe("name: a\naccounts:\n    type: sql\n    builder:\n        table: t   # here\n        sort:\n          - { column: id, direction: asc }\n        limit: 7");
    expect(parse(out).accounts.builder).toEqual({ table: "t", sort: [{ column: "id", direction: "asc" }], limit: 7 });
  });

  it("puts the builder where the query was, with the query's indentation", () => {
    const text = "accounts:\n    type: sql\n    query:\n        select: SELECT 1\n    pool_config: { max_failures: 3 }   # keep\nname: a\n";
    expect(writeBuilder(text, form({}), untyped)).toBe("accounts:\n    type: sql\n    builder:\n      table: accounts\n    pool_config: { max_failures: 3 }   # keep\nname: a\n");
  });

  it("adds an account source to a file without one, and sets the type of one without it", () => {
    expect(writeBuilder("name: a", form({}), untyped)).toBe("name: a\naccounts:\n  type: sql\n  builder:\n    table: accounts\n");
    expect(writeBuilder("accounts:\n  pool_config: { max_failures: 3 }\nname: a\n", form({}), untyped)).toBe(
      "accounts:\n  pool_config: { max_failures: 3 }\n  type: sql\n  builder:\n    table: accounts\nname: a\n",
    );
  });

  it("changes nothing when the form says what the file says", () => {
    const text = "accounts:\n  type: sql\n  builder:\n    table: accounts\n    columns: [id]   # just the key\n    filters:\n    # the one\n    - {column: x, op: '=', value: 1}\n";
    const loaded = readAccounts(text);
    expect(loaded.kind).toBe("builder");
    if (loaded.kind === "builder") expect(writeBuilder(text, loaded.form, untyped)).toBe(text);
  });
});
