import { vi } from "vitest";

export interface Seen {
  method: string;
  path: string; // without the query
  query: URLSearchParams;
  body: any;
  headers: Record<string, string>;
}

type Answer = Response | object | ((seen: Seen) => Response | object | Promise<Response | object>);

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function apiError(status: number, message: string, code = "error"): Response {
  return json({ error: { message, type: "invalid_request_error", code, param: null } }, status);
}

/** Stubs global fetch with answers by "METHOD /path"; unknown routes answer 404. */
export function fakeApi(routes: Record<string, Answer>) {
  const seen: Seen[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const method = (init.method ?? "GET").toUpperCase();
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>));
    const entry: Seen = {
      method, path: url.pathname, query: url.searchParams, headers,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    seen.push(entry);
    const answer = routes[`${method} ${url.pathname}`];
    if (answer === undefined) return apiError(404, `no fake for ${method} ${url.pathname}`);
    const value = typeof answer === "function" ? await answer(entry) : answer;
    return value instanceof Response ? value : json(value);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { seen, fetchMock, calls: (method: string, path: string) => seen.filter((s) => s.method === method && s.path === path) };
}

/** A response body the test writes to piece by piece, as a server streams. */
export function controlledStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
  const encoder = new TextEncoder();
  return {
    stream,
    send: (text: string) => controller.enqueue(encoder.encode(text)),
    event: (data: unknown) => controller.enqueue(encoder.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`)),
    close: () => controller.close(),
  };
}

export const signedInAs = (key: string) => sessionStorage.setItem("aihub.key", key);

export const models = {
  object: "list",
  data: [
    { id: "demo/echo", object: "model", owned_by: "demo" },
    { id: "demo/embed", object: "model", owned_by: "demo" },
    { id: "openai/gpt-4o-mini", object: "model", owned_by: "openai" },
  ],
};

export const latency = { p50: 12.5, p95: 80 };
export const metrics = {
  calls: 12, errors: 1, error_rate: 0.083333, prompt_tokens: 57, completion_tokens: 90, cache_read_tokens: 0,
  cache_write_tokens: 0, reasoning_tokens: 0, total_tokens: 147, images: 0, credits: 0.000237, duration_ms: latency,
  ttfb_ms: { p50: 5, p95: 40 },
};
export const dashboardRoutes = {
  "GET /admin/usage/summary": { object: "usage.summary", from: 0, to: 1, ...metrics },
  "GET /admin/usage/timeseries": {
    object: "usage.timeseries", granularity: "hour",
    data: [0, 1, 2].map((i) => ({ start: 1_700_000_000_000 + i * 3_600_000, end: 1_700_000_000_000 + (i + 1) * 3_600_000, ...metrics })),
  },
  "GET /admin/usage/top-models": { object: "list", data: [{ provider: "demo", model: "echo", share: 1, ...metrics }] },
  "GET /admin/usage/quota": { account_id: null, used: 1, remaining: 99, reserved: 0, spent_last_30_days: 1, avg_daily_spend: 1, days_left: 99, runs_out_at: null },
  "GET /admin/providers": { object: "list", data: [] },
  "GET /v1/status": { model: "demo/echo", available: true, reason: null, routes: [] },
};
