import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, query, request } from "../api";
import { Badge, Empty, ErrorNote, Field, Loading, Section } from "../components/ui";
import { fmtCount, fmtCredits, fmtMs, fmtTime, fromLocalInput, toLocalInput } from "../format";
import { useAction, useHashRoute, useResource } from "../hooks";
import { useSession } from "../session";
import type { Account, ApiKey, Attempt, Call, ListOf } from "../types";
import { usageBase } from "./Dashboard";

export interface CallFilters {
  from: string; // datetime-local text
  to: string;
  model: string; // "provider/model" or a bare model id
  provider: string;
  key_id: string;
  app_id: string; // the AIGNE client's app (its x-aigne-hub-client-did)
  account_id: string;
  status: "" | "success" | "failed";
}

export const NO_FILTERS: CallFilters = { from: "", to: "", model: "", provider: "", key_id: "", app_id: "", account_id: "", status: "" };

/** The query parameters of the call log (and its CSV) for these filters. */
export function callParams(f: CallFilters, admin: boolean): Record<string, string | number | undefined> {
  let provider = f.provider.trim();
  let model = f.model.trim();
  if (model.includes("/") && !provider) {
    const cut = model.indexOf("/");
    provider = model.slice(0, cut);
    model = model.slice(cut + 1);
  }
  return {
    from: fromLocalInput(f.from) ?? undefined,
    to: fromLocalInput(f.to) ?? undefined,
    provider: provider || undefined,
    model: model || undefined,
    key_id: f.key_id || undefined,
    app_id: f.app_id.trim() || undefined,
    account_id: admin ? f.account_id || undefined : undefined,
    status: f.status || undefined,
  };
}

const PAGE = 50;

