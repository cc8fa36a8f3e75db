import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { ApiError, api, describeError, request } from "../api";
import { Empty, ErrorNote, Field, Loading } from "../components/ui";
import { fmtCount, fmtCredits, fmtMs } from "../format";
import { useResource } from "../hooks";
import { useSession } from "../session";
import { chatEvents, readEvents, type ChatUsage } from "../sse";
import type { Call, ListOf, Model } from "../types";
import { usageBase } from "./Dashboard";

interface Turn {
  role: "user" | "assistant";
  content: string;
  model?: string;
  streaming?: boolean;
  error?: string;
  stopped?: boolean;
  usage?: ChatUsage;
  requestId?: string | null;
  call?: Call | null;
  firstTokenMs?: number;
  totalMs?: number;
}

const NOT_CHAT = /(^|[/-])(embed|embedding|image|dall-e|gpt-image|imagen|ideogram|tts|whisper)/i;
const MODEL_KEY = "aihub.playground.model";

export function isChatModel(m: Model): boolean {
  if (m.pricing?.type) return m.pricing.type === "chat";
  return !NOT_CHAT.test(m.id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The call record of an answer: it is written as the stream ends, so look again briefly. */
async function findCall(base: string, requestId: string): Promise<Call | null> {
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return await api<Call>(`${base}/calls/${encodeURIComponent(requestId)}`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) return null;
      await sleep(150 * (attempt + 1));
    }
  }
  return null;
}

export function Playground() {
  const { admin } = useSession();
  const models = useResource((signal) => api<ListOf<Model>>("/v1/models", { signal }), []);
  const chatModels = (models.data?.data ?? []).filter(isChatModel);
  const [model, setModel] = useState(() => sessionStorage.getItem(MODEL_KEY) ?? "");
  const [system, setSystem] = useState("");
  const [maxTokens, setMaxTokens] = useState("");
  const [input, setInput] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const endRef = useRef<HTMLDivElement>(null);

  // The options start open where there is room for them beside the chat.
  const [wide] = useState(() => typeof window.matchMedia !== "function" || window.matchMedia("(min-width: 861px)").matches);
  const chosen = chatModels.some((m) => m.id === model) ? model : chatModels[0]?.id ?? "";
  useEffect(() => () => abort.current?.abort(), []);
  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: "nearest" });
  }, [turns]);

  const patchLast = (patch: Partial<Turn> | ((t: Turn) => Partial<Turn>)) =>
    setTurns((all) => {
      const last = all[all.length - 1];
      return [...all.slice(0, -1), { ...last, ...(typeof patch === "function" ? patch(last) : patch) }];
    });

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const text = input.trim();
    if (!text || busy || !chosen) return;
    sessionStorage.setItem(MODEL_KEY, chosen);
    const history = [...turns.filter((t) => !t.error && t.content), { role: "user" as const, content: text }];
    const messages = [
      ...(system.trim() ? [{ role: "system", content: system.trim() }] : []),
      ...history.map((t) => ({ role: t.role, content: t.content })),
    ];
    setTurns([...history, { role: "assistant", content: "", model: chosen, streaming: true }]);
    setInput("");
    setBusy(true);
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    let requestId: string | null = null;
    try {
      const body: Record<string, unknown> = { model: chosen, messages, stream: true, stream_options: { include_usage: true } };
      if (Number(maxTokens) > 0) body.max_tokens = Number(maxTokens);
      const response = await request("/v1/chat/completions", { body, signal: controller.signal });
      requestId = response.headers.get("x-request-id");
      patchLast({ requestId });
      if (!response.body || !(response.headers.get("content-type") ?? "").includes("event-stream")) {
        // A buffered answer (not a stream): take it whole.
        const whole = await response.json();
        patchLast({ content: whole?.choices?.[0]?.message?.content ?? "", usage: whole?.usage, totalMs: performance.now() - started });
      } else {
        let first = true;
        for await (const data of readEvents(response.body)) {
          for (const ev of chatEvents(data)) {
            if (ev.kind === "delta") {
              const firstTokenMs = first ? performance.now() - started : undefined;
              first = false;
              patchLast((t) => ({ content: t.content + ev.text, ...(firstTokenMs === undefined ? {} : { firstTokenMs }) }));
            } else if (ev.kind === "usage") {
              patchLast({ usage: ev.usage });
            } else if (ev.kind === "error") {
              patchLast({ error: ev.message });
            }
          }
        }
        patchLast({ totalMs: performance.now() - started });
      }
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") {
        patchLast({ stopped: true, totalMs: performance.now() - started });
      } else {
        patchLast({ error: describeError(error), requestId: error instanceof ApiError ? error.requestId : requestId });
      }
    } finally {
      patchLast({ streaming: false });
      setBusy(false);
      abort.current = null;
      inputRef.current?.focus();
    }
    if (requestId) {
      const call = await findCall(usageBase(admin), requestId);
      setTurns((all) => all.map((t) => (t.requestId === requestId ? { ...t, call } : t)));
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  };

  return (
    <div className="page playground">
      <div className="page-head"><h1>Playground</h1></div>
      <ErrorNote error={models.error} onRetry={models.reload} title="The models could not load." />
      {models.loading && !models.data && <Loading label="Loading models…" />}
      {models.data && chatModels.length === 0 && (
        <Empty title="No chat model is available to this key.">
          {admin ? <>Add a credential on the <a href="#/providers">providers</a> page (with billing on, a model also needs a <a href="#/rates">rate</a>).</>
            : "Ask an admin to enable one."}
        </Empty>
      )}
      {chatModels.length > 0 && (
        <div className="play">
          <aside className="card play-settings" aria-label="Settings">
            <Field label="Model">
              {(id) => (
                <select id={id} value={chosen} onChange={(e) => setModel(e.target.value)} disabled={busy}>
                  {chatModels.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
                </select>
              )}
            </Field>
            <details className="options" open={wide}>
              <summary>Options{system.trim() || maxTokens ? " (set)" : ""}</summary>
              <Field label="System prompt">
                {(id) => <textarea id={id} rows={3} value={system} onChange={(e) => setSystem(e.target.value)} />}
              </Field>
              <Field label="Max tokens">
                {(id) => <input id={id} type="number" min={1} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)}
                                placeholder="the model's limit" />}
              </Field>
            </details>
            <button type="button" className="btn btn-block" onClick={() => setTurns([])} disabled={busy || !turns.length}>
              Clear the conversation
            </button>
          </aside>
          <section className="card chat" aria-label="Conversation">
            <div className="transcript" aria-live="off">
              {turns.length === 0 && <Empty title="Ask something.">The answer streams in token by token; its usage and credits show below it.</Empty>}
              {turns.map((t, i) => <TurnView key={i} turn={t} />)}
              <div ref={endRef} />
            </div>
            <form className="composer" onSubmit={send}>
              <label htmlFor="play-input" className="sr-only">Message</label>
              <textarea id="play-input" ref={inputRef} rows={2} value={input} placeholder="Message (Enter sends, Shift+Enter for a new line)"
                        onChange={(e) => setInput(e.target.value)} onKeyDown={onKeyDown} />
              {busy ? (
                <button type="button" className="btn" onClick={() => abort.current?.abort()}>Stop</button>
              ) : (
                <button type="submit" className="btn btn-primary" disabled={!input.trim()}>Send</button>
              )}
            </form>
            <div className="sr-only" role="status" aria-live="polite">
              {busy ? "Answering…" : turns.length && turns[turns.length - 1].role === "assistant" ? "Answer complete." : ""}
            </div>
          </section>
        </div>
      )}
    </div>
  );
}

