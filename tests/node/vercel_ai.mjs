// The Vercel AI SDK against aihub with createOpenAI's defaults (which speak the Responses API).
// Usage: node vercel_ai.mjs <scenario>, with AIHUB_BASE_URL (ending in /v1), AIHUB_KEY and MODEL
// set; prints what the SDK made of the answer as one JSON line.
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, jsonSchema, streamText, tool } from "ai";
import { z } from "zod";

const openai = createOpenAI({ baseURL: process.env.AIHUB_BASE_URL, apiKey: process.env.AIHUB_KEY });
const model = openai(process.env.MODEL);

const scenarios = {
  async generateText() {
    const result = await generateText({ model, system: "Be brief.", prompt: "Say hello." });
    return { text: result.text, finishReason: result.finishReason, usage: result.usage,
             responseId: result.response.id };
  },
  async streamText() {
    const result = streamText({ model, prompt: "Say hello." });
    const deltas = [];
    for await (const delta of result.textStream) deltas.push(delta);
    return { deltas, text: await result.text, finishReason: await result.finishReason, usage: await result.usage };
  },
  async generateObject() {
    const result = await generateObject({
      model, prompt: "Weather in Rome?",
      schema: z.object({ city: z.string(), degrees: z.number() }),
    });
    return { object: result.object, finishReason: result.finishReason };
  },
  async toolCall() {
    const result = await generateText({
      model, prompt: "Weather in Paris?",
      tools: { get_weather: tool({ description: "Weather of a city",
                                   inputSchema: jsonSchema({ type: "object", properties: { city: { type: "string" } },
                                                             required: ["city"] }) }) },
    });
    return { toolCalls: result.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
             finishReason: result.finishReason };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await scenarios[name]()));
} catch (error) {
  console.error(error?.stack || String(error));
  process.exit(1);
}
