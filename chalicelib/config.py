"""Settings read from the environment, once per process.

Every knob of the interface contract (AIHUB_*) is read here and nowhere else, so a test can
build a `Settings` of its own and the rest of the code never touches `os.environ`.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

EFS_MOUNT = "/mnt/"
# A bearer token that grants everything must not be guessable: as long as AIHUB_SECRET.
MIN_ADMIN_KEY = 32

log = logging.getLogger("aihub")
MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    db_path: str = "./data/aihub.db"
    admin_key: str | None = None
    admin_key_error: str | None = None  # why AIHUB_ADMIN_KEY was refused (admin_key is then None)
    secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    billing: bool = False
    # WAL is fast but unsafe over NFS (EFS); rollback journal there, WAL on a local disk.
    journal_mode: str = "wal"
    # A busy wait is bounded well below Lambda's and API Gateway's timeouts: one wait for a
    # lock, and the whole budget of a write's retries (then a 503 for that call only).
    busy_timeout_ms: int = 2_000
    write_budget_ms: int = 10_000
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 300.0
    # The shared upstream connection pool: a call that finds it full fails fast (503) after
    # pool_timeout_s instead of queueing behind everyone else's calls.
    pool_timeout_s: float = 5.0
    pool_max_connections: int = 1000
    # Upstream HTTP under httpx's API: "aiohttp" (half the CPU per call under load) or
    # "httpx" (its own pool); None picks aiohttp in `aihub serve`, httpx in a Lambda (cold start).
    http_transport: str | None = None
    # How long a Responses-API answer is kept for previous_response_id and GET; 0 keeps none.
    responses_ttl_days: float = 30
    # The largest request body: the OpenAI routes carry conversations and images, the admin
    # routes small documents.
    max_body: int = 32 * MiB
    max_admin_body: int = 1 * MiB
    # Browser origins allowed to call the API (CORS); "*" only when set so. The web UI is
    # served by the gateway itself (same origin), so it needs none.
    cors_origins: tuple[str, ...] = ()
    # The largest audio file /v1/audio/transcriptions and /translations take: OpenAI's 25 MB.
    audio_max_bytes: int = 25 * 1024 * 1024
    # Files aihub hosts (generated videos): an S3 bucket on AWS, else a folder beside the database.
    blob_bucket: str | None = None
    blob_dir: str | None = None  # None: <db dir>/blobs
    file_url_ttl_s: int = 3_600  # how long a signed download URL stays valid
    blob_ttl_days: float = 7  # how long hosted files (and video jobs) are kept; match the bucket's rule
    public_url: str | None = None  # the base of URLs handed to clients (else the request's Host)
    # Video generation: the first wait between polls (it doubles up to 15 s) and the deadline.
    video_poll_s: float = 2.0
    video_timeout_s: float = 900.0
    # How long an `aigne hub connect` session waits for its approval and its CLI
    connect_session_ttl_s: int = 900
    # Where call settlements go (chalicelib/calllog): "local", the writer thread of this process,
    # or "sqs", the queue AIHUB_SETTLEMENTS_QUEUE_URL drained by the writer function.
    settlements: str = "local"
    settlements_queue_url: str | None = None
    # How long a queued call can be in flight: no Lambda invocation outlives 900 s; the margin
    # covers a batch redelivered after its visibility timeout. The DynamoDB hold lasts as long.
    call_deadline_s: float = 1800.0
    # How often a process reads the change counters of keys, providers, credentials and rates
    # (one SELECT): another process's change is seen within this; its own at once.
    snapshot_refresh_s: float = 1.0
    sql_trace: str | None = None  # a file that gets every SQLite statement (store/trace.py)
    # Where rate counters, spend caps and credit holds live: "sqlite" (the database file, in
    # the admission transaction) or "dynamodb" (AIHUB_DYNAMODB_TABLE; chalicelib/hotstate).
    hot_state: str = "sqlite"
    dynamodb_table: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def provider_env(self, name: str) -> str | None:
        value = self.env.get(name)
        return value or None


def _journal_mode(db_path: str, configured: str | None) -> str:
    if configured:
        return configured.lower()
    return "delete" if db_path.startswith(EFS_MOUNT) else "wal"


def secret_file(db_path: str) -> Path:
    """Where `aihub serve` keeps a generated master secret when AIHUB_SECRET is not set."""
    return Path(db_path).parent / "aihub.secret"


def _local_secret(db_path: str) -> str | None:
    path = secret_file(db_path)
    return path.read_text().strip() or None if path.is_file() else None


def secrets_manager(secret_id: str | None, env: dict[str, str], stage: str = "AWSCURRENT") -> str | None:
    """The value of a Secrets Manager secret, on AWS: AIHUB_SECRET_ID and AIHUB_ADMIN_KEY_ID name
    one (by name or ARN) where AIHUB_SECRET and AIHUB_ADMIN_KEY are not set.

    Read once per process, at the first settings() call (a Lambda's cold start). boto3 is imported
    here only: without those variables nothing loads it. `stage` AWSPREVIOUS is the value before
    the last rotation (None when there is none yet).
    """
    if not secret_id:
        return None
    import boto3

    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    client = boto3.session.Session().client("secretsmanager", region_name=region)
    try:
        value = client.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        if stage == "AWSCURRENT":
            raise
        return None
    return value.strip() or None


def _admin_key(env: dict[str, str]) -> tuple[str | None, str | None]:
    """The admin token and None, or None and why it was refused.

    A short token is never accepted, not even with a warning: `aihub serve` refuses to start
    with it, and a Lambda (which has no start to refuse) logs the error and serves without it.
    """
    key = env.get("AIHUB_ADMIN_KEY") or secrets_manager(env.get("AIHUB_ADMIN_KEY_ID"), env)
    if key and len(key) < MIN_ADMIN_KEY:
        return None, (f"AIHUB_ADMIN_KEY is {len(key)} characters long; it must have {MIN_ADMIN_KEY} or more "
                      "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
    return key, None


def _on(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("on", "true", "1", "yes")


def default_db_path(env: dict[str, str]) -> str:
    """Without AIHUB_DB: data/aihub.db of the source checkout (where `make serve` runs), whatever
    the current folder, so the CLI run from anywhere finds the server's database; installed
    elsewhere (no checkout around the package), the user's data folder."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "app.py").is_file():
        return str(root / "data" / "aihub.db")
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return str(base / "aihub" / "aihub.db")


def from_env(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    db_path = env.get("AIHUB_DB") or default_db_path(env)
    admin_key, admin_key_error = _admin_key(env)
    return Settings(
        db_path=db_path,
        admin_key=admin_key,
        admin_key_error=admin_key_error,
        secret=env.get("AIHUB_SECRET") or secrets_manager(env.get("AIHUB_SECRET_ID"), env) or _local_secret(db_path),
        host=env.get("AIHUB_HOST") or "127.0.0.1",
        port=int(env.get("AIHUB_PORT") or 8000),
        billing=_on(env.get("AIHUB_BILLING"), False),
        journal_mode=_journal_mode(db_path, env.get("AIHUB_DB_JOURNAL")),
        busy_timeout_ms=int(env.get("AIHUB_DB_BUSY_TIMEOUT_MS") or 2_000),
        write_budget_ms=int(env.get("AIHUB_DB_WRITE_BUDGET_MS") or 10_000),
        connect_timeout_s=float(env.get("AIHUB_CONNECT_TIMEOUT") or 10.0),
        read_timeout_s=float(env.get("AIHUB_READ_TIMEOUT") or 300.0),
        pool_timeout_s=float(env.get("AIHUB_POOL_TIMEOUT") or 5.0),
        pool_max_connections=int(env.get("AIHUB_POOL_MAX_CONNECTIONS") or 1000),
        http_transport=_http_transport(env.get("AIHUB_HTTP_TRANSPORT")),
        responses_ttl_days=float(env.get("AIHUB_RESPONSES_TTL_DAYS") or 30),
        max_body=int(env.get("AIHUB_MAX_BODY") or 32 * MiB),
        max_admin_body=int(env.get("AIHUB_MAX_ADMIN_BODY") or MiB),
        cors_origins=tuple(o.strip().rstrip("/") for o in (env.get("AIHUB_CORS_ORIGINS") or "").split(",") if o.strip()),
        audio_max_bytes=int(env.get("AIHUB_AUDIO_MAX_BYTES") or 25 * 1024 * 1024),
        blob_bucket=env.get("AIHUB_BLOB_BUCKET") or None,
        blob_dir=env.get("AIHUB_BLOB_DIR") or None,
        file_url_ttl_s=int(env.get("AIHUB_FILE_URL_TTL") or 3_600),
        connect_session_ttl_s=int(env.get("AIHUB_CONNECT_SESSION_TTL") or 900),
        blob_ttl_days=float(env.get("AIHUB_BLOB_TTL_DAYS") or 7),
        public_url=(env.get("AIHUB_PUBLIC_URL") or "").rstrip("/") or None,
        video_poll_s=float(env.get("AIHUB_VIDEO_POLL_S") or 2.0),
        video_timeout_s=float(env.get("AIHUB_VIDEO_TIMEOUT") or 900.0),
        settlements=_settlements(env),
        settlements_queue_url=env.get("AIHUB_SETTLEMENTS_QUEUE_URL") or None,
        call_deadline_s=float(env.get("AIHUB_CALL_DEADLINE_S") or 1800.0),
        snapshot_refresh_s=float(env.get("AIHUB_SNAPSHOT_REFRESH_S") or 1.0),
        sql_trace=env.get("AIHUB_SQL_TRACE") or None,
        hot_state=_hot_state(env.get("AIHUB_HOT_STATE"), env.get("AIHUB_DYNAMODB_TABLE")),
        dynamodb_table=env.get("AIHUB_DYNAMODB_TABLE") or None,
        env=env,
    )


SETTLEMENT_MODES = ("local", "sqs")


def _settlements(env: dict[str, str]) -> str:
    """AIHUB_SETTLEMENTS: `local` or `sqs`. Without a queue URL, `sqs` cannot work and would
    lose nothing by being local: the records stay in this process's database, and the error
    says why."""
    mode = (env.get("AIHUB_SETTLEMENTS") or "").strip().lower()
    if mode == "sqs" and not env.get("AIHUB_SETTLEMENTS_QUEUE_URL"):
        log.error("AIHUB_SETTLEMENTS=sqs needs AIHUB_SETTLEMENTS_QUEUE_URL; calls are recorded locally.")
        return "local"
    return mode if mode in SETTLEMENT_MODES else "local"
def _hot_state(value: str | None, table: str | None) -> str:
    choice = (value or "sqlite").strip().lower()
    if choice not in ("sqlite", "dynamodb"):
        raise ValueError(f"AIHUB_HOT_STATE is {value!r}; it is sqlite (the default) or dynamodb")
    if choice == "dynamodb" and not table:
        raise ValueError("AIHUB_HOT_STATE=dynamodb needs AIHUB_DYNAMODB_TABLE, the table's name")
    return choice


def _http_transport(value: str | None) -> str | None:
    choice = (value or "").strip().lower()
    return choice if choice in ("aiohttp", "httpx") else None


@dataclass(frozen=True)
class Observability:
    """The knobs of chalicelib/observability, apart from Settings: logging is set up when app.py
    is imported, which must not fetch secrets (Settings may ask Secrets Manager)."""

    log_level: str = "INFO"
    call_log: bool = True  # the JSON line per call
    access_log: bool = False  # the JSON line per request
    metrics: bool = True  # GET /metrics under `aihub serve`
    metrics_public: bool = False  # without the admin key
    # On Lambda (both functions) the figures are CloudWatch EMF in the log, not /metrics.
    on_lambda: bool = False
    metrics_namespace: str = "aihub"  # CloudWatch's; infra/ gives each stage its own
    otlp: bool = False  # OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set: spans are exported


@lru_cache(maxsize=1)
def observability() -> Observability:
    env = os.environ
    return Observability(
        log_level=(env.get("AIHUB_LOG_LEVEL") or "info").strip().upper(),
        call_log=_on(env.get("AIHUB_CALL_LOG"), True),
        access_log=_on(env.get("AIHUB_ACCESS_LOG"), False),
        metrics=_on(env.get("AIHUB_METRICS"), True),
        metrics_public=_on(env.get("AIHUB_METRICS_PUBLIC"), False),
        on_lambda=bool(env.get("AWS_LAMBDA_FUNCTION_NAME")),
        metrics_namespace=env.get("AIHUB_METRICS_NAMESPACE") or "aihub",
        otlp=bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    cfg = from_env()
    if cfg.admin_key_error:
        log.error("%s It is ignored: no request is accepted with it.", cfg.admin_key_error)
    return cfg


@lru_cache(maxsize=1)
def previous_secret() -> str | None:
    """The master secret before the last rotation: AIHUB_SECRET_PREVIOUS, or the AWSPREVIOUS
    version of AIHUB_SECRET_ID. Fetched only when a credential does not decrypt with the current
    secret, so a process that never meets an old ciphertext never asks."""
    env = settings().env
    return env.get("AIHUB_SECRET_PREVIOUS") or secrets_manager(env.get("AIHUB_SECRET_ID"), env, "AWSPREVIOUS")
