import { useState } from "react";
import { api } from "../api";
import { Ledger } from "../components/Ledger";
import { Badge, ConfirmButton, CopyButton, Empty, ErrorNote, Field, Loading, Notice, Section, Stat } from "../components/ui";
import { fmtCount, fmtCredits, fmtTime } from "../format";
import { navigate, useAction, useHashRoute, useResource } from "../hooks";
import type { Account, AccountDetail, ApiKey, ListOf, NewKey } from "../types";

export function Keys() {
  const route = useHashRoute();
  const keys = useResource((signal) => api<ListOf<ApiKey>>("/admin/keys", { signal }), []);
  const accounts = useResource((signal) => api<ListOf<Account>>("/admin/accounts", { signal }), []);
  const [showRevoked, setShowRevoked] = useState(false);
  const account = route.params.get("account");
  const reload = () => {
    keys.reload();
    accounts.reload();
  };
  const names = Object.fromEntries((accounts.data?.data ?? []).map((a) => [a.id, a.name || a.id]));
  const shown = (keys.data?.data ?? []).filter((k) => showRevoked || !k.revoked);
  const revokedCount = (keys.data?.data ?? []).filter((k) => k.revoked).length;

  return (
    <div className="page">
      <div className="page-head"><h1>Keys and accounts</h1></div>
      <CreateKey accounts={accounts.data?.data ?? []} onCreated={reload} />
      <Section title="Keys" actions={
        <label className="check">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />
          Show revoked ({revokedCount})
        </label>
      }>
        <ErrorNote error={keys.error} onRetry={keys.reload} />
        {keys.loading && !keys.data && <Loading />}
        {keys.data && (shown.length === 0 ? <Empty title="No key yet.">Create one above.</Empty> : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Account</th><th scope="col">Limits</th>
                  <th scope="col">Created</th><th scope="col">Actions</th></tr>
              </thead>
              <tbody>
                {shown.map((k) => <KeyRow key={k.id} apiKey={k} accountName={k.account_id ? names[k.account_id] : undefined} onChanged={reload} />)}
              </tbody>
            </table>
          </div>
        ))}
      </Section>
      <div className="split">
        <div className="split-side">
          <Section title="Accounts">
            <ErrorNote error={accounts.error} onRetry={accounts.reload} />
            {accounts.loading && !accounts.data && <Loading />}
            {accounts.data && (accounts.data.data.length === 0 ? <Empty title="No account yet." /> : (
              <ul className="pick-list">
                {accounts.data.data.map((a) => (
                  <li key={a.id}>
                    <button type="button" className="pick" aria-current={a.id === account ? "true" : undefined}
                            onClick={() => navigate("/keys", { account: a.id })}>
                      <span className="pick-name">{a.name || a.id}</span>
                      <span className="muted small">{fmtCredits(a.balance)} credits</span>
                    </button>
                  </li>
                ))}
              </ul>
            ))}
          </Section>
        </div>
        <div className="split-main">
          {account ? <AccountPanel key={account} accountId={account} onChanged={accounts.reload} />
            : <Section title="Account"><Empty title="Pick an account to see its balance and ledger, and to grant credits." /></Section>}
        </div>
      </div>
    </div>
  );
}

