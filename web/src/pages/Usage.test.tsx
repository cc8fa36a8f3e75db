import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { NO_FILTERS, Usage, callParams } from "./Usage";

const call = (i: number) => ({
  id: i, request_id: `req_${i}`, created_at: 1_700_000_000_000 + i, account_id: "acct_1", key_id: "key_1", type: "chat",
  provider: "demo", model: "echo", requested_model: "demo/echo", stream: true, status: i === 2 ? "failed" : "success",
  http_status: i === 2 ? 502 : 200, error_code: null, error: i === 2 ? "upstream down" : null, prompt_tokens: 3,
  completion_tokens: 11, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, total_tokens: 14, images: 0,
  usage_estimated: false, credits: 0.000025, duration_ms: 12, ttfb_ms: 3,
});

describe("callParams", () => {
  it("splits provider/model and drops empty filters", () => {
    expect(callParams({ ...NO_FILTERS, model: "openai/gpt-4o", status: "failed" }, false))
      .toEqual({ provider: "openai", model: "gpt-4o", status: "failed" });
    expect(callParams({ ...NO_FILTERS, account_id: "acct_1" }, false)).toEqual({});
    expect(callParams({ ...NO_FILTERS, app_id: " my-app " }, false)).toEqual({ app_id: "my-app" });
    expect(callParams({ ...NO_FILTERS, account_id: "acct_1" }, true)).toEqual({ account_id: "acct_1" });
    const from = callParams({ ...NO_FILTERS, from: "2025-01-31T12:00" }, true).from;
    expect(from).toBe(new Date("2025-01-31T12:00").getTime());
  });
});

describe("Usage explorer", () => {
  it("filters, pages by cursor, and opens a call's details", async () => {
    const api = fakeApi({
      "GET /v1/usage/calls": (seen: any) => seen.query.get("cursor")
        ? { object: "list", data: [call(1)], has_more: false, next_cursor: null }
        : { object: "list", data: [call(3), call(2)], has_more: true, next_cursor: "1700000000002_2" },
      "GET /v1/usage/calls/req_2": call(2),
    });
    renderAs(<Usage />);
    expect(await screen.findByRole("button", { name: "Details of call req_3" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: /Older/ }));
    expect(await screen.findByRole("button", { name: "Details of call req_1" })).toBeTruthy();
    expect(api.calls("GET", "/v1/usage/calls")[1].query.get("cursor")).toBe("1700000000002_2");
    fireEvent.click(screen.getByRole("button", { name: /Newer/ }));
    fireEvent.click(await screen.findByRole("button", { name: "Details of call req_2" }));
    expect(await screen.findByText("upstream down")).toBeTruthy();

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "failed" } });
    fireEvent.change(screen.getByLabelText("Model"), { target: { value: "demo/echo" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => {
      const last = api.calls("GET", "/v1/usage/calls").at(-1)!;
      expect(Object.fromEntries(last.query)).toMatchObject({ status: "failed", provider: "demo", model: "echo", limit: "50" });
    });
  });

  it("exports the filtered calls as a CSV download", async () => {
    const csv = "request_id,created_at\nreq_1,1\n";
    const api = fakeApi({
      "GET /admin/usage/calls": { object: "list", data: [], has_more: false, next_cursor: null },
      "GET /admin/keys": { object: "list", data: [] },
      "GET /admin/accounts": { object: "list", data: [] },
      "GET /admin/usage/calls.csv": new Response(csv, { headers: { "content-type": "text/csv" } }),
    });
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => { created.push(blob); return "blob:x"; });
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    renderAs(<Usage />, { admin: true });
    expect(await screen.findByText("No call matches these filters.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "success" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    fireEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    const request = api.calls("GET", "/admin/usage/calls.csv")[0];
    expect(request.query.get("status")).toBe("success");
    expect(await created[0].text()).toBe(csv);
    expect((click.mock.contexts[0] as HTMLAnchorElement).download).toMatch(/^aihub-calls-.*\.csv$/);
  });
});
