// Completion and hover help from the definition's JSON Schema. The schema
// comes from the shell (`definition_schema`); until it is there (or when it
// is not a schema) neither offers anything.
import type { Completion, CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import type { EditorView, Tooltip } from "@codemirror/view";
import { contextAt, nodeAt, pathOf } from "./outline";
import { helpAt, propertiesAt, unquote, valuesAt, type JsonSchema } from "./schema";

/** The schema now (read at each request, so it can arrive after the editor opened). */
export type SchemaSource = () => JsonSchema | null;

/** Completions at `offset` of `text`: the keys the mapping may still take, or the values a scalar may take. */
export function completeAt(schema: JsonSchema, text: string, offset: number): { from: number; to: number; options: Completion[] } | null {
  const ctx = contextAt(text, offset);
  if (!ctx) return null;
  // Completing inside a word replaces all of it; a key that already has its `:` keeps it.
  const after = text.slice(offset).split("\n")[0]!;
  const to = offset + /^[\w.$-]*/.exec(after)![0].length;
  const colon = /^[\w.$-]*[ \t]*:/.test(after);
  if (ctx.kind === "value") {
    const options = valuesAt(schema, ctx.path, ctx.siblings).map((v) => ({
      label: v.value,
      type: "enum",
      info: v.description ?? undefined,
    }));
    return options.length > 0 ? { from: ctx.from, to, options } : null;
  }
  // An object's keys (a list's items) go on the next lines, indented under it.
  const nested = " ".repeat(ctx.from - (text.lastIndexOf("\n", ctx.from - 1) + 1) + 2);
  const written = (name: string, type: string | null) =>
    colon ? name : type === "object" ? `${name}:\n${nested}` : type === "array" ? `${name}:\n${nested}- ` : `${name}: `;
  const keys: Completion[] = propertiesAt(schema, ctx.path, ctx.siblings)
    .filter((p) => !ctx.siblings.has(p.name))
    .map((p) => ({
      label: p.name,
      type: "property",
      detail: p.required ? `${p.type ?? ""} · required`.trim() : (p.type ?? undefined),
      info: p.description ?? undefined,
      apply: written(p.name, p.type),
      // Required keys first.
      boost: p.required ? 1 : 0,
    }));
  const items: Completion[] = ctx.item ? valuesAt(schema, ctx.path).map((v) => ({ label: v.value, type: "enum", info: v.description ?? undefined })) : [];
  const options = [...keys, ...items];
  return options.length > 0 ? { from: ctx.from, to, options } : null;
}

/** The completion source over the editor's document. */
export function schemaCompletion(schema: SchemaSource): CompletionSource {
  return (context: CompletionContext): CompletionResult | null => {
    const s = schema();
    if (!s) return null;
    const word = context.matchBefore(/[\w.$-]*/);
    // Typing opens the list only once a word starts; Ctrl-Space opens it anywhere.
    if (!context.explicit && (!word || word.from === word.to)) return null;
    const r = completeAt(s, context.state.doc.toString(), context.pos);
    return r ? { ...r, validFor: /^[\w.$-]*$/ } : null;
  };
}

/** The help for the key or value at `offset` of `text`: its path and the schema's text about it. */
export function hoverAt(schema: JsonSchema, text: string, offset: number): { from: number; to: number; path: string; help: string } | null {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  const lineStart = before.lastIndexOf("\n") + 1;
  const hit = nodeAt(text, line, offset - lineStart);
  if (!hit) return null;
  const path = pathOf(hit.node);
  let help = helpAt(schema, path);
  if (!help) return null;
  // A value with its own help (a comparator, an enum member documented one by one): that first.
  const value = hit.part === "value" ? valuesAt(schema, path).find((v) => v.value === unquote(hit.node.value)) : undefined;
  if (value?.description) help = `${value.value}: ${value.description}\n${help}`;
  const [from, to] = hit.part === "key" ? [hit.node.keyFrom, hit.node.keyTo] : [hit.node.valueFrom, hit.node.valueTo];
  const shown = path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
  return { from: lineStart + from, to: lineStart + to, path: shown, help };
}

/** The hover tooltip's source: a path title and the help lines. */
export function schemaHover(schema: SchemaSource) {
  return (view: EditorView, pos: number): Tooltip | null => {
    const s = schema();
    if (!s) return null;
    const h = hoverAt(s, view.state.doc.toString(), pos);
    if (!h) return null;
    return {
      pos: h.from,
      end: h.to,
      above: true,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "cm-berth-help";
        const title = document.createElement("div");
        title.className = "cm-berth-help-path";
        title.textContent = h.path;
        dom.append(title);
        for (const l of h.help.split("\n")) {
          const p = document.createElement("div");
          p.textContent = l;
          dom.append(p);
        }
        return { dom };
      },
    };
  };
}
