// The one way the UI talks to aihub: fetch with the signed-in key, OpenAI-shaped errors.

export class ApiError extends Error {
  status: number;
  code: string | null;
  type: string | null;
  requestId: string | null;

  constructor(status: number, message: string, code: string | null = null, type: string | null = null,
              requestId: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.type = type;
    this.requestId = requestId;
  }
}

let currentKey: string | null = null;
let authLost: ((message: string) => void) | null = null;

/** The key every request carries, and what to do when aihub stops accepting it (401). */
export function configureApi(key: string | null, onAuthLost: ((message: string) => void) | null = null): void {
  currentKey = key;
  authLost = onAuthLost;
}

/** Where aihub is: the folder of this page, so a stage prefix (/prod/) is kept. */
export function apiUrl(path: string): string {
  const base = new URL(".", window.location.href);
  return new URL(path.replace(/^\//, ""), base).toString();
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(name, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  key?: string; // another key than the signed-in one (sign-in itself)
  headers?: Record<string, string>;
}

/** fetch with the key; a non-2xx answer becomes an ApiError carrying the gateway's message. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const key = options.key ?? currentKey;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, `Cannot reach aihub (${error instanceof Error ? error.message : String(error)}).`,
                       "network_error");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (error.status === 401 && options.key === undefined && authLost) authLost(error.message);
    throw error;
  }
  return response;
}

export async function errorOf(response: Response): Promise<ApiError> {
  const requestId = response.headers.get("x-request-id");
  let message = `${response.status} ${response.statusText}`.trim();
  let code: string | null = null;
  let type: string | null = null;
  try {
    const body = await response.json();
    if (body?.error?.message) {
      message = body.error.message;
      code = body.error.code ?? null;
      type = body.error.type ?? null;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, code, type, requestId);
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  return (await response.json()) as T;
}

/** Words for a person: what went wrong and, where it helps, what to do. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 402) return `Out of credits: ${error.message}`;
    if (error.status === 429) return `Rate limited: ${error.message}`;
    if (error.status === 403) return `Not allowed: ${error.message}`;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
