import { useState } from "react";
import { api, query } from "../api";
import { Badge, Empty, ErrorNote, Field, Loading, Notice, Section } from "../components/ui";
import { fromPerMillion, perMillion, trimNumber } from "../format";
import { useAction, useDebounced, useResource } from "../hooks";
import type { BulkResult, ListOf, ModelType, Provider, Rate, RateField } from "../types";

const TOKEN_RATES: { field: RateField; label: string }[] = [
  { field: "input_rate", label: "Input" },
  { field: "output_rate", label: "Output" },
  { field: "cache_read_rate", label: "Cache read" },
  { field: "cache_write_rate", label: "Cache write" },
];

/** A rate as people set it: per million tokens, or per image. */
export function showRate(field: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return field === "image_rate" ? trimNumber(value, 8) : perMillion(value);
}

function usd(value: number | null | undefined, field: string): string {
  if (value === null || value === undefined) return "–";
  return `$${field.startsWith("image") ? trimNumber(value, 6) : trimNumber(value * 1_000_000, 6)}`;
}

export function Rates() {
  const [search, setSearch] = useState("");
  const [provider, setProvider] = useState("");
  const [withDeprecated, setWithDeprecated] = useState(true);
  const wanted = useDebounced(search.trim());
  const rates = useResource((signal) => api<ListOf<Rate>>(`/admin/model-rates${query({
    search: wanted, provider, include_deprecated: withDeprecated ? "true" : "false",
  })}`, { signal }), [wanted, provider, withDeprecated]);
  const providers = useResource((signal) => api<ListOf<Provider>>("/admin/providers", { signal }), []);
  const names = (providers.data?.data ?? []).map((p) => p.name);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Model rates</h1>
      </div>
      <p className="muted">
        Rates are in credits per million tokens (per image for image models); unit costs are what the provider
        charges, in US dollars per million tokens.
      </p>
      <Section title="Rates">
        <div className="filters">
          <Field label="Search">
            {(id) => <input id={id} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="model name" />}
          </Field>
          <Field label="Provider">
            {(id) => (
              <select id={id} value={provider} onChange={(e) => setProvider(e.target.value)}>
                <option value="">All providers</option>
                {names.map((n) => <option key={n}>{n}</option>)}
              </select>
            )}
          </Field>
          <label className="check">
            <input type="checkbox" checked={withDeprecated} onChange={(e) => setWithDeprecated(e.target.checked)} /> Show deprecated
          </label>
        </div>
        <ErrorNote error={rates.error} onRetry={rates.reload} />
        {rates.loading && !rates.data && <Loading />}
        {rates.data && (rates.data.data.length === 0
          ? <Empty title={wanted || provider ? "No rate matches." : "No model has a rate yet."}>
              {wanted || provider ? "Change the search." : "Add one below, or derive rates from the catalogue with a margin."}
            </Empty>
          : <RateTable rates={rates.data.data} onChanged={rates.reload} />)}
      </Section>
      <div className="two-col">
        <AddRate providers={names} onAdded={rates.reload} />
        <BulkMargin providers={names} onApplied={rates.reload} />
      </div>
    </div>
  );
}

function RateTable({ rates, onChanged }: { rates: Rate[]; onChanged: () => void }) {
  const [editing, setEditing] = useState<number | null>(null);
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Model</th>
            {TOKEN_RATES.map((r) => <th key={r.field} scope="col" className="num">{r.label}</th>)}
            <th scope="col" className="num">Image</th>
            <th scope="col" className="num">Unit cost in / out</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rates.map((r) => editing === r.id
            ? <RateEditor key={r.id} rate={r} onDone={(changed) => { setEditing(null); if (changed) onChanged(); }} />
            : <RateRow key={r.id} rate={r} onEdit={() => setEditing(r.id)} onChanged={onChanged} />)}
        </tbody>
      </table>
    </div>
  );
}

function RateRow({ rate: r, onEdit, onChanged }: { rate: Rate; onEdit: () => void; onChanged: () => void }) {
  const toggle = useAction(async () => {
    await api(`/admin/model-rates/${r.id}`, { method: "PATCH", body: { deprecated: !r.deprecated } });
    onChanged();
  });
  const name = `${r.provider}/${r.model}`;
  return (
    <tr className={r.deprecated ? "dim" : undefined}>
      <td>
        <code>{name}</code> <Badge>{r.type}</Badge> {r.deprecated && <Badge tone="warn">deprecated</Badge>}
      </td>
      {TOKEN_RATES.map((f) => <td key={f.field} className="num">{showRate(f.field, r[f.field])}</td>)}
      <td className="num">{showRate("image_rate", r.image_rate)}</td>
      <td className="num muted">
        {r.type === "image" ? usd(r.image_cost_usd, "image") : `${usd(r.input_cost_usd, "input")} / ${usd(r.output_cost_usd, "output")}`}
      </td>
      <td>
        <div className="row nowrap">
          <button type="button" className="btn btn-small" onClick={onEdit} aria-label={`Edit ${name}`}>Edit</button>
          <button type="button" className="btn btn-small" disabled={toggle.busy} onClick={() => toggle.run()}
                  aria-label={`${r.deprecated ? "Restore" : "Deprecate"} ${name}`}>
            {r.deprecated ? "Restore" : "Deprecate"}
          </button>
        </div>
        <ErrorNote error={toggle.error} />
      </td>
    </tr>
  );
}