function TurnView({ turn: t }: { turn: Turn }) {
  if (t.role === "user") {
    return <div className="msg msg-user"><div className="msg-role">You</div><div className="msg-text">{t.content}</div></div>;
  }
  const usage = t.call
    ? { prompt: t.call.prompt_tokens + t.call.cache_read_tokens + t.call.cache_write_tokens, completion: t.call.completion_tokens }
    : t.usage ? { prompt: t.usage.prompt_tokens, completion: t.usage.completion_tokens } : null;
  return (
    <div className="msg msg-assistant" aria-busy={t.streaming}>
      <div className="msg-role">{t.model}</div>
      <div className="msg-text" data-testid="answer">
        {t.content}
        {t.streaming && <span className="cursor" aria-hidden="true" />}
      </div>
      {t.error && <div className="note note-error" role="alert">{t.error}</div>}
      {t.stopped && <div className="muted small">Stopped.</div>}
      {!t.streaming && (usage || t.requestId) && (
        <div className="msg-meta" data-testid="answer-meta">
          {usage && <span>{fmtCount(usage.prompt)} in · {fmtCount(usage.completion)} out tokens</span>}
          {t.call ? <span>{fmtCredits(t.call.credits)} credits</span> : t.requestId && !t.error ? <span className="muted">credits…</span> : null}
          {t.firstTokenMs !== undefined && <span>first token {fmtMs(t.firstTokenMs)}</span>}
          {t.totalMs !== undefined && <span>{fmtMs(t.totalMs)}</span>}
          {t.requestId && <a href={`#/usage?request_id=${encodeURIComponent(t.requestId)}`}><code>{t.requestId}</code></a>}
        </div>
      )}
    </div>
  );
}
