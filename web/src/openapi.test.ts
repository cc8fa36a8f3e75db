import { describe, expect, it } from "vitest";
import { fieldsOf, groupByTag, typeLabel } from "./openapi";
import { spec } from "./test/openapiSpec";

describe("groupByTag", () => {
  it("groups operations by tag in the document's order and leaves empty tags out", () => {
    const groups = groupByTag(spec);
    expect(groups.map((g) => g.name)).toEqual(["System", "OpenAI", "Admin"]);
    expect(groups[1].operations.map((d) => `${d.method} ${d.path}`)).toEqual([
      "POST /v1/chat/completions", "GET /v1/models/{id}", "POST /v1/audio/transcriptions"]);
  });

  it("keeps only the operations a search names, in any case", () => {
    const groups = groupByTag(spec, "  TRANSCRIPT ");
    expect(groups.flatMap((g) => g.operations.map((d) => d.path))).toEqual(["/v1/audio/transcriptions"]);
    expect(groupByTag(spec, "delete")).toEqual([]);
  });
});

describe("typeLabel", () => {
  it.each([
    [{ type: "string" }, "string"],
    [{ type: ["string", "null"] }, "string | null"],
    [{ anyOf: [{ type: "number" }, { type: "null" }] }, "number | null"],
    [{ type: "array", items: { $ref: "#/components/schemas/Message" } }, "array of Message"],
    [{ enum: ["asc", "desc"] }, '"asc" | "desc"'],
    [{ const: "error" }, '"error"'],
    [{ oneOf: [{ $ref: "#/x/A" }, { $ref: "#/x/B" }, { $ref: "#/x/C" }] }, "one of: A, B, C"],
    [{}, "any"],
  ])("%j -> %s", (schema, label) => {
    expect(typeLabel(schema)).toBe(label);
  });
});

describe("fieldsOf", () => {
  it("follows $ref and puts required fields first", () => {
    const fields = fieldsOf(spec, { $ref: "#/components/schemas/ChatCompletionRequest" });
    expect(fields.map((f) => [f.name, f.required])).toEqual([["model", true], ["messages", true], ["temperature", false]]);
  });

  it("merges the parts of an allOf (a form's model and its file)", () => {
    const body = spec.paths["/v1/audio/transcriptions"].post.requestBody!.content["multipart/form-data"].schema;
    expect(fieldsOf(spec, body).map((f) => f.name)).toEqual(["model", "language", "file"]);
  });
});
