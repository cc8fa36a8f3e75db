"""Admission: a key's rate limits and spend caps, the credit reservation, and the call's
in-flight row, in one transaction through the writer thread.

Every call is written as in flight before it runs (store/inflight.py), so that no call vanishes
with its process. A call with limits or credits to hold waits for that commit, since it may be
refused; the common self-hosted call (no limits, billing off) does not wait: its row is
queued and commits while the provider answers. No call starts while the database is known to
be unwritable (a 503: it could not be recorded).
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.billing import accounting, cost, rates
from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.resolve import Plan
from chalicelib.store import inflight
from chalicelib.store.calls import CallRecord
from chalicelib.store.shared import writer


@dataclass(slots=True)
class Admission:
    request_id: str
    key_id: str | None
    minute: str | None  # the key's rpm/tpm period, when it has limits
    hold: int = 0
    rates: dict[tuple[str, str], cost.Rate] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _periods(now: float) -> tuple[str, str, str, int, int]:
    """The key's minute, day and month periods, and seconds to the end of the minute and day."""
    t = time.gmtime(now)
    minute = int(now // 60)
    return (f"rpm:{minute}", time.strftime("day:%Y-%m-%d", t), time.strftime("month:%Y-%m", t),
            60 - int(now % 60), 86400 - int(now % 86400))


def _limit_headers(key: Any, requests: int, tokens: int, reset_s: int) -> dict[str, str]:
    out: dict[str, str] = {}
    if key.rpm:
        out.update({"x-ratelimit-limit-requests": str(key.rpm),
                    "x-ratelimit-remaining-requests": str(max(0, key.rpm - requests)),
                    "x-ratelimit-reset-requests": f"{reset_s}s"})
    if key.tpm:
        out.update({"x-ratelimit-limit-tokens": str(key.tpm),
                    "x-ratelimit-remaining-tokens": str(max(0, key.tpm - tokens)),
                    "x-ratelimit-reset-tokens": f"{reset_s}s"})
    return out


def _too_many(message: str, code: str, retry_after: int, headers: dict[str, str]) -> ApiError:
    return ApiError(429, message, code=code, type="rate_limit_error",
                    headers={**headers, "retry-after": str(max(1, retry_after))})


# Call kinds a provider does not bill (OpenAI's moderations): with billing on, a model of one
# of these without a rate is served free rather than refused.
FREE_UNLESS_PRICED = frozenset({"moderation"})


def priced(plan: Plan, *, required: bool = True) -> tuple[Plan, dict[tuple[str, str], cost.Rate]]:
    """With billing on, only routes that have a rate may serve the call; where no rate is
    `required` (a kind that is free unless priced), every route may, and an unpriced one is free."""
    found = {(spec.name, model): r for spec, model in plan.routes if (r := rates.rate_for(spec.name, model))}
    if not found and not required:
        return plan, found
    if not found:
        raise ApiError(400, f"The model '{plan.model}' has no rate, so it cannot be sold; an admin must set one "
                            "(POST /admin/model-rates).", code="model_not_priced", param="model")
    routes = tuple(route for route in plan.routes if (route[0].name, route[1]) in found)
    return Plan(plan.model, routes, plan.pinned), found


async def admit(record: CallRecord, who: Principal, plan: Plan, body: dict[str, Any],
                hold_kind: str | None = None) -> tuple[Plan, Admission | None]:
    """`hold_kind` names how the hold is bounded when it differs from the call's type (an
    "audio" call is a "transcription" or a "speech")."""
    queue = writer()
    if (unwritable := queue.unwritable) is not None:
        raise unwritable
    request_id, kind = record.request_id, hold_kind or record.type
    key = who.key
    limited = key is not None and any((key.rpm, key.tpm, key.daily_cap, key.monthly_cap))
    billed = settings().billing and who.account_id is not None
    if not limited and not billed:
        queue.submit(lambda conn: inflight.begin(conn, record))
        return plan, None
    found: dict[tuple[str, str], cost.Rate] = {}
    hold = 0
    if billed:
        plan, found = priced(plan, required=kind not in FREE_UNLESS_PRICED)
        hold = max((cost.reservation(r, kind, body) for r in found.values()), default=0)
    now = time.time()
    minute, day, month, minute_left, day_left = _periods(now)
    admission = Admission(request_id, who.key_id, minute if limited else None, hold, found)

    def tx(conn: sqlite3.Connection) -> None:
        inflight.begin(conn, record)
        cap_periods: list[str] = []
        if limited:
            assert key is not None
            conn.execute("INSERT INTO key_usage (key_id, period) VALUES (?, ?) ON CONFLICT DO NOTHING", (key.id, minute))
            if key.rpm and conn.execute(
                    "UPDATE key_usage SET requests = requests + 1 WHERE key_id = ? AND period = ? AND requests < ?",
                    (key.id, minute, key.rpm)).rowcount == 0:
                headers = _limit_headers(key, key.rpm, 0, minute_left)
                raise _too_many(f"Rate limit: this key may make {key.rpm} requests a minute.", "rate_limit_requests",
                                minute_left, headers)
            if not key.rpm:
                conn.execute("UPDATE key_usage SET requests = requests + 1 WHERE key_id = ? AND period = ?",
                             (key.id, minute))
            requests, tokens = conn.execute("SELECT requests, tokens FROM key_usage WHERE key_id = ? AND period = ?",
                                            (key.id, minute)).fetchone()
            admission.headers = _limit_headers(key, requests, tokens, minute_left)
            if key.tpm and tokens >= key.tpm:
                raise _too_many(f"Rate limit: this key may use {key.tpm} tokens a minute.", "rate_limit_tokens",
                                minute_left, admission.headers)
            for period, cap, left in ((day, key.daily_cap, day_left), (month, key.monthly_cap, day_left)):
                if not cap:
                    continue
                conn.execute("INSERT INTO key_usage (key_id, period) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             (key.id, period))
                if conn.execute("UPDATE key_usage SET reserved = reserved + ? WHERE key_id = ? AND period = ?"
                                " AND spent + reserved + ? <= ?", (hold, key.id, period, hold, cap)).rowcount == 0:
                    what = "daily" if period == day else "monthly"
                    raise _too_many(f"This key has reached its {what} spend cap of {from_minor(cap)} credits.",
                                    "spend_cap_exceeded", left, admission.headers)
                cap_periods.append(period)
        if hold and who.account_id and not accounting.reserve(conn, request_id, who.account_id, who.key_id, hold,
                                                             ",".join(cap_periods)):
            available = conn.execute("SELECT balance FROM accounts WHERE id = ?", (who.account_id,)).fetchone()
            topup = settings().env.get("AIHUB_TOPUP_URL")
            raise ApiError(402, f"Insufficient credits: this call may cost up to {from_minor(hold)} credits and the "
                                f"account has {from_minor(available[0] if available else 0)} available."
                                + (f" Top up at {topup}" if topup else ""),
                           code="insufficient_credits", type="insufficient_quota")

    await queue.run(tx)
    return plan, admission