function RateEditor({ rate: r, onDone }: { rate: Rate; onDone: (changed: boolean) => void }) {
  const fields = [...TOKEN_RATES, { field: "image_rate" as const, label: "Image" }];
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.field, f.field === "image_rate"
      ? (r.image_rate === null ? "" : trimNumber(r.image_rate, 8)) : perMillion(r[f.field])])));
  const save = useAction(async () => {
    const body: Record<string, number | null> = {};
    for (const f of fields) {
      const text = values[f.field];
      const value = f.field === "image_rate" ? (text.trim() === "" ? null : Number(text)) : fromPerMillion(text);
      if (value !== null && !(value >= 0)) throw new Error(`${f.label}: not a rate.`);
      if (value !== r[f.field]) body[f.field] = value;
    }
    if (Object.keys(body).length) await api(`/admin/model-rates/${r.id}`, { method: "PATCH", body });
    onDone(Object.keys(body).length > 0);
  });
  return (
    <tr className="editing">
      <td colSpan={8}>
        <form onSubmit={(e) => { e.preventDefault(); save.run(); }} aria-label={`Edit ${r.provider}/${r.model}`}>
          <div className="row"><code>{r.provider}/{r.model}</code> <Badge>{r.type}</Badge></div>
          <div className="grid-form">
            {fields.map((f) => (
              <Field key={f.field} label={f.field === "image_rate" ? "Credits per image" : `${f.label} (credits / 1M tokens)`}>
                {(id) => <input id={id} inputMode="decimal" value={values[f.field]}
                                onChange={(e) => setValues({ ...values, [f.field]: e.target.value })} />}
              </Field>
            ))}
          </div>
          <ErrorNote error={save.error} />
          <div className="row">
            <button type="submit" className="btn btn-primary" disabled={save.busy}>Save rate</button>
            <button type="button" className="btn" onClick={() => onDone(false)}>Cancel</button>
          </div>
        </form>
      </td>
    </tr>
  );
}

function AddRate({ providers, onAdded }: { providers: string[]; onAdded: () => void }) {
  const [provider, setProvider] = useState("");
  const [model, setModel] = useState("");
  const [type, setType] = useState<ModelType>("chat");
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const [image, setImage] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction(async () => {
    const body: Record<string, unknown> = { provider: provider || providers[0], model: model.trim(), type };
    if (type === "image") {
      body.image_rate = image.trim() === "" ? 0 : Number(image);
    } else {
      body.input_rate = fromPerMillion(input) ?? 0;
      body.output_rate = fromPerMillion(output) ?? 0;
    }
    const saved = await api<Rate>("/admin/model-rates", { body });
    setDone(`Saved ${saved.provider}/${saved.model}.`);
    setModel("");
    setInput("");
    setOutput("");
    setImage("");
    onAdded();
  });
  return (
    <Section title="Set a rate">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); setDone(null); action.run(); }}>
        <div className="grid-form">
          <Field label="Provider">
            {(id) => (
              <select id={id} value={provider || providers[0] || ""} onChange={(e) => setProvider(e.target.value)}>
                {providers.map((n) => <option key={n}>{n}</option>)}
              </select>
            )}
          </Field>
          <Field label="Model">{(id) => <input id={id} required value={model} onChange={(e) => setModel(e.target.value)} placeholder="gpt-4o-mini" />}</Field>
          <Field label="Type">
            {(id) => (
              <select id={id} value={type} onChange={(e) => setType(e.target.value as ModelType)}>
                <option value="chat">chat</option>
                <option value="embedding">embedding</option>
                <option value="image">image</option>
              </select>
            )}
          </Field>
          {type === "image" ? (
            <Field label="Credits per image">{(id) => <input id={id} inputMode="decimal" value={image} onChange={(e) => setImage(e.target.value)} />}</Field>
          ) : (
            <>
              <Field label="Input (credits / 1M tokens)">{(id) => <input id={id} inputMode="decimal" value={input} onChange={(e) => setInput(e.target.value)} />}</Field>
              <Field label="Output (credits / 1M tokens)">{(id) => <input id={id} inputMode="decimal" value={output} onChange={(e) => setOutput(e.target.value)} />}</Field>
            </>
          )}
        </div>
        <p className="muted small">A model the catalogue knows gets its unit costs and limits from it.</p>
        <ErrorNote error={action.error} />
        {done && <Notice kind="success">{done}</Notice>}
        <div><button type="submit" className="btn btn-primary" disabled={action.busy}>Save rate</button></div>
      </form>
    </Section>
  );
}

