import { Text } from "@codemirror/state";
import type { DefinitionProblem } from "../../api/types";
import { locateField, problemRange, toDiagnostics } from "./diagnostics";

const TEXT = "name: zoom\nmeeting_platform: zom   # typo\nmax_size: x\nrecovery:\n  interval: soon\n";
const doc = Text.of(TEXT.split("\n"));
const problem = (p: Partial<DefinitionProblem>): DefinitionProblem => ({ file: null, line: null, column: null, field: null, message: "bad", ...p });
const marked = (p: Partial<DefinitionProblem>) => {
  const r = problemRange(doc, problem(p));
  return r && TEXT.slice(r.from, r.to);
};

describe("problemRange", () => {
  it("marks the token at the problem's line and column (not its comment)", () => {
    expect(marked({ line: 2, column: 19 })).toBe("zom");
    expect(marked({ line: 3, column: 11 })).toBe("x");
  });

  it("marks the line's text without a column, or with one past its end", () => {
    expect(marked({ line: 5 })).toBe("interval: soon");
    expect(marked({ line: 3, column: 40 })).toBe("max_size: x");
  });

  it("places an unlocated problem by its field's key, and leaves out what it cannot place", () => {
    expect(marked({ field: "recovery.interval" })).toBe("interval");
    expect(locateField(TEXT, "recovery.interval")).toEqual({ line: 5, column: 3 });
    expect(marked({ field: "accounts.query" })).toBeNull();
    expect(marked({})).toBeNull();
  });

  it("keeps a line past the end of the text on the last line", () => {
    expect(problemRange(doc, problem({ line: 99, column: 1 }))).toEqual({ from: TEXT.length, to: TEXT.length });
  });
});

describe("toDiagnostics", () => {
  it("makes each placed problem an error, its field in the message", () => {
    const d = toDiagnostics(doc, [
      problem({ line: 3, column: 11, field: "max_size", message: 'invalid type: string "x", expected u32' }),
      problem({ message: "nowhere" }),
    ]);
    expect(d).toEqual([{ from: TEXT.indexOf("x\n"), to: TEXT.indexOf("x\n") + 1, severity: "error", message: 'max_size: invalid type: string "x", expected u32' }]);
  });
});
