import { describe, expect, it } from "vitest";
import { SseParser, chatEvents, readEvents } from "./sse";

describe("SseParser", () => {
  it("keeps an event split across chunks until its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":')).toEqual([]);
    expect(parser.push('1}\n')).toEqual([]);
    expect(parser.push("\ndata: [DONE]\n\n")).toEqual(['{"a":1}', "[DONE]"]);
  });

  it("reads CRLF line ends, comments and multi-line data", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\r\n\r\nevent: x\r\ndata: one\r\ndata: two\r\n\r\n")).toEqual(["one\ntwo"]);
  });

  it("flushes a last event that had no blank line after it", () => {
    const parser = new SseParser();
    parser.push("data: tail");
    expect(parser.flush()).toEqual(["tail"]);
  });
});

describe("chatEvents", () => {
  it("turns OpenAI chunks into deltas, finish, usage and done", () => {
    const chunk = { choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] };
    expect(chatEvents(JSON.stringify(chunk))).toEqual([{ kind: "delta", text: "Hi" }]);
    expect(chatEvents(JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] }))).toEqual([{ kind: "finish", reason: "stop" }]);
    const usage = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 };
    expect(chatEvents(JSON.stringify({ choices: [], usage }))).toEqual([{ kind: "usage", usage }]);
    expect(chatEvents("[DONE]")).toEqual([{ kind: "done" }]);
  });

  it("reports a mid-stream error event with the gateway's message", () => {
    expect(chatEvents(JSON.stringify({ error: { message: "provider went away" } })))
      .toEqual([{ kind: "error", message: "provider went away" }]);
  });

  it("ignores what is not JSON", () => {
    expect(chatEvents("garbage")).toEqual([]);
  });
});

describe("readEvents", () => {
  it("yields each event of a byte stream, even when a character is split between chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo\n\ndata: [DONE]\n\n");
    const cut = 8; // inside the two bytes of "é"
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, cut));
        c.enqueue(bytes.slice(cut));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const data of readEvents(stream)) out.push(data);
    expect(out).toEqual(["héllo", "[DONE]"]);
  });
});
