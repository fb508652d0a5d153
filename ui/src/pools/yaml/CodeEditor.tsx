// The definition's YAML in CodeMirror 6: highlighting, completion and hover
// help from the schema, Berth's problems as inline diagnostics. Loaded on
// demand (its own chunk, see ../YamlEditor.tsx): the views that never edit
// YAML never load it.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, indentOnInput, indentUnit } from "@codemirror/language";
import { lintGutter, lintKeymap, setDiagnostics } from "@codemirror/lint";
import { Annotation, EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  hoverTooltip,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { useEffect, useRef } from "react";
import type { DefinitionProblem } from "../../api/types";
import { schemaCompletion, schemaHover, type SchemaSource } from "./assist";
import { problemRange, toDiagnostics } from "./diagnostics";
import type { JsonSchema } from "./schema";
import { berthTheme } from "./theme";

export interface CodeEditorProps {
  value: string;
  onChange: (text: string) => void;
  /** The validation's problems (of the text as last validated). */
  problems: readonly DefinitionProblem[];
  /** The definition's JSON Schema, once loaded. */
  schema: JsonSchema | null;
  /** The accessible name of the text box. */
  label: string;
  /** A problem to show (a new object each time it is asked for). */
  reveal?: Reveal | null;
}

/** A place to show in the editor: a problem, by its line and column. */
export interface Reveal {
  problem: DefinitionProblem;
}

/**
 * What the desktop end-to-end test (WebDriver, which cannot import modules)
 * uses to read and replace the text: `el.berthEditor` on the element with
 * `data-testid="definition-yaml"`. Replacing counts as the user's edit.
 */
export interface EditorHandle {
  getText(): string;
  setText(text: string): void;
}

/** Marks the text the page sets (not an edit to report back). */
const fromProps = Annotation.define<boolean>();

function extensions(label: string, schema: SchemaSource, changed: (text: string) => void): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    EditorState.tabSize.of(2),
    indentUnit.of("  "),
    yaml(),
    autocompletion({ override: [schemaCompletion(schema)], icons: false }),
    hoverTooltip(schemaHover(schema), { hoverTime: 350 }),
    lintGutter(),
    // Tab indents (YAML has no tabs); Escape then Tab (or Ctrl-M) moves focus
    // on: CodeMirror's tab-focus mode, so the keyboard can leave the editor.
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap, indentWithTab]),
    berthTheme,
    EditorView.contentAttributes.of({ "aria-label": label, "aria-describedby": "definition-yaml-keys" }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged && !u.transactions.some((t) => t.annotation(fromProps))) changed(u.state.doc.toString());
    }),
  ];
}

/** A YAML code editor over `value`; edits go to `onChange`. */
export default function CodeEditor({ value, onChange, problems, schema, label, reveal = null }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef({ onChange, schema });
  useEffect(() => {
    latest.current = { onChange, schema };
  }, [onChange, schema]);

  // One view per mount; the text it starts with is the value of that moment.
  const initial = useRef(value);
  useEffect(() => {
    const el = host.current!;
    const v = new EditorView({
      parent: el,
      state: EditorState.create({
        doc: initial.current,
        extensions: extensions(label, () => latest.current.schema, (text) => latest.current.onChange(text)),
      }),
    });
    view.current = v;
    const handle: EditorHandle = {
      getText: () => v.state.doc.toString(),
      setText: (text) => v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text }, userEvent: "input.paste" }),
    };
    (el as HTMLDivElement & { berthEditor?: EditorHandle }).berthEditor = handle;
    return () => {
      delete (el as HTMLDivElement & { berthEditor?: EditorHandle }).berthEditor;
      v.destroy();
      view.current = null;
    };
  }, [label]);

  // The page changed the text (the form, the query builder, a reload).
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value }, annotations: fromProps.of(true) });
    }
  }, [value]);

  // New problems: placed on the text as it is (the editor maps them through later edits).
  const key = JSON.stringify(problems);
  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state.doc, JSON.parse(key) as DefinitionProblem[])));
  }, [key]);

  // Asked to show a problem: select its range, bring it into view, take focus.
  // (Not one asked for before this editor was mounted: coming back to the YAML is no request.)
  const revealed = useRef(reveal);
  useEffect(() => {
    if (reveal === revealed.current) return;
    revealed.current = reveal;
    const v = view.current;
    const range = v && reveal ? problemRange(v.state.doc, reveal.problem) : null;
    if (!v || !range) return;
    v.dispatch({ selection: { anchor: range.from, head: range.to }, effects: EditorView.scrollIntoView(range.from, { y: "center" }) });
    v.focus();
  }, [reveal]);

  return <div ref={host} data-testid="definition-yaml" className="h-full min-h-0" />;
}
