import { lineDiff } from "./DiffView";
import { problemLocation } from "./problems";
import { LARGE_BATCH, needsRefreshPrompt } from "./refreshPrompt";
import { setTopLevelField, yamlScalar } from "./yamlForm";

describe("setTopLevelField", () => {
  const text = "# header\nname: zoom   # the pool\nimage: bot\nresources:\n  max_size: 1\nmax_size: 3\n";

  it("replaces a top-level line in place, keeping its comment and nested keys", () => {
    expect(setTopLevelField(text, "name", "big-zoom")).toBe(
      "# header\nname: big-zoom   # the pool\nimage: bot\nresources:\n  max_size: 1\nmax_size: 3\n",
    );
    expect(setTopLevelField(text, "max_size", "40")).toBe(
      "# header\nname: zoom   # the pool\nimage: bot\nresources:\n  max_size: 1\nmax_size: 40\n",
    );
  });

  it("appends a missing field and quotes what YAML would misread", () => {
    expect(setTopLevelField("name: a", "tag", "1.2")).toBe("name: a\ntag: 1.2\n");
    expect(setTopLevelField("name: a\n", "tag", "yes")).toBe('name: a\ntag: "yes"\n');
    expect(yamlScalar("a: b")).toBe('"a: b"');
    expect(yamlScalar("")).toBe('""');
    expect(yamlScalar("ghcr.io/acme/bot")).toBe("ghcr.io/acme/bot");
  });
});

describe("needsRefreshPrompt", () => {
  const now = Date.parse("2026-01-15T10:00:00Z");
  const ago = (ms: number) => new Date(now - ms).toISOString();

  it("asks before a large batch on a stale or never-read source", () => {
    expect(needsRefreshPrompt(ago(120_000), 60_000, LARGE_BATCH, now)).toBe(true);
    expect(needsRefreshPrompt(null, 60_000, 50, now)).toBe(true);
  });

  it("does not ask for small batches, fresh sources or pools without a source", () => {
    expect(needsRefreshPrompt(ago(120_000), 60_000, LARGE_BATCH - 1, now)).toBe(false);
    expect(needsRefreshPrompt(ago(30_000), 60_000, 100, now)).toBe(false);
    expect(needsRefreshPrompt(null, null, 100, now)).toBe(false);
  });
});

describe("lineDiff", () => {
  it("marks removed and added lines", () => {
    expect(lineDiff("a\nb\nc\n", "a\nB\nc\nd\n")).toEqual([
      { sign: " ", text: "a" },
      { sign: "−", text: "b" },
      { sign: "+", text: "B" },
      { sign: " ", text: "c" },
      { sign: "+", text: "d" },
    ]);
  });
});

describe("problemLocation", () => {
  it("joins what is known", () => {
    expect(problemLocation({ file: "a.yaml", line: 3, column: 7, field: null, message: "x" })).toBe("a.yaml:3:7");
    expect(problemLocation({ file: null, line: 3, column: 7, field: null, message: "x" })).toBe("3:7");
    expect(problemLocation({ file: "a.yaml", line: null, column: null, field: null, message: "x" })).toBe("a.yaml");
  });
});
