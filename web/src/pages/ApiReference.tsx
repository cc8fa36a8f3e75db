import { useState, type ReactNode } from "react";
import { api } from "../api";
import { Badge, Empty, ErrorNote, Field, Loading, Section } from "../components/ui";
import { useResource } from "../hooks";
import {
  children, fieldsOf, groupByTag, refName, resolve, typeLabel,
  type Described, type OpenApi, type Operation, type Schema,
} from "../openapi";

const AUTH: Record<string, { label: string; tone: "neutral" | "accent" | "good" }> = {
  none: { label: "no key", tone: "good" },
  key: { label: "key", tone: "neutral" },
  admin: { label: "admin key", tone: "accent" },
};

/** The API reference: GET /openapi.json, grouped by tag, one disclosure per operation. */
export function ApiReference() {
  const spec = useResource((signal) => api<OpenApi>("openapi.json", { signal }), []);
  const [search, setSearch] = useState("");
  if (spec.loading) return <Loading label="Loading the API description…" />;
  if (spec.error || !spec.data) return <ErrorNote error={spec.error} onRetry={spec.reload} title="Cannot load the API description" />;
  const groups = groupByTag(spec.data, search);
  return (
    <div className="page">
      <div className="page-head">
        <h1>API reference</h1>
        <a href="openapi.json" className="btn btn-small" download>openapi.json</a>
      </div>
      <p className="muted">
        {spec.data.info.title} {spec.data.info.version}, OpenAPI {spec.data.openapi}. {spec.data.info.description}
      </p>
      <Field label="Search">
        {(id) => <input id={id} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="path, method or name" />}
      </Field>
      {groups.length === 0 && <Empty title="No operation matches." />}
      {groups.map((group) => (
        <Section key={group.name} title={group.name}>
          {group.description && <p className="muted">{group.description}</p>}
          <div className="stack">
            {group.operations.map((d) => <OperationView key={`${d.method} ${d.path}`} spec={spec.data!} described={d} />)}
          </div>
        </Section>
      ))}
    </div>
  );
}

/** A <details> whose content is rendered only once opened: schemas nest deep. */
function Disclosure({ summary, className, children: content }: { summary: ReactNode; className?: string; children: () => ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <details className={className} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{summary}</summary>
      {open && content()}
    </details>
  );
}

function OperationView({ spec, described }: { spec: OpenApi; described: Described }) {
  const { method, path, operation } = described;
  const auth = AUTH[operation["x-auth"] ?? "key"];
  return (
    <Disclosure className="operation" summary={
      <>
        <span className={`method method-${method.toLowerCase()}`}>{method}</span>
        <code className="operation-path">{path}</code>
        <span className="muted">{operation.summary}</span>
        <Badge tone={auth.tone}>{auth.label}</Badge>
      </>
    }>
      {() => <OperationBody spec={spec} operation={operation} />}
    </Disclosure>
  );
}

function OperationBody({ spec, operation }: { spec: OpenApi; operation: Operation }) {
  const body = operation.requestBody?.content ?? {};
  return (
    <div className="operation-body">
      {operation.description && <p>{operation.description}</p>}
      {operation.parameters && operation.parameters.length > 0 && (
        <>
          <h3>Parameters</h3>
          <ul className="schema">
            {operation.parameters.map((p) => (
              <li key={`${p.in} ${p.name}`}>
                <code>{p.name}</code> <span className="muted">in {p.in}</span>{" "}
                {p.required && <span className="required">required</span>}{" "}
                <span className="schema-type">{p.schema ? typeLabel(p.schema) : "string"}</span>
                {p.description && <span className="muted"> {p.description}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      {Object.entries(body).map(([media, { schema }]) => (
        <div key={media}>
          <h3>Request body <code className="muted">{media}</code></h3>
          <SchemaView spec={spec} schema={schema} seen={[]} />
        </div>
      ))}
      <h3>Responses</h3>
      <ul className="schema">
        {Object.entries(operation.responses).map(([status, response]) => {
          const shown = response.$ref ? spec.components?.responses?.[refName(response.$ref)] ?? {} : response;
          const content = Object.entries(shown.content ?? {});
          return (
            <li key={status}>
              <code>{status}</code> {shown.description}{" "}
              {content.map(([media, { schema }]) => (
                <span key={media} className="muted"> <code>{media}</code>{schema.$ref ? `: ${refName(schema.$ref)}` : ""}</span>
              ))}
              {content.filter(([, { schema }]) => schema.$ref).slice(0, 1).map(([media, { schema }]) => (
                <SchemaView key={media} spec={spec} schema={schema} seen={[]} />
              ))}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** An object's fields, each with its type; the schemas under a field open on demand. A schema
 * already open above is named, not opened again (the models are recursive). */
function SchemaView({ spec, schema, seen }: { spec: OpenApi; schema: Schema; seen: string[] }) {
  const here = schema.$ref ? [...seen, schema.$ref] : seen;
  const fields = fieldsOf(spec, schema);
  if (fields.length === 0) {
    const options = openable(spec, schema, here);
    if (options.length === 0) return <p className="muted">{typeLabel(resolve(spec, schema))}</p>;
    return <ul className="schema">{options.map((o, i) => <li key={i}><Nested spec={spec} schema={o} seen={here} /></li>)}</ul>;
  }
  return (
    <ul className="schema">
      {fields.map((f) => {
        const description = resolve(spec, f.schema).description ?? f.schema.description;
        const inner = openable(spec, f.schema, here);
        return (
          <li key={f.name}>
            <code>{f.name}</code> {f.required && <span className="required">required</span>}{" "}
            <span className="schema-type">{typeLabel(f.schema)}</span>
            {description && <span className="muted"> {description}</span>}
            {inner.map((s, i) => <Nested key={i} spec={spec} schema={s} seen={here} />)}
          </li>
        );
      })}
    </ul>
  );
}

function Nested({ spec, schema, seen }: { spec: OpenApi; schema: Schema; seen: string[] }) {
  return (
    <Disclosure className="schema-nested" summary={`${typeLabel(schema)} fields`}>
      {() => <SchemaView spec={spec} schema={schema} seen={seen} />}
    </Disclosure>
  );
}

/** The object schemas under this one that have fields to show and are not open above. */
function openable(spec: OpenApi, schema: Schema, seen: string[]): Schema[] {
  const found: Schema[] = [];
  const visit = (s: Schema, depth: number) => {
    if (s.$ref && seen.includes(s.$ref)) return;
    if (fieldsOf(spec, s).length > 0) {
      found.push(s);
      return;
    }
    if (depth < 3) children(spec, s).forEach((c) => visit(c, depth + 1));
  };
  visit(schema, 0);
  return found;
}
