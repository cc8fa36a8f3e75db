import { useEffect, useState, type FormEvent } from "react";
import { api, describeError } from "../api";
import { Badge, ConfirmButton, Empty, ErrorNote, Field, Loading, Notice, Section, StatusDot } from "../components/ui";
import { fmtCount, fmtMs, fmtTime } from "../format";
import { navigate, useAction, useHashRoute, useResource } from "../hooks";
import type { Credential, CredentialCheck, ListOf, Probe, Provider } from "../types";

export function Providers() {
  const route = useHashRoute();
  const list = useResource((signal) => api<ListOf<Provider>>("/admin/providers", { signal }), []);
  const providers = list.data?.data ?? [];
  const selected = route.params.get("p") ?? providers.find((p) => p.credentials.total)?.name ?? providers[0]?.name;
  const provider = providers.find((p) => p.name === selected);
  const select = (name: string) => navigate("/providers", { p: name });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Providers and credentials</h1>
      </div>
      <ErrorNote error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <div className="split">
          <div className="split-side">
            <Section title="Providers">
              <ul className="pick-list">
                {providers.map((p) => (
                  <li key={p.name}>
                    <button type="button" className="pick" aria-current={p.name === selected ? "true" : undefined}
                            onClick={() => select(p.name)}>
                      <span className="pick-name">{p.display_name || p.name}</span>
                      <ProviderState provider={p} />
                    </button>
                  </li>
                ))}
              </ul>
              <AddProvider kinds={[...new Set(providers.map((p) => p.kind))].sort()} onAdded={(name) => {
                list.reload();
                select(name);
              }} />
            </Section>
          </div>
          <div className="split-main">
            {provider ? <ProviderDetail key={provider.name} provider={provider} onChanged={list.reload} />
              : <Empty title="Pick a provider." />}
          </div>
        </div>
      )}
    </div>
  );
}

function ProviderState({ provider: p }: { provider: Provider }) {
  if (!p.enabled) return <StatusDot tone="off" label="disabled" />;
  if (p.credentials.active) return <StatusDot tone="good" label={`${p.credentials.active} active`} />;
  if (p.credentials.total) return <StatusDot tone="bad" label="no active key" />;
  return <StatusDot tone="warn" label="no credential" />;
}

