import { useEffect, useState } from "react";
import { api, query } from "../api";
import { Chart } from "../components/Chart";
import { Badge, Empty, ErrorNote, Loading, Section, Stat, StatusDot } from "../components/ui";
import { fmtCount, fmtCredits, fmtDay, fmtMs, fmtPercent } from "../format";
import { useResource } from "../hooks";
import { useSession } from "../session";
import type { ListOf, ModelStatus, Provider, Quota, Summary, Timeseries, TopModel } from "../types";

export const RANGES = {
  "24h": { label: "24 hours", ms: 24 * 3600_000, granularity: "hour" },
  "7d": { label: "7 days", ms: 7 * 86400_000, granularity: "day" },
  "30d": { label: "30 days", ms: 30 * 86400_000, granularity: "day" },
  "90d": { label: "90 days", ms: 90 * 86400_000, granularity: "day" },
} as const;
export type RangeName = keyof typeof RANGES;

export function usageBase(admin: boolean): string {
  return admin ? "/admin/usage" : "/v1/usage";
}

interface DashboardData {
  summary: Summary;
  series: Timeseries;
  top: ListOf<TopModel>;
  quota: Quota | null;
  providers: Provider[] | null;
}

export function Dashboard() {
  const { admin } = useSession();
  const [range, setRange] = useState<RangeName>("24h");
  const base = usageBase(admin);

  const data = useResource<DashboardData>(async (signal) => {
    const spec = RANGES[range];
    const from = Date.now() - spec.ms;
    const [summary, series, top, quota, providers] = await Promise.all([
      api<Summary>(`${base}/summary${query({ from })}`, { signal }),
      api<Timeseries>(`${base}/timeseries${query({ from, granularity: spec.granularity })}`, { signal }),
      api<ListOf<TopModel>>(`${base}/top-models${query({ from, limit: 8 })}`, { signal }),
      api<Quota>(`${base}/quota`, { signal }).catch(() => null),
      admin ? api<ListOf<Provider>>("/admin/providers", { signal }).then((r) => r.data) : Promise.resolve(null),
    ]);
    performance.mark("aihub:dashboard-data");
    return { summary, series, top, quota, providers };
  }, [range, base, admin]);

  const d = data.data;
  // The time from the API's answer to the page on screen (measured by the e2e tests).
  useEffect(() => {
    if (!d) return;
    const frame = requestAnimationFrame(() => performance.mark("aihub:dashboard-rendered"));
    return () => cancelAnimationFrame(frame);
  }, [d]);

  return (
    <div className="page" data-ready={d && !data.loading ? "true" : "false"}>
      <div className="page-head">
        <h1>Dashboard</h1>
        <div className="segmented" role="group" aria-label="Time range">
          {(Object.keys(RANGES) as RangeName[]).map((name) => (
            <button key={name} type="button" className="btn btn-small" aria-pressed={range === name}
                    onClick={() => setRange(name)}>
              {name}
            </button>
          ))}
        </div>
      </div>
      {data.error ? <ErrorNote error={data.error} onRetry={data.reload} title="The dashboard could not load." /> : null}
      {!d && data.loading && <Loading label="Loading usage…" />}
      {d && <DashboardBody data={d} admin={admin} range={range} />}
    </div>
  );
}

function DashboardBody({ data, admin, range }: { data: DashboardData; admin: boolean; range: RangeName }) {
  const { summary: s, series, top, quota, providers } = data;
  const points = series.data;
  const labels = points.map((p) => fmtDay(p.start, series.granularity));
  const col = (f: (p: (typeof points)[number]) => number | null) => points.map(f);
  return (
    <>
      <div className="stats" aria-label="Totals">
        <Stat label="Calls" value={fmtCount(s.calls)} hint={`in the last ${RANGES[range].label}`} />
        <Stat label="Tokens" value={fmtCount(s.total_tokens)}
              hint={`${fmtCount(s.prompt_tokens)} in · ${fmtCount(s.completion_tokens)} out`} />
        <Stat label="Credits" value={fmtCredits(s.credits)} hint={quota ? `${fmtCredits(quota.remaining)} left` : undefined} />
        <Stat label="Errors" value={fmtCount(s.errors)} hint={`${fmtPercent(s.error_rate)} of calls`} />
        <Stat label="Latency" value={fmtMs(s.duration_ms.p50)} hint={`median · p95 ${fmtMs(s.duration_ms.p95)}`} />
        <Stat label="Time to first token" value={fmtMs(s.ttfb_ms.p50)} hint={`median · p95 ${fmtMs(s.ttfb_ms.p95)}`} />
      </div>
      {s.calls === 0 && (
        <Empty title={`No calls in the last ${RANGES[range].label}.`}>
          Send one from the <a href="#/playground">playground</a>, or point an OpenAI SDK at this aihub with a key.
        </Empty>
      )}
      <div className="charts">
        <Chart title="Calls and errors" labels={labels} kind="bar" format={fmtCount}
               series={[{ name: "Calls", values: col((p) => p.calls) }, { name: "Errors", values: col((p) => p.errors) }]} />
        <Chart title="Tokens" labels={labels} format={fmtCount}
               series={[{ name: "Input", values: col((p) => p.prompt_tokens + p.cache_read_tokens + p.cache_write_tokens) },
                        { name: "Output", values: col((p) => p.completion_tokens) }]} />
        <Chart title="Credits" labels={labels} kind="bar" format={fmtCredits}
               series={[{ name: "Credits", values: col((p) => p.credits) }]} />
        <Chart title="Latency (ms)" labels={labels} format={(v) => fmtMs(v)}
               series={[{ name: "Median", values: col((p) => p.duration_ms.p50) },
                        { name: "p95", values: col((p) => p.duration_ms.p95) }]} />
        <Chart title="Time to first token (ms)" labels={labels} format={(v) => fmtMs(v)}
               series={[{ name: "Median", values: col((p) => p.ttfb_ms.p50) },
                        { name: "p95", values: col((p) => p.ttfb_ms.p95) }]} />
      </div>
      <div className="two-col wide-left">
        <TopModels models={top.data} />
        {admin && providers ? <ProviderHealth providers={providers} /> : quota ? <QuotaCard quota={quota} /> : null}
      </div>
    </>
  );
}

