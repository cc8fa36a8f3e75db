// Numbers, credits, durations and times as people read them.

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat("en");

export function fmtCount(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 10_000 ? compact.format(value) : whole.format(value);
}

/** Credits keep their small amounts readable: 0.000042, 12.5, 1.2M. */
export function fmtCredits(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1_000_000) return compact.format(value);
  if (size >= 1) return value.toLocaleString("en", { maximumFractionDigits: 2 });
  return trimNumber(value, 4);
}

/** A number with `significant` digits, without trailing zeros or exponent notation. */
export function trimNumber(value: number, significant = 6): string {
  if (value === 0) return "0";
  const digits = Math.max(0, significant - Math.floor(Math.log10(Math.abs(value))) - 1);
  return value.toFixed(Math.min(digits, 12)).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

export function fmtMs(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${Math.round(value)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function fmtPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined) return "–";
  return `${(ratio * 100).toFixed(digits).replace(/\.0+$/, "")}%`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return "–";
  return new Date(ms).toLocaleString("en", {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function fmtDay(ms: number, granularity: "hour" | "day" | "month"): string {
  const d = new Date(ms);
  if (granularity === "hour") return d.toLocaleString("en", { month: "short", day: "numeric", hour: "2-digit" });
  if (granularity === "month") return d.toLocaleString("en", { year: "numeric", month: "short" });
  return d.toLocaleString("en", { month: "short", day: "numeric" });
}

/** Token rates are stored per token; people set them per million tokens. */
export const PER_MILLION = 1_000_000;

export function perMillion(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "";
  return trimNumber(rate * PER_MILLION, 8);
}

export function fromPerMillion(text: string): number | null {
  if (text.trim() === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`"${text}" is not a rate.`);
  return value / PER_MILLION;
}

/** <input type="datetime-local"> value <-> epoch ms, in the viewer's time zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function fromLocalInput(text: string): number | null {
  if (!text) return null;
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? null : ms;
}
