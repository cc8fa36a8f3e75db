import { useEffect, useState } from "react";
import { api, query } from "../api";
import { fmtCredits, fmtTime } from "../format";
import { useAction } from "../hooks";
import type { LedgerEntry, ListOf } from "../types";
import { Badge, Empty, ErrorNote, Loading } from "./ui";

/** An account's ledger, newest first, with "Load more" paging by cursor. */
export function Ledger({ path, version = 0 }: { path: string; version?: number }) {
  const [entries, setEntries] = useState<LedgerEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | number | null>(null);
  const load = useAction(async (before: string | number | null, append: boolean) => {
    const page = await api<ListOf<LedgerEntry>>(`${path}${query({ limit: 25, before })}`);
    setEntries((old) => (append && old ? [...old, ...page.data] : page.data));
    setCursor(page.has_more ? page.next_cursor ?? null : null);
  });
  const { run } = load;
  useEffect(() => {
    setEntries(null);
    run(null, false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, version]);

  if (!entries) return load.error ? <ErrorNote error={load.error} onRetry={() => run(null, false)} /> : <Loading />;
  if (!entries.length) return <Empty title="No ledger entries yet." />;
  return (
    <>
      <div className="table-wrap">
        <table className="table table-compact">
          <caption className="sr-only">Ledger</caption>
          <thead>
            <tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col" className="num">Amount</th><th scope="col">Detail</th></tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{fmtTime(e.created_at)}</td>
                <td><Badge tone={e.amount >= 0 ? "good" : "neutral"}>{e.kind}</Badge></td>
                <td className={`num ${e.amount >= 0 ? "ok-text" : ""}`}>{e.amount > 0 ? "+" : ""}{fmtCredits(e.amount)}</td>
                <td className="small">
                  {e.request_id && <a href={`#/usage?request_id=${encodeURIComponent(e.request_id)}`}><code>{e.request_id}</code></a>}
                  {e.note && <span> {e.note}</span>}
                  {e.expires_at && <span className="muted"> expires {fmtTime(e.expires_at)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorNote error={load.error} />
      {cursor !== null && (
        <button type="button" className="btn btn-small" disabled={load.busy} onClick={() => run(cursor, true)}>
          {load.busy ? "Loading…" : "Load more"}
        </button>
      )}
    </>
  );
}
