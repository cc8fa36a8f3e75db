// Server-sent events read from a fetch body: the stream of POST /v1/chat/completions.

/** Splits text into complete events; what is left over waits for the next chunk. */
export class SseParser {
  private buffer = "";

  /** The `data` of each event completed by this chunk (multi-line data joined by "\n"). */
  push(chunk: string): string[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""));
      if (data.length) events.push(data.join("\n"));
    }
    return events;
  }

  /** An event the stream ended without a blank line after. */
  flush(): string[] {
    const rest = this.buffer;
    this.buffer = "";
    return rest.trim() ? this.push(rest + "\n\n") : [];
  }
}

/** Every event's data, as each arrives. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.flush();
  } finally {
    reader.releaseLock();
  }
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type ChatEvent =
  | { kind: "delta"; text: string }
  | { kind: "finish"; reason: string }
  | { kind: "usage"; usage: ChatUsage }
  | { kind: "error"; message: string }
  | { kind: "done" };

/** What one chunk of an OpenAI chat stream means to the playground. */
export function chatEvents(data: string): ChatEvent[] {
  if (data.trim() === "[DONE]") return [{ kind: "done" }];
  let chunk: any;
  try {
    chunk = JSON.parse(data);
  } catch {
    return [];
  }
  if (chunk?.error) return [{ kind: "error", message: chunk.error.message ?? String(chunk.error) }];
  const out: ChatEvent[] = [];
  for (const choice of chunk?.choices ?? []) {
    const text = choice?.delta?.content;
    if (typeof text === "string" && text) out.push({ kind: "delta", text });
    if (choice?.finish_reason) out.push({ kind: "finish", reason: choice.finish_reason });
  }
  if (chunk?.usage) out.push({ kind: "usage", usage: chunk.usage });
  return out;
}
