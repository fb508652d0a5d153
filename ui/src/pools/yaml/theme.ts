// The editor's look: the app's own colours (the CSS variables of index.css's
// @theme, with the dark values as fallbacks), so a theme that redefines the
// variables restyles the editor with the rest of the app.
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { EditorView } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

const v = (name: string, fallback: string) => `var(--color-${name}, ${fallback})`;
const fg = v("fg", "#e6e9ee");
const muted = v("muted", "#8a94a3");
const dim = v("dim", "#5b6573");
const line = v("line", "#232a33");
const line2 = v("line-2", "#2e3742");
const bg = v("bg", "#0a0c0f");
const panel = v("panel", "#101317");
const panel2 = v("panel-2", "#151a20");
const accent = v("accent", "#60a5fa");
const error = v("error", "#f87171");
const mix = (color: string, pct: number) => `color-mix(in srgb, ${color} ${pct}%, transparent)`;

const editorTheme = EditorView.theme({
  "&": { height: "100%", color: fg, backgroundColor: bg, fontSize: "12px" },
  "&.cm-focused": { outline: `1px solid ${accent}` },
  ".cm-scroller": { fontFamily: "var(--font-mono, ui-monospace, monospace)", lineHeight: "20px" },
  ".cm-content": { caretColor: accent, padding: "8px 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: accent },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: mix(accent, 30),
  },
  ".cm-activeLine": { backgroundColor: mix(panel2, 60) },
  ".cm-gutters": { backgroundColor: bg, color: dim, borderRight: `1px solid ${line}` },
  ".cm-activeLineGutter": { backgroundColor: panel2, color: muted },
  ".cm-lineNumbers .cm-gutterElement": { padding: "0 8px 0 6px" },
  ".cm-matchingBracket": { backgroundColor: mix(accent, 25), outline: "none" },
  ".cm-tooltip": { backgroundColor: panel, color: fg, border: `1px solid ${line2}` },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: mix(accent, 25), color: fg },
  ".cm-completionDetail": { color: muted, fontStyle: "normal", marginLeft: "1em" },
  ".cm-completionInfo": { maxWidth: "420px", padding: "6px 8px", whiteSpace: "pre-line" },
  ".cm-berth-help": { maxWidth: "460px", padding: "6px 8px", fontSize: "12px", lineHeight: "18px" },
  ".cm-berth-help-path": { fontFamily: "var(--font-mono, monospace)", color: accent, marginBottom: "2px" },
  ".cm-diagnostic": { padding: "4px 8px", borderLeftWidth: "3px" },
  ".cm-diagnostic-error": { borderLeftColor: error },
  // CodeMirror's own wavy underline and gutter dot (inline SVG), on a tint of the app's error colour.
  ".cm-lintRange-error": { backgroundColor: mix(error, 14) },
  ".cm-gutter-lint .cm-gutterElement": { padding: "0 2px" },
  ".cm-panels": { backgroundColor: panel, color: fg },
});

const highlight = HighlightStyle.define([
  { tag: [t.propertyName, t.definition(t.propertyName)], color: v("accent", "#60a5fa") },
  { tag: [t.string, t.special(t.string), t.content], color: v("idle", "#34d399") },
  { tag: [t.number, t.bool, t.null, t.atom], color: v("busy", "#fbbf24") },
  { tag: [t.comment, t.lineComment], color: dim, fontStyle: "italic" },
  { tag: [t.meta, t.keyword, t.labelName, t.typeName], color: muted },
  { tag: [t.punctuation, t.separator, t.squareBracket, t.brace], color: muted },
  { tag: t.invalid, color: error },
]);

/** The editor's theme and syntax colours. */
export const berthTheme = [editorTheme, syntaxHighlighting(highlight)];
