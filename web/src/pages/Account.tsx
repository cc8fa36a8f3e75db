import { api } from "../api";
import { Ledger } from "../components/Ledger";
import { ErrorNote, Loading, Notice, Section, Stat } from "../components/ui";
import { fmtCount, fmtCredits, fmtTime } from "../format";
import { useResource } from "../hooks";
import type { Balance, Quota } from "../types";

/** A user's own account: credits, how long they last, and the ledger. */
export function Account() {
  const data = useResource(async (signal) => {
    const [credits, quota] = await Promise.all([
      api<Balance>("/v1/credits", { signal }),
      api<Quota>("/v1/usage/quota", { signal }).catch(() => null),
    ]);
    return { credits, quota };
  }, []);
  const d = data.data;
  return (
    <div className="page">
      <div className="page-head"><h1>My account</h1></div>
      <ErrorNote error={data.error} onRetry={data.reload} />
      {data.loading && !d && <Loading />}
      {d && (
        <>
          {d.credits.billing === false && <Notice>Billing is off on this aihub: calls are metered, nothing is charged.</Notice>}
          {d.credits.billing !== false && d.credits.balance <= 0 && (
            <Notice kind="warning">Out of credits: calls are refused (402) until an admin grants more.</Notice>
          )}
          <Section title="Credits">
            <div className="stats">
              <Stat label="Balance" value={fmtCredits(d.credits.balance)} />
              <Stat label="Granted" value={fmtCredits(d.credits.granted)} />
              <Stat label="Used" value={fmtCredits(d.credits.used)} />
              <Stat label="Reserved" value={fmtCredits(d.credits.reserved)} hint="held by calls in flight" />
              {d.quota && (
                <Stat label="Lasts" value={d.quota.days_left === null ? "–" : `${fmtCount(Math.floor(d.quota.days_left))} days`}
                      hint={d.quota.runs_out_at ? `at ${fmtCredits(d.quota.avg_daily_spend)}/day, until ${fmtTime(d.quota.runs_out_at)}` : "no recent spend"} />
              )}
            </div>
            <p className="small muted">Account <code>{d.credits.account_id}</code></p>
          </Section>
          <Section title="Ledger">
            <Ledger path="/v1/credits/ledger" />
          </Section>
        </>
      )}
    </div>
  );
}