function CreateKey({ accounts, onCreated }: { accounts: Account[]; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<"user" | "admin">("user");
  const [credits, setCredits] = useState("");
  const [accountId, setAccountId] = useState("");
  const [created, setCreated] = useState<NewKey | null>(null);
  const action = useAction(async () => {
    const body: Record<string, unknown> = { name: name.trim() || undefined, role };
    if (accountId) body.account_id = accountId;
    else if (credits.trim()) body.credits = Number(credits);
    const key = await api<NewKey>("/admin/keys", { body });
    setCreated(key);
    setName("");
    setCredits("");
    onCreated();
  });
  return (
    <Section title="Create a key">
      {created && (
        <div className="new-key" role="status" aria-live="polite">
          <p><strong>Key “{created.name || created.id}” created.</strong> Copy it now: it is shown only this once and
            aihub keeps only its hash.</p>
          <div className="row nowrap">
            <input className="grow mono" readOnly value={created.key} aria-label="The new key" onFocus={(e) => e.target.select()} />
            <CopyButton text={created.key} label="Copy key" />
          </div>
          <p className="small muted">Account <code>{created.account_id}</code>{created.credits ? `, granted ${fmtCredits(created.credits)} credits` : ""}.</p>
          <button type="button" className="btn btn-small" onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      <form className="grid-form" onSubmit={(e) => { e.preventDefault(); action.run(); }} aria-label="Create a key">
        <Field label="Name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} placeholder="my app" />}</Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as "user" | "admin")}>
              <option value="user">user</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
        <Field label="Account">
          {(id) => (
            <select id={id} value={accountId} onChange={(e) => setAccountId(e.target.value)}>
              <option value="">A new account</option>
              {accounts.map((a) => <option key={a.id} value={a.id}>{a.name || a.id}</option>)}
            </select>
          )}
        </Field>
        <Field label="Starting credits" hint={accountId ? "grant credits to an existing account below" : "granted to the new account"}>
          {(id) => <input id={id} type="number" min={0} step="any" value={credits} disabled={!!accountId}
                          onChange={(e) => setCredits(e.target.value)} />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy}>Create key</button>
        </div>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}

function limitsText(k: ApiKey): string {
  const parts = [
    k.rpm ? `${fmtCount(k.rpm)} rpm` : null,
    k.tpm ? `${fmtCount(k.tpm)} tpm` : null,
    k.daily_cap !== null ? `${fmtCredits(k.daily_cap)}/day` : null,
    k.monthly_cap !== null ? `${fmtCredits(k.monthly_cap)}/month` : null,
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : "none";
}

function KeyRow({ apiKey: k, accountName, onChanged }: { apiKey: ApiKey; accountName?: string; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const revoke = useAction(async () => {
    await api(`/admin/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
    onChanged();
  });
  const label = k.name || k.id;
  return (
    <>
      <tr className={k.revoked ? "dim" : undefined}>
        <td>{label} {k.role === "admin" && <Badge tone="accent">admin</Badge>} {k.revoked && <Badge tone="bad">revoked</Badge>}</td>
        <td><code>{k.masked}</code></td>
        <td>{k.account_id ? <a href={`#/keys?account=${encodeURIComponent(k.account_id)}`}>{accountName ?? k.account_id}</a> : "–"}</td>
        <td className="small">{limitsText(k)}</td>
        <td className="small">{fmtTime(k.created_at)}</td>
        <td>
          {!k.revoked && (
            <div className="row nowrap">
              <button type="button" className="btn btn-small" aria-expanded={editing} onClick={() => setEditing(!editing)}
                      aria-label={`Limits of ${label}`}>
                Limits
              </button>
              <ConfirmButton onConfirm={() => revoke.run()} confirmLabel={`Revoke ${label}`}>Revoke</ConfirmButton>
            </div>
          )}
          <ErrorNote error={revoke.error} />
        </td>
      </tr>
      {editing && (
        <tr className="editing">
          <td colSpan={6}><LimitsEditor apiKey={k} onDone={(changed) => { setEditing(false); if (changed) onChanged(); }} /></td>
        </tr>
      )}
    </>
  );
}

function LimitsEditor({ apiKey: k, onDone }: { apiKey: ApiKey; onDone: (changed: boolean) => void }) {
  const text = (v: number | null) => (v === null ? "" : String(v));
  const [rpm, setRpm] = useState(text(k.rpm));
  const [tpm, setTpm] = useState(text(k.tpm));
  const [daily, setDaily] = useState(text(k.daily_cap));
  const [monthly, setMonthly] = useState(text(k.monthly_cap));
  const save = useAction(async () => {
    const num = (s: string) => (s.trim() === "" ? null : Number(s));
    await api(`/admin/keys/${encodeURIComponent(k.id)}`, {
      method: "PATCH", body: { rpm: num(rpm), tpm: num(tpm), daily_cap: num(daily), monthly_cap: num(monthly) },
    });
    onDone(true);
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); save.run(); }} aria-label={`Limits of ${k.name || k.id}`}>
      <div className="grid-form">
        <Field label="Requests per minute">{(id) => <input id={id} type="number" min={1} value={rpm} onChange={(e) => setRpm(e.target.value)} placeholder="no limit" />}</Field>
        <Field label="Tokens per minute">{(id) => <input id={id} type="number" min={1} value={tpm} onChange={(e) => setTpm(e.target.value)} placeholder="no limit" />}</Field>
        <Field label="Daily cap (credits)">{(id) => <input id={id} type="number" min={0} step="any" value={daily} onChange={(e) => setDaily(e.target.value)} placeholder="no cap" />}</Field>
        <Field label="Monthly cap (credits)">{(id) => <input id={id} type="number" min={0} step="any" value={monthly} onChange={(e) => setMonthly(e.target.value)} placeholder="no cap" />}</Field>
      </div>
      <ErrorNote error={save.error} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={save.busy}>Save limits</button>
        <button type="button" className="btn" onClick={() => onDone(false)}>Cancel</button>
      </div>
    </form>
  );
}

function AccountPanel({ accountId, onChanged }: { accountId: string; onChanged: () => void }) {
  const path = `/admin/accounts/${encodeURIComponent(accountId)}`;
  const detail = useResource((signal) => api<AccountDetail>(path, { signal }), [path]);
  const [version, setVersion] = useState(0);
  const d = detail.data;
  return (
    <Section title={`Account ${accountId}`}>
      <ErrorNote error={detail.error} onRetry={detail.reload} />
      {detail.loading && !d && <Loading />}
      {d && (
        <>
          <div className="stats stats-tight">
            <Stat label="Balance" value={fmtCredits(d.balance)} />
            <Stat label="Granted" value={fmtCredits(d.granted)} />
            <Stat label="Used" value={fmtCredits(d.used)} />
            <Stat label="Reserved" value={fmtCredits(d.reserved)} hint="held by calls in flight" />
          </div>
          <p className="small muted">
            {d.keys.length} key{d.keys.length === 1 ? "" : "s"}: {d.keys.map((k) => k.name || k.id).join(", ") || "none"} ·{" "}
            <a href={`#/usage?account_id=${encodeURIComponent(accountId)}`}>its calls</a>
          </p>
          <GrantCredits accountId={accountId} onGranted={() => { detail.reload(); setVersion((v) => v + 1); onChanged(); }} />
          <h3>Ledger</h3>
          <Ledger path={`${path}/ledger`} version={version} />
        </>
      )}
    </Section>
  );
}

function GrantCredits({ accountId, onGranted }: { accountId: string; onGranted: () => void }) {
  const [amount, setAmount] = useState("");
  const [kind, setKind] = useState<"grant" | "topup" | "refund">("grant");
  const [expires, setExpires] = useState("");
  const [note, setNote] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction(async () => {
    const value = Number(amount);
    if (!(value > 0)) throw new Error("Enter an amount above 0.");
    const body: Record<string, unknown> = { amount: value, kind, note: note.trim() || undefined };
    if (kind === "grant" && expires) body.expires_at = new Date(`${expires}T23:59:59`).getTime();
    await api(`/admin/accounts/${encodeURIComponent(accountId)}/credits`, { body });
    setDone(`Added ${fmtCredits(value)} credits (${kind}).`);
    setAmount("");
    setNote("");
    onGranted();
  });
  return (
    <form className="subform" onSubmit={(e) => { e.preventDefault(); setDone(null); action.run(); }} aria-label="Grant credits">
      <h3>Grant credits</h3>
      <div className="grid-form">
        <Field label="Amount (credits)">{(id) => <input id={id} type="number" min={0} step="any" required value={amount} onChange={(e) => setAmount(e.target.value)} />}</Field>
        <Field label="Kind">
          {(id) => (
            <select id={id} value={kind} onChange={(e) => setKind(e.target.value as "grant" | "topup" | "refund")}>
              <option value="grant">grant</option>
              <option value="topup">top-up</option>
              <option value="refund">refund</option>
            </select>
          )}
        </Field>
        {kind === "grant" && (
          <Field label="Expires (optional)">{(id) => <input id={id} type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />}</Field>
        )}
        <Field label="Note">{(id) => <input id={id} value={note} onChange={(e) => setNote(e.target.value)} />}</Field>
      </div>
      <ErrorNote error={action.error} />
      {done && <Notice kind="success">{done}</Notice>}
      <button type="submit" className="btn btn-primary" disabled={action.busy}>Grant</button>
    </form>
  );
}