function AddProvider({ kinds, onAdded }: { kinds: string[]; onAdded: (name: string) => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [kind, setKind] = useState("openai");
  const [baseUrl, setBaseUrl] = useState("");
  const [region, setRegion] = useState("");
  const action = useAction(async () => {
    await api("/admin/providers", {
      body: { name: name.trim(), kind, base_url: baseUrl.trim() || undefined, region: region.trim() || undefined, enabled: true },
    });
    onAdded(name.trim());
    setOpen(false);
    setName("");
    setBaseUrl("");
    setRegion("");
  });
  if (!open) {
    return <button type="button" className="btn btn-block" onClick={() => setOpen(true)}>Add a provider</button>;
  }
  return (
    <form className="stack" onSubmit={(e: FormEvent) => { e.preventDefault(); action.run(); }}>
      <h3>Add a provider</h3>
      <Field label="Name" hint="lower case: letters, digits, - and _">
        {(id) => <input id={id} required pattern="[a-z0-9][a-z0-9_-]*" value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Kind" hint="the adapter: openai for any OpenAI-compatible endpoint">
        {(id) => (
          <select id={id} value={kind} onChange={(e) => setKind(e.target.value)}>
            {(kinds.includes("openai") ? kinds : ["openai", ...kinds]).filter((k) => k !== "demo").map((k) => <option key={k}>{k}</option>)}
          </select>
        )}
      </Field>
      <Field label="Base URL" hint="as its SDK takes it (with /v1 for kind openai)">
        {(id) => <input id={id} type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="https://…/v1" />}
      </Field>
      <Field label="Region (optional)">
        {(id) => <input id={id} value={region} onChange={(e) => setRegion(e.target.value)} />}
      </Field>
      <ErrorNote error={action.error} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={action.busy}>Add provider</button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

function ProviderDetail({ provider, onChanged }: { provider: Provider; onChanged: () => void }) {
  const creds = useResource((signal) =>
    api<ListOf<Credential>>(`/admin/providers/${encodeURIComponent(provider.name)}/credentials`, { signal }), [provider.name]);
  const reload = () => {
    creds.reload();
    onChanged();
  };
  return (
    <>
      <ProviderSettings provider={provider} onChanged={onChanged} />
      <Section title={`Credentials of ${provider.display_name || provider.name}`}>
        {provider.credentials.source === "environment" && (
          <Notice>
            This provider uses a key from the server's environment. A credential added here replaces it.
          </Notice>
        )}
        <ErrorNote error={creds.error} onRetry={creds.reload} />
        {creds.loading && !creds.data && <Loading />}
        {creds.data && (creds.data.data.length === 0
          ? <Empty title="No credential stored for this provider." />
          : (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr><th scope="col">Name</th><th scope="col">Secret</th><th scope="col">State</th>
                    <th scope="col">Weight</th><th scope="col" className="num">Used</th><th scope="col">Actions</th></tr>
                </thead>
                <tbody>
                  {creds.data.data.map((c) => <CredentialRow key={c.id} credential={c} onChanged={reload} />)}
                </tbody>
              </table>
            </div>
          ))}
        <AddCredential provider={provider} onAdded={reload} />
      </Section>
      <ProbeModel provider={provider} />
    </>
  );
}

function ProviderSettings({ provider, onChanged }: { provider: Provider; onChanged: () => void }) {
  const [displayName, setDisplayName] = useState(provider.display_name ?? "");
  const [baseUrl, setBaseUrl] = useState(provider.base_url ?? "");
  const [region, setRegion] = useState(provider.region ?? "");
  const [saved, setSaved] = useState(false);
  const path = `/admin/providers/${encodeURIComponent(provider.name)}`;
  const save = useAction(async (fields: Record<string, unknown>) => {
    await api(path, { method: "PATCH", body: fields });
    setSaved(true);
    onChanged();
  });
  const remove = useAction(async () => {
    await api(path, { method: "DELETE" });
    onChanged();
    navigate("/providers");
  });
  useEffect(() => {
    if (!saved) return;
    const timer = setTimeout(() => setSaved(false), 2500);
    return () => clearTimeout(timer);
  }, [saved]);

  return (
    <Section title={provider.display_name || provider.name}
             actions={<>
               <Badge>{provider.kind}</Badge>
               {provider.builtin && <Badge>built in</Badge>}
               <button type="button" className={`btn btn-small ${provider.enabled ? "" : "btn-primary"}`} disabled={save.busy}
                       onClick={() => save.run({ enabled: !provider.enabled })}>
                 {provider.enabled ? "Disable provider" : "Enable provider"}
               </button>
             </>}>
      <form className="grid-form" onSubmit={(e) => {
        e.preventDefault();
        // Only what changed: a built-in provider keeps following its defaults for the rest.
        const fields: Record<string, string | null> = {};
        if (displayName.trim() !== (provider.display_name ?? "")) fields.display_name = displayName.trim() || null;
        if (baseUrl.trim() !== (provider.base_url ?? "")) fields.base_url = baseUrl.trim() || null;
        if (region.trim() !== (provider.region ?? "")) fields.region = region.trim() || null;
        save.run(fields);
      }}>
        <Field label="Display name">{(id) => <input id={id} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}</Field>
        <Field label="Base URL">{(id) => <input id={id} type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />}</Field>
        <Field label="Region">{(id) => <input id={id} value={region} onChange={(e) => setRegion(e.target.value)} />}</Field>
        <div className="row form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.busy}>Save settings</button>
          {saved && <span className="ok-text" role="status">Saved</span>}
          {!provider.builtin && (
            <ConfirmButton onConfirm={() => remove.run()} confirmLabel={`Delete ${provider.name} and its credentials`}>
              Delete provider
            </ConfirmButton>
          )}
        </div>
      </form>
      <ErrorNote error={save.error ?? remove.error} />
      {!provider.enabled && <Notice kind="warning">Disabled: no call goes to this provider.</Notice>}
    </Section>
  );
}

function CredentialRow({ credential: c, onChanged }: { credential: Credential; onChanged: () => void }) {
  const [weight, setWeight] = useState(String(c.weight));
  const [check, setCheck] = useState<CredentialCheck | null>(null);
  const path = `/admin/credentials/${encodeURIComponent(c.id)}`;
  const update = useAction(async (fields: Record<string, unknown>) => {
    await api(path, { method: "PATCH", body: fields });
    onChanged();
  });
  const runCheck = useAction(async () => {
    setCheck(null);
    setCheck(await api<CredentialCheck>(`${path}/check`, { method: "POST" }));
    onChanged();
  });
  const remove = useAction(async () => {
    await api(path, { method: "DELETE" });
    onChanged();
  });
  const weightChanged = weight !== String(c.weight);
  const label = c.name || c.id;
  return (
    <tr>
      <td>{c.name || <span className="muted">(unnamed)</span>}<div className="muted small">{c.type}</div></td>
      <td><code>{c.masked}</code></td>
      <td>
        {c.active ? <StatusDot tone="good" label="active" /> : <StatusDot tone="bad" label="disabled" />}
        {c.error && <div className="small error-text">{c.error}</div>}
        {check && (
          <div className={`small ${check.ok ? "ok-text" : "error-text"}`} role="status">
            {check.ok ? "Live check passed" : `Live check failed: ${check.reason}`}
          </div>
        )}
      </td>
      <td>
        <form className="row nowrap" onSubmit={(e) => { e.preventDefault(); update.run({ weight: Number(weight) }); }}>
          <input aria-label={`Weight of ${label}`} type="number" min={1} max={1000} className="input-narrow" value={weight}
                 onChange={(e) => setWeight(e.target.value)} />
          {weightChanged && <button type="submit" className="btn btn-small" disabled={update.busy}>Save</button>}
        </form>
      </td>
      <td className="num">{fmtCount(c.usage_count)}<div className="muted small">{c.last_used_at ? fmtTime(c.last_used_at) : "never"}</div></td>
      <td>
        <div className="row">
          <button type="button" className="btn btn-small" disabled={runCheck.busy} onClick={() => runCheck.run()}>
            {runCheck.busy ? "Checking…" : "Check now"}
          </button>
          <button type="button" className="btn btn-small" disabled={update.busy} onClick={() => update.run({ active: !c.active })}>
            {c.active ? "Disable" : "Enable"}
          </button>
          <ConfirmButton onConfirm={() => remove.run()} confirmLabel="Delete it">Delete</ConfirmButton>
        </div>
        <ErrorNote error={update.error ?? runCheck.error ?? remove.error} />
      </td>
    </tr>
  );
}

function AddCredential({ provider, onAdded }: { provider: Provider; onAdded: () => void }) {
  const aws = provider.kind === "bedrock";
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [accessKey, setAccessKey] = useState("");
  const [secretKey, setSecretKey] = useState("");
  const [weight, setWeight] = useState("1");
  const [check, setCheck] = useState(true);
  const [added, setAdded] = useState<Credential | null>(null);
  const action = useAction(async () => {
    const secret = aws ? { access_key_id: accessKey.trim(), secret_access_key: secretKey.trim() } : value.trim();
    const created = await api<Credential>(`/admin/providers/${encodeURIComponent(provider.name)}/credentials`, {
      body: { name: name.trim() || undefined, value: secret, weight: Number(weight) || 1, check },
    });
    setAdded(created);
    setName("");
    setValue("");
    setAccessKey("");
    setSecretKey("");
    onAdded();
  });
  return (
    <form className="subform" onSubmit={(e) => { e.preventDefault(); setAdded(null); action.run(); }} aria-label="Add a credential">
      <h3>Add a credential</h3>
      <div className="grid-form">
        <Field label="Name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} placeholder="team key" />}</Field>
        {aws ? (
          <>
            <Field label="Access key id">{(id) => <input id={id} required autoComplete="off" value={accessKey} onChange={(e) => setAccessKey(e.target.value)} />}</Field>
            <Field label="Secret access key">{(id) => <input id={id} type="password" required autoComplete="new-password" value={secretKey} onChange={(e) => setSecretKey(e.target.value)} />}</Field>
          </>
        ) : (
          <Field label="API key" hint="stored encrypted; shown masked from now on">
            {(id) => <input id={id} type="password" required autoComplete="new-password" spellCheck={false} value={value}
                            onChange={(e) => setValue(e.target.value)} />}
          </Field>
        )}
        <Field label="Weight" hint="share of the traffic among active keys">
          {(id) => <input id={id} type="number" min={1} max={1000} value={weight} onChange={(e) => setWeight(e.target.value)} />}
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" checked={check} onChange={(e) => setCheck(e.target.checked)} /> Check it live with the provider first
      </label>
      {action.error ? <div className="note note-error" role="alert">{describeError(action.error)}</div> : null}
      {added && <Notice kind="success">Added {added.name || added.id} ({added.masked}).</Notice>}
      <button type="submit" className="btn btn-primary" disabled={action.busy}>
        {action.busy ? (check ? "Checking…" : "Adding…") : "Add credential"}
      </button>
    </form>
  );
}

function ProbeModel({ provider }: { provider: Provider }) {
  const [model, setModel] = useState(provider.models[0] ?? "");
  const [result, setResult] = useState<Probe | null>(null);
  const action = useAction(async () => {
    setResult(null);
    setResult(await api<Probe>(`/admin/models/${encodeURIComponent(provider.name)}/${encodeURIComponent(model)}/probe`,
                               { method: "POST" }));
  });
  return (
    <Section title="Test a model">
      <form className="row" onSubmit={(e) => { e.preventDefault(); if (model.trim()) action.run(); }}>
        <Field label="Model" className="grow">
          {(id) => (
            <>
              <input id={id} list={`${id}-models`} value={model} onChange={(e) => setModel(e.target.value)} placeholder="model id" />
              <datalist id={`${id}-models`}>{provider.models.map((m) => <option key={m} value={m} />)}</datalist>
            </>
          )}
        </Field>
        <button type="submit" className="btn" disabled={action.busy || !model.trim()}>
          {action.busy ? "Probing…" : "Probe now"}
        </button>
      </form>
      <p className="muted small">Sends a one-token request through a credential of {provider.name} and records the model's health.</p>
      <ErrorNote error={action.error} />
      {result && (result.available
        ? <Notice kind="success">{result.provider}/{result.model} answered in {fmtMs(result.latency_ms)}.</Notice>
        : <div className="note note-error" role="alert">{result.provider}/{result.model} failed: {result.reason}</div>)}
    </Section>
  );
}
