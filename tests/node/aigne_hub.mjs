// The published AIGNE Hub SDK (@aigne/aigne-hub) against aihub, as its README shows it used.
// Usage: node aigne_hub.mjs <scenario>, with AIGNE_HUB_API_URL, AIGNE_HUB_API_KEY and MODEL set;
// prints what the SDK made of the answer as one JSON line ({"error": message} when it threw).
import { AIGNEHubChatModel, AIGNEHubImageModel, AIGNEHubVideoModel } from "@aigne/aigne-hub";
import { isAgentResponseDelta } from "@aigne/core";

const options = { baseURL: process.env.AIGNE_HUB_API_URL, apiKey: process.env.AIGNE_HUB_API_KEY,
                  model: process.env.MODEL };
const chat = () => new AIGNEHubChatModel(options);
const hello = { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello." }] };
const weatherTool = { type: "function", function: { name: "get_weather", description: "Weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

const toolsInput = {
  messages: [
    { role: "user", content: [{ type: "text", text: "Weather in Paris?" },
                              { type: "file", data: "iVBORw0KGgo=", mimeType: "image/png" }] },
    { role: "agent", toolCalls: [{ id: "call_0", type: "function",
                                   function: { name: "get_weather", arguments: { city: "Rome" } } }] },
    { role: "tool", toolCallId: "call_0", content: "{\"degrees\":25}" },
  ],
  tools: [weatherTool], toolChoice: "auto",
};
const structuredInput = {
  messages: [{ role: "user", content: "Weather in Rome?" }],
  responseFormat: { type: "json_schema", jsonSchema: { name: "weather", strict: true, schema: {
    type: "object", properties: { city: { type: "string" }, degrees: { type: "number" } },
    required: ["city", "degrees"], additionalProperties: false } } },
};

// The SDK's stream, merged as its own core merges it: text appended, json assigned.
async function streamed(input) {
  const stream = await chat().invoke(input, { streaming: true });
  const texts = [];
  const output = {};
  for await (const chunk of stream) {
    if (!isAgentResponseDelta(chunk)) continue;
    if (chunk.delta.text?.text) texts.push(chunk.delta.text.text);
    for (const [key, value] of Object.entries(chunk.delta.text ?? {})) output[key] = (output[key] ?? "") + value;
    Object.assign(output, chunk.delta.json ?? {});
  }
  return { texts, output };
}

const scenarios = {
  async models() {
    return { chat: await AIGNEHubChatModel.models(), image: await AIGNEHubImageModel.models() };
  },
  async chat() {
    return await chat().invoke(hello);
  },
  async stream() {
    return await streamed(hello);
  },
  async tools() {
    return await chat().invoke(toolsInput);
  },
  async streamTools() {
    return await streamed(toolsInput);
  },
  async structured() {
    return await chat().invoke(structuredInput);
  },
  async streamStructured() {
    return await streamed(structuredInput);
  },
  async image() {
    const model = new AIGNEHubImageModel(options);
    return await model.invoke({ prompt: "A tiny red square", n: 1, size: "256x256", outputFileType: "file" });
  },
  async video() {
    const model = new AIGNEHubVideoModel(options);
    return await model.invoke({ prompt: "A calm sea", seconds: "4", size: "1280x720", outputFileType: "file" });
  },
};

try {
  const result = await scenarios[process.argv[2]]();
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ error: error.message, type: error.type ?? null }) + "\n");
}