function BulkMargin({ providers, onApplied }: { providers: string[]; onApplied: () => void }) {
  const [margin, setMargin] = useState("20");
  const [price, setPrice] = useState("");
  const [provider, setProvider] = useState("");
  const [source, setSource] = useState<"existing" | "catalogue">("existing");
  const [preview, setPreview] = useState<BulkResult | null>(null);
  const [applied, setApplied] = useState<number | null>(null);
  const body = (dryRun: boolean) => ({
    margin: Number(margin) / 100, credit_price: Number(price), provider: provider || undefined, source, dry_run: dryRun,
  });
  const run = useAction(async (dryRun: boolean) => {
    const result = await api<BulkResult>("/admin/model-rates/bulk", { body: body(dryRun) });
    if (dryRun) {
      setPreview(result);
      setApplied(null);
    } else {
      setPreview(null);
      setApplied(result.count);
      onApplied();
    }
  });
  const changed = () => { setPreview(null); setApplied(null); };
  const shown = preview?.data.slice(0, 100) ?? [];
  return (
    <Section title="Bulk margin update">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); run.run(true); }}>
        <p className="muted small">rate = unit cost × (1 + margin) ÷ credit price, for every model with a known unit cost.</p>
        <div className="grid-form">
          <Field label="Margin (%)">{(id) => <input id={id} type="number" step="any" min={-99} max={10000} required value={margin}
                                                    onChange={(e) => { setMargin(e.target.value); changed(); }} />}</Field>
          <Field label="Credit price (USD per credit)">{(id) => <input id={id} type="number" step="any" min={0} required value={price} placeholder="e.g. 1: a credit costs 1 USD"
                                                                       onChange={(e) => { setPrice(e.target.value); changed(); }} />}</Field>
          <Field label="Provider">
            {(id) => (
              <select id={id} value={provider} onChange={(e) => { setProvider(e.target.value); changed(); }}>
                <option value="">All providers</option>
                {providers.map((n) => <option key={n}>{n}</option>)}
              </select>
            )}
          </Field>
          <Field label="Models">
            {(id) => (
              <select id={id} value={source} onChange={(e) => { setSource(e.target.value as "existing" | "catalogue"); changed(); }}>
                <option value="existing">Models that have a rate</option>
                <option value="catalogue">Every model of the catalogue</option>
              </select>
            )}
          </Field>
        </div>
        <ErrorNote error={run.error} />
        <div className="row">
          <button type="submit" className="btn" disabled={run.busy}>Preview (dry run)</button>
          {preview && preview.count > 0 && (
            <button type="button" className="btn btn-primary" disabled={run.busy} onClick={() => run.run(false)}>
              Apply to {preview.count} model{preview.count === 1 ? "" : "s"}
            </button>
          )}
        </div>
        {applied !== null && <Notice kind="success">Updated the rates of {applied} model{applied === 1 ? "" : "s"}.</Notice>}
      </form>
      {preview && (preview.count === 0 ? <Empty title="No model with a known unit cost matches." /> : (
        <div className="table-wrap preview" aria-label="Dry-run preview">
          <p className="small">Preview of {preview.count} change{preview.count === 1 ? "" : "s"} (credits / 1M tokens; nothing saved yet){preview.count > shown.length ? `, first ${shown.length} shown` : ""}:</p>
          <table className="table table-compact">
            <thead><tr><th scope="col">Model</th><th scope="col">Rate</th><th scope="col" className="num">Now</th><th scope="col" className="num">New</th></tr></thead>
            <tbody>
              {shown.flatMap((c) => Object.keys(c.after).map((field, i) => (
                <tr key={`${c.provider}/${c.model}/${field}`}>
                  <td>{i === 0 ? <code>{c.provider}/{c.model}</code> : null}</td>
                  <td>{field.replace(/_rate$/, "").replace("_", " ")}</td>
                  <td className="num">{showRate(field, c.before[field])}</td>
                  <td className="num">{showRate(field, c.after[field])}</td>
                </tr>
              )))}
            </tbody>
          </table>
        </div>
      ))}
    </Section>
  );
}
