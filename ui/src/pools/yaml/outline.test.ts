import { contextAt, nodeAt, outline, pathOf } from "./outline";

/** `text` with the cursor at `‸`: the text without it, and the offset. */
const cursor = (t: string) => [t.replace("‸", ""), t.indexOf("‸")] as const;

const DEFINITION = `# a pool
name: zoom-a   # the name
meeting_platform: zoom
platforms:
  - k8s
  - aws
accounts:
  type: sql
  query:
    select: |
      SELECT id
        FROM accounts
    parameters:
      - name: status
        type: string
      - { name: limit, type: int, value: 3 }
recovery:
  interval: 5m
`;

describe("outline", () => {
  it("gives every node its path, through nested mappings, list items and past block text", () => {
    const paths = outline(DEFINITION).map((n) => pathOf(n).join("."));
    expect(paths).toEqual([
      "name",
      "meeting_platform",
      "platforms",
      "platforms.0",
      "platforms.1",
      "accounts",
      "accounts.type",
      "accounts.query",
      "accounts.query.select",
      "accounts.query.parameters",
      "accounts.query.parameters.0.name",
      "accounts.query.parameters.0.type",
      "accounts.query.parameters.1",
      "recovery",
      "recovery.interval",
    ]);
  });

  it("reads a value without its comment, with its columns", () => {
    const name = outline(DEFINITION).find((n) => n.key === "name")!;
    expect(name).toMatchObject({ line: 1, value: "zoom-a", keyFrom: 0, keyTo: 4, valueFrom: 6, valueTo: 12 });
  });

  it("counts list items written at the key's own indentation", () => {
    const paths = outline("platforms:\n- k8s\n- aws\ntag: x\n").map((n) => pathOf(n).join("."));
    expect(paths).toEqual(["platforms", "platforms.0", "platforms.1", "tag"]);
  });

  it("finds the key or value under a column", () => {
    expect(nodeAt(DEFINITION, 2, 3)).toMatchObject({ part: "key", node: { key: "meeting_platform" } });
    expect(nodeAt(DEFINITION, 2, 19)).toMatchObject({ part: "value", node: { key: "meeting_platform" } });
    expect(nodeAt(DEFINITION, 0, 2)).toBeNull();
  });
});

describe("contextAt", () => {
  it("is a key at the top, with the mapping's other keys as siblings", () => {
    const [text, at] = cursor("name: a\nme‸\ntag: x\n");
    const ctx = contextAt(text, at)!;
    expect(ctx).toMatchObject({ kind: "key", path: [], prefix: "me", from: 8, item: false });
    expect([...ctx.siblings]).toEqual([
      ["name", "a"],
      ["tag", "x"],
    ]);
  });

  it("is a value after `key:`, without its opening quote", () => {
    const [text, at] = cursor('name: a\ntag: "1.‸');
    expect(contextAt(text, at)).toMatchObject({ kind: "value", path: ["tag"], prefix: "1.", from: at - 2 });
  });

  it("is a key of a list item's mapping on the item's next line, and a fresh item after `- `", () => {
    const [text, at] = cursor("accounts:\n  query:\n    parameters:\n      - name: a\n        ‸");
    expect(contextAt(text, at)).toMatchObject({ kind: "key", path: ["accounts", "query", "parameters", 0], siblings: new Map([["name", "a"]]) });
    const [text2, at2] = cursor("platforms:\n  - k8s\n  - a‸");
    expect(contextAt(text2, at2)).toMatchObject({ kind: "key", path: ["platforms", 1], prefix: "a", item: true });
  });

  it("has nothing to offer in block text, a comment or a flow mapping", () => {
    const [block, b] = cursor("query:\n  select: |\n    SELECT ‸");
    expect(contextAt(block, b)).toBeNull();
    const [comment, c] = cursor("name: a # the na‸");
    expect(contextAt(comment, c)).toBeNull();
    const [flow, f] = cursor("filters:\n  - { column: a, op: ‸");
    expect(contextAt(flow, f)).toBeNull();
  });
});
