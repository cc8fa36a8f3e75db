import type { OpenApi } from "../openapi";

/** A small document in the shapes the gateway's /openapi.json uses: pydantic's `anyOf` with
 * null, a recursive model, a form body (`allOf`), error responses by $ref, a greedy parameter. */
export const spec: OpenApi = {
  openapi: "3.1.0",
  info: { title: "aihub", version: "1.2.3", description: "An OpenAI-compatible AI gateway." },
  tags: [
    { name: "System", description: "Health and this description." },
    { name: "OpenAI", description: "OpenAI-compatible API." },
    { name: "Admin", description: "Admin keys only." },
    { name: "Unused" },
  ],
  paths: {
    "/health": { get: { operationId: "get/health", summary: "Health", tags: ["System"], "x-auth": "none",
                        responses: { "200": { description: "Success.", content: { "application/json": { schema: { type: "object" } } } } } } },
    "/v1/chat/completions": {
      post: {
        operationId: "post/v1/chat/completions", summary: "Chat completions", tags: ["OpenAI"], "x-auth": "key",
        description: "Any valid aihub key.",
        requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/ChatCompletionRequest" } } } },
        responses: {
          "200": { description: "Success.", content: { "application/json": { schema: { type: "object" } }, "text/event-stream": { schema: { type: "string" } } } },
          "400": { $ref: "#/components/responses/OpenAIError" },
        },
      },
    },
    "/v1/models/{id}": {
      get: { operationId: "get/v1/models/{id}", summary: "Retrieve model", tags: ["OpenAI"], "x-auth": "key",
             parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" }, "x-greedy": true,
                            description: "May hold `/`." }],
             responses: { "200": { description: "Success." } } },
    },
    "/v1/audio/transcriptions": {
      post: { operationId: "post/v1/audio/transcriptions", summary: "Transcriptions", tags: ["OpenAI"], "x-auth": "key",
              requestBody: { content: { "multipart/form-data": { schema: { allOf: [
                { $ref: "#/components/schemas/TranscriptionForm" },
                { type: "object", properties: { file: { type: "string" } } }] } } } },
              responses: { "200": { description: "Success." } } },
    },
    "/admin/keys": {
      post: { operationId: "post/admin/keys", summary: "Create key", tags: ["Admin"], "x-auth": "admin",
              responses: { "201": { description: "The key is shown once." } } },
    },
  },
  components: {
    schemas: {
      ChatCompletionRequest: {
        type: "object", title: "ChatCompletionRequest", required: ["model", "messages"],
        properties: {
          model: { type: "string", description: "provider/model or a bare name" },
          messages: { type: "array", items: { $ref: "#/components/schemas/Message" } },
          temperature: { anyOf: [{ type: "number" }, { type: "null" }] },
        },
      },
      Message: {
        type: "object", title: "Message", required: ["role"],
        properties: {
          role: { enum: ["system", "user", "assistant"] },
          content: { anyOf: [{ type: "string" }, { type: "array", items: { $ref: "#/components/schemas/Message" } }, { type: "null" }] },
        },
      },
      TranscriptionForm: { type: "object", title: "TranscriptionForm", required: ["model"],
                           properties: { model: { type: "string" }, language: { anyOf: [{ type: "string" }, { type: "null" }] } } },
      OpenAIError: { type: "object", required: ["error"], properties: { error: { type: "object", properties: { message: { type: "string" } } } } },
    },
    responses: {
      OpenAIError: { description: "An error, in the route's dialect.",
                     content: { "application/json": { schema: { $ref: "#/components/schemas/OpenAIError" } } } },
    },
  },
};
