// Shapes of aihub's answers, as far as the UI reads them.

export interface ListOf<T> {
  object: "list";
  data: T[];
  has_more?: boolean;
  next_cursor?: string | number | null;
}

export interface Latency {
  p50: number | null;
  p95: number | null;
}

export interface Metrics {
  calls: number;
  errors: number;
  error_rate: number;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  images: number;
  credits: number;
  duration_ms: Latency;
  ttfb_ms: Latency;
}

export interface Summary extends Metrics {
  object: "usage.summary";
  from: number;
  to: number;
}

export interface SeriesPoint extends Metrics {
  start: number;
  end: number;
}

export interface Timeseries {
  object: "usage.timeseries";
  granularity: "hour" | "day" | "month";
  data: SeriesPoint[];
}

export interface TopModel extends Metrics {
  provider: string | null;
  model: string | null;
  share: number;
}

export interface Quota {
  account_id: string | null;
  used: number;
  remaining: number;
  reserved: number;
  spent_last_30_days: number;
  avg_daily_spend: number;
  days_left: number | null;
  runs_out_at: number | null;
}

export interface Provider {
  name: string;
  display_name: string;
  kind: string;
  base_url: string | null;
  region: string | null;
  enabled: boolean;
  builtin: boolean;
  models: string[];
  credentials: { total: number; active: number; source: "database" | "environment" | null };
}

export interface Credential {
  id: string;
  provider: string;
  name: string | null;
  type: string;
  masked: string;
  weight: number;
  active: boolean;
  error: string | null;
  fail_count: number;
  usage_count: number;
  last_used_at: number | null;
  last_checked_at: number | null;
  disabled_until: number | null;
  created_at: number;
}

export interface CredentialCheck extends Credential {
  ok: boolean;
  reason: string | null;
}

export interface ModelStatus {
  model: string;
  available: boolean;
  reason: string | null;
  routes: { provider: string; model: string; available: boolean; reason: string | null; active_credentials: number }[];
}

export interface Probe {
  provider: string;
  model: string;
  available: boolean;
  reason: string | null;
  latency_ms: number;
}

export const RATE_FIELDS = ["input_rate", "output_rate", "cache_read_rate", "cache_write_rate", "image_rate"] as const;
export type RateField = (typeof RATE_FIELDS)[number];
export const COST_FIELDS = ["input_cost_usd", "output_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd",
                            "image_cost_usd"] as const;
export type CostField = (typeof COST_FIELDS)[number];

export type ModelType = "chat" | "embedding" | "image" | "video";

export type Rate = {
  id: number;
  provider: string;
  model: string;
  type: ModelType;
  deprecated: boolean;
  metadata: Record<string, unknown> | null;
  second_rate: number | null;
  updated_at: number;
} & Record<RateField, number | null> & Record<CostField, number | null>;

export interface BulkChange {
  provider: string;
  model: string;
  type: string;
  before: Record<string, number | null>;
  after: Record<string, number | null>;
}

export interface BulkResult {
  dry_run: boolean;
  count: number;
  data: BulkChange[];
}

export interface ApiKey {
  id: string;
  name: string | null;
  account_id: string | null;
  role: "admin" | "user";
  masked: string;
  rpm: number | null;
  tpm: number | null;
  daily_cap: number | null;
  monthly_cap: number | null;
  created_at: number;
  expires_at: number | null;
  revoked: boolean;
  revoked_at: number | null;
}

export interface NewKey extends ApiKey {
  key: string;
  credits: number | null;
}

export interface Account {
  id: string;
  name: string | null;
  balance: number;
  reserved: number;
  created_at: number;
}

export interface Balance {
  account_id: string;
  balance: number;
  granted: number;
  used: number;
  reserved: number;
  billing?: boolean;
}

export interface AccountDetail extends Balance {
  keys: ApiKey[];
}

export interface LedgerEntry {
  id: number;
  kind: string;
  amount: number;
  request_id: string | null;
  key_id: string | null;
  note: string | null;
  expires_at: number | null;
  created_at: number;
}

export interface Attempt {
  provider?: string;
  credential_id?: string;
  status?: string | number;
  error?: string;
  [name: string]: unknown;
}

export interface Call {
  id: number;
  request_id: string;
  created_at: number;
  account_id: string | null;
  key_id: string | null;
  type: string;
  provider: string | null;
  model: string | null;
  requested_model: string | null;
  surface?: string | null;
  app_id?: string | null; // the AIGNE client's x-aigne-hub-client-did
  credential_id?: string | null;
  stream: boolean;
  status: "success" | "failed";
  http_status: number | null;
  error_code: string | null;
  error: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  images: number;
  usage_estimated: boolean;
  credits: number;
  duration_ms: number | null;
  ttfb_ms: number | null;
  attempts?: Attempt[] | string | null;
}

export interface Model {
  id: string;
  owned_by: string;
  pricing?: { type: string; input_rate?: number; output_rate?: number; image_rate?: number };
}
