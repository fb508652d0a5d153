// The YAML code editor (CodeMirror) in tests: it is a contenteditable, not a
// textarea, so its text is read and replaced through its view (as a user's
// edit: the page hears it like typing).
import { forEachDiagnostic } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { act, screen } from "@testing-library/react";

/** The editor's text box (CodeMirror's content element), by its accessible name. */
export const findCodeEditor = (name = "Definition YAML") => screen.findByRole("textbox", { name });

function viewOf(el: HTMLElement): EditorView {
  const view = EditorView.findFromDOM(el);
  if (!view) throw new Error("not a code editor");
  return view;
}

/** The editor's whole text. */
export const editorText = (el: HTMLElement) => viewOf(el).state.doc.toString();

/** Replaces the editor's text as an edit of the user's. */
export function setEditorText(el: HTMLElement, text: string) {
  const view = viewOf(el);
  act(() => {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, userEvent: "input.paste" });
  });
}

/** The editor's diagnostics: the 1-based line each starts on, the text it marks, its message. */
export function editorDiagnostics(el: HTMLElement): { line: number; text: string; message: string }[] {
  const { state } = viewOf(el);
  const out: { line: number; text: string; message: string }[] = [];
  forEachDiagnostic(state, (d, from, to) => out.push({ line: state.doc.lineAt(from).number, text: state.sliceDoc(from, to), message: d.message }));
  return out;
}