export function Usage() {
  const { admin } = useSession();
  const route = useHashRoute();
  const base = usageBase(admin);
  const initial = { ...NO_FILTERS, account_id: route.params.get("account_id") ?? "", key_id: route.params.get("key_id") ?? "",
                    model: route.params.get("model") ?? "" };
  const [draft, setDraft] = useState<CallFilters>(initial);
  const [filters, setFilters] = useState<CallFilters>(initial);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<string | null>(route.params.get("request_id"));
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    const wanted = route.params.get("request_id");
    if (wanted) setSelected(wanted);
  }, [route.params]);

  const page = useResource((signal) => api<ListOf<Call>>(
    `${base}/calls${query({ ...callParams(filters, admin), limit: PAGE, cursor })}`, { signal }), [base, filters, cursor, admin]);
  const keys = useResource((signal) => admin ? api<ListOf<ApiKey>>("/admin/keys", { signal }) : Promise.resolve(null), [admin]);
  const accounts = useResource((signal) => admin ? api<ListOf<Account>>("/admin/accounts", { signal }) : Promise.resolve(null), [admin]);
  const keyNames = Object.fromEntries((keys.data?.data ?? []).map((k) => [k.id, k.name || k.masked]));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ ...draft });
    setCursors([null]);
  };
  const reset = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    setCursors([null]);
  };
  const last24h = () => {
    const next = { ...draft, from: toLocalInput(Date.now() - 24 * 3600_000), to: "" };
    setDraft(next);
    setFilters(next);
    setCursors([null]);
  };

  const exportCsv = useAction(async () => {
    const response = await request(`${base}/calls.csv${query({ ...callParams(filters, admin), limit: 100_000 })}`);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `aihub-calls-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });

  const set = (name: keyof CallFilters) => (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value });
  const calls = page.data?.data ?? [];

  return (
    <div className="page">
      <div className="page-head">
        <h1>Usage</h1>
        <button type="button" className="btn" onClick={() => exportCsv.run()} disabled={exportCsv.busy}>
          {exportCsv.busy ? "Exporting…" : "Export CSV"}
        </button>
      </div>
      <ErrorNote error={exportCsv.error} title="The export failed." />
      <Section title="Filters">
        <form className="filters" onSubmit={apply} aria-label="Call filters">
          <Field label="From">{(id) => <input id={id} type="datetime-local" value={draft.from} onChange={set("from")} />}</Field>
          <Field label="To">{(id) => <input id={id} type="datetime-local" value={draft.to} onChange={set("to")} />}</Field>
          <Field label="Model">{(id) => <input id={id} value={draft.model} onChange={set("model")} placeholder="openai/gpt-4o-mini" />}</Field>
          <Field label="Provider">{(id) => <input id={id} value={draft.provider} onChange={set("provider")} placeholder="any" />}</Field>
          <Field label="App">{(id) => <input id={id} value={draft.app_id} onChange={set("app_id")} placeholder="any AIGNE client" />}</Field>
          {admin && (
            <Field label="Key">
              {(id) => (
                <select id={id} value={draft.key_id} onChange={set("key_id")}>
                  <option value="">Any key</option>
                  {(keys.data?.data ?? []).map((k) => <option key={k.id} value={k.id}>{k.name || k.id} ({k.masked})</option>)}
                </select>
              )}
            </Field>
          )}
          {admin && (
            <Field label="Account">
              {(id) => (
                <select id={id} value={draft.account_id} onChange={set("account_id")}>
                  <option value="">Any account</option>
                  {(accounts.data?.data ?? []).map((a) => <option key={a.id} value={a.id}>{a.name || a.id}</option>)}
                </select>
              )}
            </Field>
          )}
          <Field label="Status">
            {(id) => (
              <select id={id} value={draft.status} onChange={set("status")}>
                <option value="">Any</option>
                <option value="success">success</option>
                <option value="failed">failed</option>
              </select>
            )}
          </Field>
          <div className="row form-actions">
            <button type="submit" className="btn btn-primary">Apply</button>
            <button type="button" className="btn" onClick={last24h}>Last 24 h</button>
            <button type="button" className="btn" onClick={reset}>Reset</button>
          </div>
        </form>
      </Section>
      <Section title="Calls" actions={<span className="muted small">newest first, {PAGE} a page</span>}>
        <ErrorNote error={page.error} onRetry={page.reload} />
        {page.loading && !page.data && <Loading />}
        {page.data && (calls.length === 0 ? (
          <Empty title={cursors.length > 1 ? "No more calls." : "No call matches these filters."}>
            {cursors.length === 1 && (filters === NO_FILTERS || JSON.stringify(filters) === JSON.stringify(NO_FILTERS))
              ? <>Calls appear here as soon as they are made: try the <a href="#/playground">playground</a>.</>
              : "Change or reset the filters."}
          </Empty>
        ) : (
          <div className={`table-wrap ${page.loading ? "is-loading" : ""}`} aria-busy={page.loading}>
            <table className="table table-compact calls">
              <thead>
                <tr><th scope="col">Time</th><th scope="col">Model</th>{admin && <th scope="col">Key</th>}<th scope="col">Status</th>
                  <th scope="col" className="num">Tokens in / out</th><th scope="col" className="num">Credits</th>
                  <th scope="col" className="num">Duration</th><th scope="col" className="num">First token</th></tr>
              </thead>
              <tbody>
                {calls.map((c) => (
                  <tr key={c.request_id} className={c.request_id === selected ? "selected" : undefined}>
                    <td>
                      <button type="button" className="linklike" onClick={() => setSelected(c.request_id)}
                              aria-label={`Details of call ${c.request_id}`} data-request-id={c.request_id}>
                        {fmtTime(c.created_at)}
                      </button>
                    </td>
                    <td><code>{c.provider && c.model ? `${c.provider}/${c.model}` : c.requested_model ?? "–"}</code>{c.stream && <span className="muted small"> stream</span>}</td>
                    {admin && <td className="small">{c.key_id ? keyNames[c.key_id] ?? c.key_id : "–"}</td>}
                    <td>{c.status === "success" ? <Badge tone="good">ok</Badge> : <Badge tone="bad">{c.http_status ?? "failed"}</Badge>}</td>
                    <td className="num">{fmtCount(c.prompt_tokens + c.cache_read_tokens + c.cache_write_tokens)} / {fmtCount(c.completion_tokens)}</td>
                    <td className="num">{fmtCredits(c.credits)}</td>
                    <td className="num">{fmtMs(c.duration_ms)}</td>
                    <td className="num">{fmtMs(c.ttfb_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
        <div className="row pager">
          <button type="button" className="btn btn-small" disabled={cursors.length <= 1 || page.loading}
                  onClick={() => setCursors(cursors.slice(0, -1))}>
            ← Newer
          </button>
          <span className="muted small">Page {cursors.length}</span>
          <button type="button" className="btn btn-small" disabled={!page.data?.has_more || page.loading}
                  onClick={() => page.data?.next_cursor && setCursors([...cursors, String(page.data.next_cursor)])}>
            Older →
          </button>
        </div>
      </Section>
      {selected && <CallDetail base={base} requestId={selected} admin={admin} keyNames={keyNames} onClose={() => setSelected(null)} />}
    </div>
  );
}

const DETAIL_FIELDS: [keyof Call, string, ((c: Call) => string)?][] = [
  ["request_id", "Request id"],
  ["created_at", "Time", (c) => fmtTime(c.created_at)],
  ["type", "Type"],
  ["requested_model", "Requested model"],
  ["provider", "Provider"],
  ["model", "Provider's model"],
  ["status", "Status", (c) => `${c.status}${c.http_status ? ` (${c.http_status})` : ""}`],
  ["error_code", "Error code"],
  ["error", "Error"],
  ["stream", "Streamed", (c) => (c.stream ? "yes" : "no")],
  ["surface", "Client dialect"],
  ["app_id", "App (AIGNE client)"],
  ["prompt_tokens", "Input tokens"],
  ["cache_read_tokens", "Cache read tokens"],
  ["cache_write_tokens", "Cache write tokens"],
  ["completion_tokens", "Output tokens"],
  ["reasoning_tokens", "of which reasoning"],
  ["total_tokens", "Total tokens"],
  ["images", "Images"],
  ["usage_estimated", "Usage", (c) => (c.usage_estimated ? "estimated (the provider reported none)" : "as reported")],
  ["credits", "Credits", (c) => fmtCredits(c.credits)],
  ["duration_ms", "Duration", (c) => fmtMs(c.duration_ms)],
  ["ttfb_ms", "Time to first byte", (c) => fmtMs(c.ttfb_ms)],
  ["account_id", "Account"],
  ["key_id", "Key"],
  ["credential_id", "Credential"],
];

function CallDetail({ base, requestId, admin, keyNames, onClose }: {
  base: string; requestId: string; admin: boolean; keyNames: Record<string, string>; onClose: () => void;
}) {
  const call = useResource((signal) => api<Call>(`${base}/calls/${encodeURIComponent(requestId)}`, { signal }), [base, requestId]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView?.({ block: "nearest" });
    ref.current?.focus();
  }, [requestId]);
  const c = call.data;
  const attempts: Attempt[] = c && Array.isArray(c.attempts) ? c.attempts : [];
  return (
    <div ref={ref} tabIndex={-1} className="detail-anchor">
      <Section title="Call details" actions={<button type="button" className="btn btn-small" onClick={onClose}>Close</button>}>
        <ErrorNote error={call.error} onRetry={call.reload} />
        {call.loading && !c && <Loading />}
        {c && (
          <>
            <dl className="details">
              {DETAIL_FIELDS.filter(([name]) => c[name] !== null && c[name] !== undefined && c[name] !== "").map(([name, label, show]) => (
                <div key={name}>
                  <dt>{label}</dt>
                  <dd>{show ? show(c) : name === "key_id" && admin && c.key_id ? `${keyNames[c.key_id] ?? ""} ${c.key_id}`.trim() : String(c[name])}</dd>
                </div>
              ))}
            </dl>
            {attempts.length > 1 && (
              <>
                <h3>Attempts</h3>
                <ol className="attempts">
                  {attempts.map((a, i) => (
                    <li key={i}><code>{JSON.stringify(a)}</code></li>
                  ))}
                </ol>
              </>
            )}
          </>
        )}
      </Section>
    </div>
  );
}