function modelName(m: { provider: string | null; model: string | null }): string | null {
  if (!m.model) return null;
  return m.provider ? `${m.provider}/${m.model}` : m.model;
}

function TopModels({ models }: { models: TopModel[] }) {
  const names = models.map(modelName).filter((n): n is string => !!n).slice(0, 8);
  const status = useResource(async (signal) => {
    const found = await Promise.all(names.map((model) =>
      api<ModelStatus>(`/v1/status${query({ model })}`, { signal }).catch(() => null)));
    return Object.fromEntries(found.filter((s): s is ModelStatus => !!s).map((s) => [s.model, s]));
  }, [names.join(",")]);
  return (
    <Section title="Top models">
      {models.length === 0 ? <Empty title="No model was called in this period." /> : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr><th scope="col">Model</th><th scope="col">Calls</th><th scope="col">Share</th>
                <th scope="col" className="num">Tokens</th><th scope="col" className="num">Credits</th>
                <th scope="col" className="num">Median</th><th scope="col">Now</th></tr>
            </thead>
            <tbody>
              {models.map((m) => {
                const name = modelName(m);
                const st = name ? status.data?.[name] : undefined;
                return (
                  <tr key={`${m.provider}/${m.model}`}>
                    <td><code>{name ?? "(unresolved)"}</code></td>
                    <td className="num">{fmtCount(m.calls)}{m.errors ? <span className="muted"> ({m.errors} failed)</span> : null}</td>
                    <td><div className="meter" title={fmtPercent(m.share)}><span style={{ width: `${Math.round(m.share * 100)}%` }} /></div></td>
                    <td className="num">{fmtCount(m.total_tokens)}</td>
                    <td className="num">{fmtCredits(m.credits)}</td>
                    <td className="num">{fmtMs(m.duration_ms.p50)}</td>
                    <td>{!name ? "–" : !st ? (status.loading ? "…" : "–") : st.available
                      ? <StatusDot tone="good" label="available" />
                      : <span title={st.reason ?? undefined}><StatusDot tone="bad" label={st.reason ?? "unavailable"} /></span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function ProviderHealth({ providers }: { providers: Provider[] }) {
  const rank = (p: Provider) => (!p.enabled ? 2 : p.credentials.active ? 0 : 1);
  const sorted = [...providers].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return (
    <Section title="Provider health" actions={<a href="#/providers">Manage</a>}>
      <ul className="health">
        {sorted.map((p) => {
          const { active, total } = p.credentials;
          const [tone, label] = !p.enabled ? ["off", "disabled"] as const
            : active ? ["good", `${active} active credential${active === 1 ? "" : "s"}`] as const
            : total ? ["bad", `all ${total} credentials disabled`] as const
            : ["warn", "no credential"] as const;
          return (
            <li key={p.name}>
              <span className="health-name">{p.display_name || p.name}</span>
              <StatusDot tone={tone} label={label} />
              {p.credentials.source === "environment" && <Badge>env</Badge>}
            </li>
          );
        })}
      </ul>
    </Section>
  );
}

function QuotaCard({ quota }: { quota: Quota }) {
  return (
    <Section title="Credits" actions={<a href="#/account">Details</a>}>
      <div className="stats stats-tight">
        <Stat label="Balance" value={fmtCredits(quota.remaining)} />
        <Stat label="Spent, last 30 days" value={fmtCredits(quota.spent_last_30_days)} />
        <Stat label="Lasts" value={quota.days_left === null ? "–" : `${fmtCount(Math.floor(quota.days_left))} days`}
              hint="at the recent daily spend" />
      </div>
    </Section>
  );
}
