"""The synchronous state of a call: rate counters, spend caps and the credit hold.

Two implementations serve one interface: SQLite (sqlite.py, bound to the caller's transaction,
today's behaviour and the default) and DynamoDB (dynamodb.py, conditional writes that keep
their single-digit milliseconds at any concurrency). Both refuse with the same errors, built
here, so a client cannot tell which one admitted it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.store.keys import KeyRecord

# How long a hold may stay unsettled before the sweeper takes its call for lost: past any
# call a process can still be serving (Lambda's 15 minutes, a video's 900 s deadline).
HOLD_DEADLINE_S = 30 * 60


@dataclass(frozen=True, slots=True)
class Periods:
    """The key's minute, day and month periods, and seconds to the end of the minute and day."""

    minute: str
    day: str
    month: str
    minute_left: int
    day_left: int

    @classmethod
    def at(cls, now: float) -> Periods:
        t = time.gmtime(now)
        return cls(f"rpm:{int(now // 60)}", time.strftime("day:%Y-%m-%d", t), time.strftime("month:%Y-%m", t),
                   60 - int(now % 60), 86400 - int(now % 86400))


@dataclass(frozen=True, slots=True)
class Ask:
    """What a call asks to be admitted with: its key's limits (None: none to check) and the
    most it may cost (0: no credit hold)."""

    request_id: str
    account_id: str | None
    key_id: str | None
    key: KeyRecord | None
    amount: int
    now: float

    @property
    def periods(self) -> Periods:
        return Periods.at(self.now)

    def caps(self) -> list[tuple[str, int, str]]:
        """The key's spend caps as (period, cap, "daily"|"monthly"), the ones it has."""
        if self.key is None:
            return []
        p = self.periods
        return [(period, cap, what) for period, cap, what in
                ((p.day, self.key.daily_cap, "daily"), (p.month, self.key.monthly_cap, "monthly")) if cap]


@dataclass(slots=True)
class Hold:
    """An admitted call's share of the state: what settle or release gives back."""

    request_id: str
    account_id: str | None
    key_id: str | None
    amount: int  # credit held, minor units
    minute: str | None  # the key's rpm/tpm period, when it has limits
    periods: tuple[str, ...] = ()  # cap periods that hold `amount` too
    deadline: int = 0  # epoch seconds; past it the sweeper releases the hold
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-* of the answer


class HotState(Protocol):
    def admit(self, ask: Ask) -> Hold: ...

    def settle(self, hold: Hold, cost: int | None, tokens: int) -> int: ...

    def release(self, hold: Hold) -> None: ...

    def credit(self, account_id: str, amount: int, ref: int) -> bool: ...

    def balance(self, account_id: str) -> tuple[int, int] | None: ...

    def expired(self, now: float) -> list[Hold]: ...


# -- the refusals both implementations raise ---------------------------------------------------

def limit_headers(key: KeyRecord, requests: int, tokens: int, reset_s: int) -> dict[str, str]:
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


def too_many_requests(key: KeyRecord, periods: Periods) -> ApiError:
    return _too_many(f"Rate limit: this key may make {key.rpm} requests a minute.", "rate_limit_requests",
                     periods.minute_left, limit_headers(key, key.rpm or 0, 0, periods.minute_left))


def too_many_tokens(key: KeyRecord, periods: Periods, headers: dict[str, str]) -> ApiError:
    return _too_many(f"Rate limit: this key may use {key.tpm} tokens a minute.", "rate_limit_tokens",
                     periods.minute_left, headers)


def cap_reached(what: str, cap: int, periods: Periods, headers: dict[str, str]) -> ApiError:
    return _too_many(f"This key has reached its {what} spend cap of {from_minor(cap)} credits.",
                     "spend_cap_exceeded", periods.day_left, headers)


def insufficient(amount: int, available: int) -> ApiError:
    topup_url = settings().env.get("AIHUB_TOPUP_URL")
    return ApiError(402, f"Insufficient credits: this call may cost up to {from_minor(amount)} credits and the "
                         f"account has {from_minor(available)} available."
                         + (f" Top up at {topup_url}" if topup_url else ""),
                    code="insufficient_credits", type="insufficient_quota")


def unavailable(detail: str) -> ApiError:
    """The hot state could not answer (throttled, down): the call is refused, never run unheld."""
    return ApiError(503, f"Credit and rate-limit state is unavailable ({detail}); retry shortly.",
                    code="hot_state_unavailable", type="api_error", headers={"retry-after": "1"})
