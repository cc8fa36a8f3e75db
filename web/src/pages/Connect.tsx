import { useState } from "react";
import { api, request } from "../api";
import { ErrorNote, Notice } from "../components/ui";

/** The page `aigne hub connect` opens (through /.well-known/service/gen-simple-access-key):
 *  the signed-in user sees which app asks and approves; aihub then issues a new key of their
 *  account and hands it, sealed, to that app's session only: this page never sees it. */

interface Approved {
  key_id: string;
  name: string;
  masked: string;
}

/** The CLI's `__token__`: the session id in base64url without padding. */
export function sessionIdOf(token: string): string | null {
  try {
    return atob(token.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
}

export function Connect({ params }: { params: URLSearchParams }) {
  const token = params.get("__token__") ?? "";
  const appName = (params.get("appName") ?? "").trim() || "An application";
  const source = params.get("source");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ approved: Approved } | { denied: true } | null>(null);
  const sid = sessionIdOf(token);

  const approve = async () => {
    setBusy(true);
    setError(null);
    try {
      const approved = await api<Approved>("/.well-known/service/api/access-key/approve",
                                           { body: { token, appName } });
      setDone({ approved });
      if (params.get("closeOnSuccess") === "true") window.close(); // only a window a script opened closes
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const deny = async () => {
    setBusy(true);
    setError(null);
    try {
      // Ending the session makes the waiting app stop at once, with nothing issued.
      await request(`/.well-known/service/api/access-key/session?sid=${encodeURIComponent(sid ?? "")}`,
                    { method: "DELETE" });
      setDone({ denied: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page">
      <div className="page-head"><h1>Connect an app</h1></div>
      {!sid ? (
        <Notice kind="warning">This link carries no connect session. Run <code>aigne hub connect</code> again.</Notice>
      ) : done && "approved" in done ? (
        <Notice kind="success">
          Connected. <strong>{appName}</strong> received its own key <code>{done.approved.masked}</code> ({done.approved.name}),
          which uses your account's credits. Revoke it any time among your keys. You can close this page.
        </Notice>
      ) : done ? (
        <Notice>Denied: nothing was issued. You can close this page.</Notice>
      ) : (
        <div className="card">
          <p><strong data-testid="connect-app">{appName}</strong> asks for access to aihub as you.</p>
          {source && <p className="muted small">Requested by: <span data-testid="connect-source">{source}</span></p>}
          <p>
            Approving issues a new aihub key of your account for that app (with your key's rate limits and caps);
            its calls spend your credits. Approve only if you just started this from your own terminal.
          </p>
          <ErrorNote error={error} />
          <div className="row">
            <button type="button" className="btn btn-primary" disabled={busy} onClick={approve}>Approve</button>
            <button type="button" className="btn" disabled={busy} onClick={deny}>Deny</button>
          </div>
        </div>
      )}
    </div>
  );
}
