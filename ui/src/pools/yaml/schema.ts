// The parts of the definition's JSON Schema (what `berth pools schema`
// prints, schemars' draft 2020-12) the editor needs: the schema of a path,
// the properties of an object, the values a scalar may take and a node's
// help text. Only local references (`#/$defs/…`) occur in it.

/** A JSON Schema node (the keywords read here). `true`/`false` are schemas too. */
export type JsonSchema =
  | boolean
  | {
      $ref?: string;
      type?: string | string[];
      title?: string;
      description?: string;
      properties?: Record<string, JsonSchema>;
      required?: string[];
      additionalProperties?: JsonSchema;
      items?: JsonSchema;
      prefixItems?: JsonSchema[];
      anyOf?: JsonSchema[];
      oneOf?: JsonSchema[];
      allOf?: JsonSchema[];
      enum?: unknown[];
      const?: unknown;
      default?: unknown;
      examples?: unknown[];
      pattern?: string;
      minimum?: number;
      maximum?: number;
      format?: string;
    };

type Node = Exclude<JsonSchema, boolean>;

/** A step of a path in the YAML: a mapping key or a list index. */
export type Segment = string | number;

/** A property an object may have, with its help. */
export interface PropertyHelp {
  name: string;
  required: boolean;
  schema: JsonSchema;
  /** The help text (its own description, else its type's). */
  description: string | null;
  /** A short type, for the completion list (`string`, `integer`, `object`). */
  type: string | null;
}

/** A value a scalar may take (an enum member or a `const`), with its help. */
export interface ValueHelp {
  value: string;
  description: string | null;
}

/** Parses the schema the shell returns; null when it is not a schema (e.g. `{}` or garbage). */
export function parseSchema(text: string | null | undefined): JsonSchema | null {
  if (!text) return null;
  try {
    const s = JSON.parse(text) as unknown;
    return s !== null && typeof s === "object" && !Array.isArray(s) && Object.keys(s).length > 0 ? (s as JsonSchema) : null;
  } catch {
    return null;
  }
}

