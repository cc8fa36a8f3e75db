import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, controlledStream, fakeApi, models } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Playground } from "./Playground";

const chunk = (content: string) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });

async function ask(text: string) {
  const box = await screen.findByLabelText("Message");
  fireEvent.change(box, { target: { value: text } });
  fireEvent.click(screen.getByRole("button", { name: "Send" }));
}

describe("Playground", () => {
  it("lists chat models only", async () => {
    fakeApi({ "GET /v1/models": models });
    renderAs(<Playground />);
    const select = (await screen.findByLabelText("Model")) as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["demo/echo", "openai/gpt-4o-mini"]);
  });

  it("shows the answer growing as each token arrives, then its usage and credits", async () => {
    const body = controlledStream();
    const api = fakeApi({
      "GET /v1/models": models,
      "POST /v1/chat/completions": new Response(body.stream, {
        headers: { "content-type": "text/event-stream", "x-request-id": "req_abc" },
      }),
      "GET /v1/usage/calls/req_abc": {
        request_id: "req_abc", prompt_tokens: 4, completion_tokens: 3, cache_read_tokens: 0, cache_write_tokens: 0, credits: 0.000042,
      },
    });
    renderAs(<Playground />);
    await ask("say hello");
    await waitFor(() => expect(api.calls("POST", "/v1/chat/completions")).toHaveLength(1));
    const sent = api.calls("POST", "/v1/chat/completions")[0].body;
    expect(sent).toMatchObject({ model: "demo/echo", stream: true, stream_options: { include_usage: true } });
    expect(sent.messages).toEqual([{ role: "user", content: "say hello" }]);

    const answer = () => screen.getByTestId("answer").textContent;
    const seen: string[] = [];
    for (const piece of ["Hello", " there", ", friend"]) {
      body.event(chunk(piece));
      await waitFor(() => expect(answer()).toBe(seen.join("") + piece));
      seen.push(piece);
    }
    expect(screen.getByRole("button", { name: "Stop" })).toBeTruthy(); // still streaming
    body.event({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } });
    body.event("[DONE]");
    body.close();
    const meta = await screen.findByTestId("answer-meta");
    await waitFor(() => expect(meta.textContent).toContain("0.000042 credits"));
    expect(meta.textContent).toContain("4 in · 3 out tokens");
    expect(meta.textContent).toContain("first token");
    expect(screen.getByRole("link", { name: "req_abc" }).getAttribute("href")).toBe("#/usage?request_id=req_abc");
  });

  it("says out of credits on a 402", async () => {
    fakeApi({
      "GET /v1/models": models,
      "POST /v1/chat/completions": apiError(402, "Account acct_1 has 0 credits left.", "insufficient_credits"),
    });
    renderAs(<Playground />);
    await ask("hi");
    expect((await screen.findByRole("alert")).textContent).toBe("Out of credits: Account acct_1 has 0 credits left.");
  });

  it("shows the gateway's message when the provider is down, also mid-stream", async () => {
    const body = controlledStream();
    let first = true;
    fakeApi({
      "GET /v1/models": models,
      "POST /v1/chat/completions": () => {
        if (!first) return new Response(body.stream, { headers: { "content-type": "text/event-stream", "x-request-id": "req_2" } });
        first = false;
        return apiError(502, "Provider openai failed: connection refused.", "provider_error");
      },
    });
    renderAs(<Playground />);
    await ask("hi");
    expect((await screen.findByRole("alert")).textContent).toBe("Provider openai failed: connection refused.");
    await ask("again");
    body.event(chunk("par"));
    body.event({ error: { message: "The provider ended the stream early." } });
    body.close();
    await waitFor(() => expect(screen.getAllByRole("alert").map((a) => a.textContent)).toContain("The provider ended the stream early."));
  });
});
