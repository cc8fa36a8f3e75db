import { useState, type FormEvent } from "react";
import { describeError } from "../api";
import { checkKey } from "../session";

export function SignIn({ message, onSignedIn }: { message?: string; onSignedIn: (key: string, admin: boolean) => void }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = key.trim();
    if (!value) {
      setError("Enter an aihub key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { admin } = await checkKey(value);
      onSignedIn(value, admin);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <main className="center-page">
      <form className="card signin" onSubmit={submit} aria-describedby="signin-help">
        <div className="signin-brand">
          <span className="brand-mark" aria-hidden="true">A</span>
          <h1>aihub</h1>
        </div>
        <p id="signin-help" className="muted">
          Sign in with an aihub key. An admin key manages providers, rates, keys and every account; any other key
          sees its own account's usage and the playground.
        </p>
        {message && <div className="note note-warning" role="alert">{message}</div>}
        <div className="field">
          <label htmlFor="signin-key">aihub key</label>
          <input id="signin-key" type="password" autoComplete="current-password" spellCheck={false}
                 value={key} onChange={(e) => setKey(e.target.value)} placeholder="ah-…" autoFocus
                 aria-invalid={error ? true : undefined} aria-describedby={error ? "signin-error" : undefined} />
        </div>
        {error && <div id="signin-error" className="note note-error" role="alert">{error}</div>}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="muted small">
          The key stays in this browser tab only (session storage) and goes nowhere but to this aihub.
        </p>
      </form>
    </main>
  );
}
