// Reading aihub's OpenAPI description (GET /openapi.json) for the API reference page: the few
// parts of OpenAPI 3.1 and JSON Schema that the gateway's document uses.

export type Schema = {
  $ref?: string;
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  [key: string]: unknown;
};

export interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
  "x-greedy"?: boolean;
}

export interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  "x-auth"?: "none" | "key" | "admin";
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema: Schema }> }>;
}

export interface OpenApi {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, Schema>;
    responses?: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
  };
}

export interface Described {
  method: string; // upper case
  path: string;
  operation: Operation;
}

export interface TagGroup {
  name: string;
  description?: string;
  operations: Described[];
}

/** The last segment of a local $ref: "#/components/schemas/Tool" -> "Tool". */
export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

/** The component a $ref names (in the same document), or the schema itself. */
export function resolve(spec: OpenApi, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  return spec.components?.schemas?.[refName(schema.$ref)] ?? {};
}

/** Operations grouped by their first tag, in the document's tag order, each matching `search`
 * (in method, path, summary or description, any case). Empty groups are left out. */
export function groupByTag(spec: OpenApi, search = ""): TagGroup[] {
  const wanted = search.trim().toLowerCase();
  const groups = new Map<string, TagGroup>();
  for (const tag of spec.tags ?? []) groups.set(tag.name, { ...tag, operations: [] });
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const text = `${method} ${path} ${operation.summary ?? ""} ${operation.description ?? ""}`.toLowerCase();
      if (wanted && !text.includes(wanted)) continue;
      const name = operation.tags?.[0] ?? "Other";
      if (!groups.has(name)) groups.set(name, { name, operations: [] });
      groups.get(name)!.operations.push({ method: method.toUpperCase(), path, operation });
    }
  }
  return [...groups.values()].filter((g) => g.operations.length > 0);
}

const show = (value: unknown) => JSON.stringify(value);

/** A short type for a person: "string", "integer | null", "array of Tool", "one of: A, B". */
export function typeLabel(schema: Schema): string {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.const !== undefined) return show(schema.const);
  if (schema.enum) return schema.enum.map(show).join(" | ");
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const labels = union.map(typeLabel);
    return schema.oneOf && labels.length > 2 ? `one of: ${labels.join(", ")}` : labels.join(" | ");
  }
  if (schema.allOf) return schema.allOf.map(typeLabel).join(" & ");
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes("array") && schema.items) {
    return [`array of ${typeLabel(schema.items)}`, ...types.filter((t) => t !== "array")].join(" | ");
  }
  return types.length ? types.join(" | ") : "any";
}

/** The schemas a reader may open under this one: the object's own (after $ref and allOf) and
 * those a union or an array holds. */
export function children(spec: OpenApi, schema: Schema): Schema[] {
  const own = resolve(spec, schema);
  if (own.allOf) return own.allOf;
  const union = own.anyOf ?? own.oneOf;
  if (union) return union.filter((s) => s.type !== "null");
  if (own.items) return [own.items];
  return [];
}

export interface Field {
  name: string;
  schema: Schema;
  required: boolean;
}

/** An object schema's fields (after $ref and allOf), required ones first. */
export function fieldsOf(spec: OpenApi, schema: Schema): Field[] {
  const own = resolve(spec, schema);
  const parts = own.allOf ? own.allOf.map((s) => resolve(spec, s)) : [own];
  const fields = parts.flatMap((part) => Object.entries(part.properties ?? {}).map(([name, s]) => ({
    name, schema: s, required: (part.required ?? []).includes(name),
  })));
  return fields.sort((a, b) => Number(b.required) - Number(a.required));
}
