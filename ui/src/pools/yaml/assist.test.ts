// Completion and hover against the real schema (what `berth pools schema`
// prints, kept in src/dev for the mock backend).
import schemaText from "../../dev/definition-schema.json?raw";
import { completeAt, hoverAt } from "./assist";
import { parseSchema } from "./schema";

const schema = parseSchema(schemaText)!;
/** `text` with the cursor at `‸`: the text without it, and the offset. */
const cursor = (t: string) => [t.replace("‸", ""), t.indexOf("‸")] as const;
const labels = (t: string) => {
  const [text, at] = cursor(t);
  return completeAt(schema, text, at)?.options.map((o) => o.label) ?? [];
};

describe("parseSchema", () => {
  it("takes the shell's schema and refuses what is not one", () => {
    expect(schema).toMatchObject({ title: "Berth pool definition", type: "object" });
    expect(parseSchema("{}")).toBeNull();
    expect(parseSchema("not json")).toBeNull();
    expect(parseSchema(null)).toBeNull();
  });
});

describe("completion", () => {
  it("offers the top-level keys not yet written, required ones marked and first", () => {
    const [text, at] = cursor("name: a\nm‸");
    const r = completeAt(schema, text, at)!;
    const names = r.options.map((o) => o.label);
    expect(names).toContain("meeting_platform");
    expect(names).toContain("accounts");
    expect(names).not.toContain("name");
    const mp = r.options.find((o) => o.label === "meeting_platform")!;
    expect(mp).toMatchObject({ detail: "string · required", info: "The meeting platform its bots join.", apply: "meeting_platform: ", boost: 1 });
    expect(r.from).toBe(8);
  });

  it("offers an enum's members as a value, and a list's items after `- `", () => {
    expect(labels("meeting_platform: ‸")).toEqual(["google-meet", "microsoft-teams", "zoom"]);
    expect(labels("platforms:\n  - k8s\n  - ‸")).toEqual(["k8s", "aws", "coolify", "local"]);
  });

  it("offers the keys of the account source's branch its `type` picks", () => {
    expect(labels("accounts:\n  type: sql\n  ‸").sort()).toEqual(["builder", "pool_config", "query"]);
    expect(labels("accounts:\n  type: file\n  ‸").sort()).toEqual(["directory", "pool_config"]);
    expect(labels("accounts:\n  type: ‸")).toEqual(["sql", "file"]);
  });

  it("follows list items into their mappings and documents each comparator", () => {
    expect(labels("accounts:\n  type: sql\n  query:\n    parameters:\n      - name: status\n        ‸").sort()).toEqual(["type", "value"]);
    const [text, at] = cursor("accounts:\n  type: sql\n  builder:\n    filters:\n    - column: a\n      op: ‸");
    const ops = completeAt(schema, text, at)!.options;
    expect(ops.map((o) => o.label)).toContain("not_in");
    expect(ops.find((o) => o.label === "in")?.info).toBe("One of a list.");
  });

  it("opens an object's (or a list's) block on the next line, indented under the key", () => {
    const [text, at] = cursor("name: a\nrec‸");
    expect(completeAt(schema, text, at)!.options.find((o) => o.label === "recovery")?.apply).toBe("recovery:\n  ");
    const [nested, n] = cursor("accounts:\n  type: sql\n  query:\n    par‸");
    expect(completeAt(schema, nested, n)!.options.find((o) => o.label === "parameters")?.apply).toBe("parameters:\n      - ");
  });

  it("keeps an existing `:` and replaces the whole word when completing inside a key", () => {
    const [text, at] = cursor("meet‸ing: zoom\n");
    const r = completeAt(schema, text, at)!;
    expect(r.to).toBe(text.indexOf(":"));
    expect(r.options.find((o) => o.label === "meeting_platform")?.apply).toBe("meeting_platform");
  });

  it("offers nothing inside a block scalar's text or under a key the schema does not know", () => {
    expect(labels("accounts:\n  type: sql\n  query:\n    select: |\n      SELECT ‸")).toEqual([]);
    expect(labels("nonsense:\n  ‸")).toEqual([]);
  });
});

describe("hover", () => {
  const text = "name: a\nmeeting_platform: zoom\nrecovery:\n  interval: 5m\naccounts:\n  type: sql\n  builder:\n    filters:\n      - column: a\n        op: in\n";
  const at = (needle: string, d = 1) => hoverAt(schema, text, text.indexOf(needle) + d);

  it("shows a key's path, description, type, values and default over the key", () => {
    expect(at("meeting_platform")).toEqual({
      from: 8,
      to: 24,
      path: "meeting_platform",
      help: "The meeting platform its bots join.\nType: string\nOne of: google-meet, microsoft-teams, zoom",
    });
    expect(at("interval")).toMatchObject({ path: "recovery.interval", help: expect.stringContaining("How often recovery looks") });
    expect(at("interval")!.help).toContain("Default: 5m");
  });

  it("puts a documented value's own help first, with the list index in the path", () => {
    const h = at("in\n", 0)!;
    expect(h.path).toBe("accounts.builder.filters[0].op");
    expect(h.help.split("\n")[0]).toBe("in: One of a list.");
    expect(h.from).toBe(text.indexOf("in\n"));
  });

  it("shows nothing over a comment, a blank or an unknown key", () => {
    expect(hoverAt(schema, "# name\n", 3)).toBeNull();
    expect(hoverAt(schema, "nonsense: 1\n", 2)).toBeNull();
  });
});
