// A small dependency-free SVG chart: lines or bars over time, with axes, a legend, a
// tooltip per point (<title>) and the same numbers as a table for screen readers.

export interface Series {
  name: string;
  values: (number | null)[];
}

export interface ChartProps {
  title: string;
  labels: string[];
  series: Series[];
  format?: (value: number) => string;
  kind?: "line" | "bar";
  emptyText?: string;
}

const W = 460;
const H = 190;
const PAD = { left: 54, right: 10, top: 10, bottom: 24 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

/** A round upper bound for the axis: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (max <= step * power) return step * power;
  }
  return 10 * power;
}

export function Chart({ title, labels, series, format = String, kind = "line", emptyText = "No data in this period" }: ChartProps) {
  const n = labels.length;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const hasData = all.some((v) => v !== 0);
  const top = niceMax(Math.max(0, ...all));
  const x = (i: number) => PAD.left + (n <= 1 ? PLOT_W / 2 : (i / (n - 1)) * PLOT_W);
  const slot = n ? PLOT_W / n : PLOT_W;
  const xBar = (i: number) => PAD.left + i * slot;
  const y = (v: number) => PAD.top + PLOT_H - (v / top) * PLOT_H;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const labelAt = n > 2 ? [0, Math.floor((n - 1) / 2), n - 1] : [...Array(n).keys()];
  const summary = hasData
    ? series.map((s) => `${s.name}: ${format(s.values.reduce<number>((a, v) => a + (v ?? 0), 0))} in all`).join("; ")
    : emptyText;

  return (
    <figure className="chart">
      <figcaption className="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}. ${summary}`} className="chart-svg">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="chart-grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="chart-axis">
              {format(t)}
            </text>
          </g>
        ))}
        {labelAt.map((i) => {
          // The end labels stay inside the plot: the first starts at its left edge, the last ends at its right.
          const anchor = i === 0 && n > 1 ? "start" : i === n - 1 && n > 1 ? "end" : "middle";
          const at = kind === "bar"
            ? (anchor === "start" ? xBar(i) : anchor === "end" ? xBar(i) + slot : xBar(i) + slot / 2)
            : x(i);
          return (
            <text key={i} x={at} y={H - 6} className="chart-axis" textAnchor={anchor}>
              {labels[i]}
            </text>
          );
        })}
        {hasData && kind === "bar" && series.map((s, si) => s.values.map((v, i) => {
          const width = (slot * 0.72) / series.length;
          const left = xBar(i) + slot * 0.14 + si * width;
          return v ? (
            <rect key={`${si}-${i}`} x={left} y={y(v)} width={Math.max(1, width)} height={PLOT_H + PAD.top - y(v)}
                  className={`chart-bar chart-s${si}`} />
          ) : null;
        }))}
        {hasData && kind === "line" && series.map((s, si) => {
          const points = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`));
          const segments: string[][] = [[]];
          points.forEach((p) => (p === null ? segments.push([]) : segments[segments.length - 1].push(p)));
          return (
            <g key={s.name} className={`chart-s${si}`}>
              {si === 0 && segments.filter((seg) => seg.length > 1).map((seg, k) => (
                <polygon key={k} className="chart-area"
                         points={`${seg[0].split(",")[0]},${PAD.top + PLOT_H} ${seg.join(" ")} ${seg[seg.length - 1].split(",")[0]},${PAD.top + PLOT_H}`} />
              ))}
              {segments.filter((seg) => seg.length > 1).map((seg, k) => (
                <polyline key={k} className="chart-line" points={seg.join(" ")} />
              ))}
              {n <= 60 && s.values.map((v, i) => v === null ? null : (
                <circle key={i} cx={x(i)} cy={y(v)} r={2.5} className="chart-dot" />
              ))}
            </g>
          );
        })}
        {hasData && labels.map((label, i) => (
          <rect key={label + i} className="chart-hit" x={kind === "bar" ? xBar(i) : x(i) - slot / 2} y={PAD.top}
                width={slot} height={PLOT_H}>
            <title>{`${label}\n${series.map((s) => `${s.name}: ${s.values[i] === null ? "–" : format(s.values[i] as number)}`).join("\n")}`}</title>
          </rect>
        ))}
        {!hasData && (
          <text x={PAD.left + PLOT_W / 2} y={PAD.top + PLOT_H / 2} textAnchor="middle" className="chart-empty">
            {emptyText}
          </text>
        )}
      </svg>
      {series.length > 1 && (
        <div className="chart-legend" aria-hidden="true">
          {series.map((s, si) => (
            <span key={s.name}><span className={`swatch chart-s${si}`} />{s.name}</span>
          ))}
        </div>
      )}
      {hasData && (
        <table className="sr-only">
          <caption>{title}</caption>
          <thead>
            <tr><th scope="col">Period</th>{series.map((s) => <th key={s.name} scope="col">{s.name}</th>)}</tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={label + i}>
                <th scope="row">{label}</th>
                {series.map((s) => <td key={s.name}>{s.values[i] === null ? "–" : format(s.values[i] as number)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