function deref(root: JsonSchema, s: JsonSchema, seen = 0): JsonSchema {
  if (typeof s === "boolean" || !s.$ref || seen > 32) return s;
  const path = s.$ref.replace(/^#\/?/, "").split("/").filter(Boolean);
  let at: unknown = root;
  for (const p of path) at = at && typeof at === "object" ? (at as Record<string, unknown>)[p.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  if (at === undefined) return true;
  // A node with `$ref` and siblings (a description): the siblings win.
  const { $ref: _ref, ...rest } = s;
  const target = deref(root, at as JsonSchema, seen + 1);
  return typeof target === "boolean" ? target : { ...target, ...rest };
}

/**
 * The alternatives a node stands for: references resolved, `anyOf`/`oneOf`
 * flattened, `allOf` merged; the outer node's description kept on each.
 */
export function alternatives(root: JsonSchema, s: JsonSchema, depth = 0): Node[] {
  const node = deref(root, s);
  if (typeof node === "boolean") return node ? [{}] : [];
  if (depth > 16) return [node];
  const branches = node.anyOf ?? node.oneOf;
  if (branches) {
    const { anyOf: _a, oneOf: _o, ...outer } = node;
    return branches.flatMap((b) =>
      alternatives(root, b, depth + 1).map((alt) => ({ ...outer, ...alt, description: alt.description ?? outer.description })),
    );
  }
  if (node.allOf) {
    const { allOf, ...outer } = node;
    return [allOf.flatMap((b) => alternatives(root, b, depth + 1)).reduce<Node>((m, b) => mergeNodes(m, b), outer)];
  }
  return [node];
}

function mergeNodes(a: Node, b: Node): Node {
  return {
    ...a,
    ...b,
    description: a.description ?? b.description,
    properties: { ...a.properties, ...b.properties },
    required: [...(a.required ?? []), ...(b.required ?? [])],
  };
}

function child(node: Node, seg: Segment): JsonSchema[] {
  if (typeof seg === "number") {
    const item = node.prefixItems?.[seg] ?? node.items;
    return item === undefined ? [] : [item];
  }
  const prop = node.properties?.[seg];
  if (prop !== undefined) return [prop];
  const extra = node.additionalProperties;
  return extra !== undefined && extra !== false && extra !== true ? [extra] : [];
}

/** The value a scalar sibling holds that an alternative requires (its `const` or single-member `enum`). */
function constOf(root: JsonSchema, s: JsonSchema): string | null {
  for (const alt of alternatives(root, s)) {
    if (alt.const !== undefined) return String(alt.const);
    if (alt.enum?.length === 1) return String(alt.enum[0]);
  }
  return null;
}

/**
 * Keeps the alternatives whose discriminating properties (a `const`, e.g.
 * `type: sql`) agree with the values the object already holds.
 */
export function matching(root: JsonSchema, alts: Node[], siblings: ReadonlyMap<string, string>): Node[] {
  const kept = alts.filter((alt) =>
    Object.entries(alt.properties ?? {}).every(([k, p]) => {
      const want = constOf(root, p);
      const have = siblings.get(k);
      return want === null || have === undefined || have === "" || unquote(have) === want;
    }),
  );
  return kept.length > 0 ? kept : alts;
}

/**
 * The alternatives at `path` from the root, each step through every
 * alternative (a property of any branch of a union counts).
 */
export function schemaAt(root: JsonSchema, path: readonly Segment[]): Node[] {
  let at = alternatives(root, root);
  for (const seg of path) {
    at = at.flatMap((n) => child(n, seg)).flatMap((s) => alternatives(root, s));
    if (at.length === 0) return [];
  }
  return at;
}

function typeName(root: JsonSchema, s: JsonSchema): string | null {
  const types = new Set<string>();
  for (const alt of alternatives(root, s)) {
    const t = alt.type ?? (alt.enum || alt.const !== undefined ? "string" : alt.properties ? "object" : undefined);
    for (const x of Array.isArray(t) ? t : t ? [t] : []) if (x !== "null") types.add(x);
  }
  return types.size > 0 ? [...types].join(" | ") : null;
}

function descriptionOf(root: JsonSchema, s: JsonSchema): string | null {
  if (typeof s !== "boolean" && s.description) return s.description;
  return alternatives(root, s).find((a) => a.description)?.description ?? null;
}

/** The properties the object at `path` may have (of the alternatives that fit `siblings`). */
export function propertiesAt(root: JsonSchema, path: readonly Segment[], siblings: ReadonlyMap<string, string> = new Map()): PropertyHelp[] {
  const objects = matching(root, schemaAt(root, path), siblings).filter((n) => n.properties);
  const out = new Map<string, PropertyHelp>();
  for (const n of objects) {
    for (const [name, schema] of Object.entries(n.properties ?? {})) {
      if (out.has(name)) continue;
      out.set(name, { name, schema, required: n.required?.includes(name) ?? false, description: descriptionOf(root, schema), type: typeName(root, schema) });
    }
  }
  return [...out.values()];
}

/** The values the scalar at `path` may take: enum members, constants, booleans. */
export function valuesAt(root: JsonSchema, path: readonly Segment[], siblings: ReadonlyMap<string, string> = new Map()): ValueHelp[] {
  const out = new Map<string, ValueHelp>();
  const add = (value: unknown, description: string | null) => {
    const v = String(value);
    if (!out.has(v)) out.set(v, { value: v, description });
  };
  // The siblings pick the alternatives of the object holding the scalar.
  const parent = path.slice(0, -1);
  const last = path[path.length - 1];
  const nodes =
    last === undefined
      ? schemaAt(root, path)
      : matching(root, schemaAt(root, parent), siblings)
          .flatMap((n) => child(n, last))
          .flatMap((s) => alternatives(root, s));
  for (const n of nodes) {
    if (n.const !== undefined) add(n.const, n.description ?? null);
    for (const v of n.enum ?? []) if (v !== null) add(v, n.enum!.length === 1 ? (n.description ?? null) : null);
    const types = Array.isArray(n.type) ? n.type : [n.type];
    if (types.includes("boolean")) ["true", "false"].forEach((b) => add(b, null));
  }
  return [...out.values()];
}

/** The help of the node at `path`: its description, type, allowed values, default, range. */
export function helpAt(root: JsonSchema, path: readonly Segment[]): string | null {
  if (path.length === 0) return null;
  const parent = schemaAt(root, path.slice(0, -1));
  const own = parent.flatMap((n) => child(n, path[path.length - 1]!));
  if (own.length === 0) return null;
  const s = own[0]!;
  const lines: string[] = [];
  const description = descriptionOf(root, s);
  if (description) lines.push(description);
  const type = typeName(root, s);
  if (type) lines.push(`Type: ${type}`);
  const values = valuesAt(root, path).map((v) => v.value);
  if (values.length > 0 && type !== "boolean") lines.push(`One of: ${values.join(", ")}`);
  const alts = alternatives(root, s);
  const def = alts.find((a) => a.default !== undefined)?.default ?? (typeof s !== "boolean" ? s.default : undefined);
  if (def !== undefined && def !== null) lines.push(`Default: ${typeof def === "string" ? def : JSON.stringify(def)}`);
  // (An unsigned integer's `minimum: 0` alone says nothing the description does not.)
  const ranged = alts.find((a) => a.maximum !== undefined);
  if (ranged) lines.push(`Range: ${ranged.minimum ?? "…"} to ${ranged.maximum}`);
  return lines.join("\n");
}

/** A YAML scalar's text without its quotes. */
export function unquote(s: string): string {
  const t = s.trim();
  return /^(["']).*\1$/.test(t) ? t.slice(1, -1) : t;
}
