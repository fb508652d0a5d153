// The editor component under jsdom: what it reports, marks and completes,
// and the keys that let the keyboard leave it. (Layout, which jsdom does
// not do, is not asserted.)
import { currentCompletions, startCompletion } from "@codemirror/autocomplete";
import { EditorView } from "@codemirror/view";
import { act, render, screen, waitFor } from "@testing-library/react";
import schemaText from "../../dev/definition-schema.json?raw";
import { editorDiagnostics, editorText, setEditorText } from "../../test/editor";
import CodeEditor, { type EditorHandle } from "./CodeEditor";
import { parseSchema } from "./schema";

const schema = parseSchema(schemaText);
const TEXT = "name: zoom\nmeeting_platform: zoom\nmax_size: x\n";
const MAX_SIZE = { file: null, line: 3, column: 11, field: "max_size", message: "expected u32" };

function renderEditor(props: Partial<Parameters<typeof CodeEditor>[0]> = {}) {
  const onChange = vi.fn<(text: string) => void>();
  const all = { value: TEXT, onChange, problems: [], schema, label: "Definition YAML", ...props };
  const r = render(<CodeEditor {...all} />);
  const box = screen.getByRole("textbox", { name: "Definition YAML" });
  const rerender = (p: Partial<typeof all>) => r.rerender(<CodeEditor {...all} {...p} />);
  return { box, onChange, rerender };
}

/** A key press on the editor's content, as the browser sends it; whether the editor took it. */
function press(box: HTMLElement, key: string, keyCode: number, shiftKey = false) {
  const e = new KeyboardEvent("keydown", { key, keyCode, shiftKey, bubbles: true, cancelable: true });
  act(() => {
    box.dispatchEvent(e);
  });
  return e.defaultPrevented;
}

describe("CodeEditor", () => {
  it("reports the user's edits, not the text the page sets", () => {
    const { box, onChange, rerender } = renderEditor();
    expect(editorText(box)).toBe(TEXT);
    setEditorText(box, "name: meet\n");
    expect(onChange).toHaveBeenLastCalledWith("name: meet\n");
    onChange.mockClear();
    rerender({ value: "name: other\n" });
    expect(editorText(box)).toBe("name: other\n");
    expect(onChange).not.toHaveBeenCalled();
  });

  it("marks the problems on the text, inline and in the gutter, and clears them", () => {
    const { box, rerender } = renderEditor({ problems: [MAX_SIZE] });
    expect(editorDiagnostics(box)).toEqual([{ line: 3, text: "x", message: "max_size: expected u32" }]);
    expect(box.querySelector(".cm-lintRange-error")).toHaveTextContent("x");
    rerender({ problems: [] });
    expect(editorDiagnostics(box)).toEqual([]);
    expect(box.querySelector(".cm-lintRange-error")).toBeNull();
  });

  it("gives the end-to-end test a handle on its element to read and replace the text (as an edit)", () => {
    const { onChange } = renderEditor();
    const handle = (screen.getByTestId("definition-yaml") as HTMLElement & { berthEditor: EditorHandle }).berthEditor;
    expect(handle.getText()).toBe(TEXT);
    act(() => handle.setText("name: e2e\n"));
    expect(onChange).toHaveBeenLastCalledWith("name: e2e\n");
  });

  it("indents with Tab, but lets Escape then Tab leave the editor", () => {
    const { box, onChange } = renderEditor({ value: "recovery:\ninterval: 5m\n" });
    const view = EditorView.findFromDOM(box)!;
    act(() => view.dispatch({ selection: { anchor: "recovery:\n".length } }));
    expect(press(box, "Tab", 9)).toBe(true);
    expect(onChange).toHaveBeenLastCalledWith("recovery:\n  interval: 5m\n");
    expect(press(box, "Tab", 9, true)).toBe(true);
    expect(onChange).toHaveBeenLastCalledWith("recovery:\ninterval: 5m\n");
    // Escape is not swallowed (a dialog around the editor still hears it), and the next Tab is the browser's.
    expect(press(box, "Escape", 27)).toBe(false);
    onChange.mockClear();
    expect(press(box, "Tab", 9)).toBe(false);
    expect(onChange).not.toHaveBeenCalled();
  });

  it("shows a problem asked for: selected, focused; not one asked for before it was mounted", () => {
    const { box, rerender } = renderEditor({ reveal: { problem: MAX_SIZE } });
    const view = EditorView.findFromDOM(box)!;
    const selected = () => view.state.sliceDoc(view.state.selection.main.from, view.state.selection.main.to);
    expect(selected()).toBe("");
    rerender({ reveal: { problem: MAX_SIZE } });
    expect(selected()).toBe("x");
    expect(view.hasFocus).toBe(true);
  });

  it("completes from the schema", async () => {
    const { box } = renderEditor({ value: "name: zoom\nmeeting_platform: " });
    const view = EditorView.findFromDOM(box)!;
    act(() => {
      view.focus();
      view.dispatch({ selection: { anchor: view.state.doc.length } });
      startCompletion(view);
    });
    await waitFor(() => expect(currentCompletions(view.state).map((c) => c.label)).toEqual(["google-meet", "microsoft-teams", "zoom"]));
  });
});
