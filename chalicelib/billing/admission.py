"""Admission: a key's rate limits and spend caps, the credit reservation, and the call's
in-flight row, in one transaction through the writer thread; or, with AIHUB_HOT_STATE=dynamodb,
limits, caps and hold in DynamoDB (chalicelib/hotstate) and the in-flight row queued.

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

from chalicelib import calllog, hotstate
from chalicelib.billing import cost, rates
from chalicelib.billing.cost import charge
from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.resolve import Plan
from chalicelib.hotstate.base import Ask, Hold
from chalicelib.hotstate.sqlite import SqliteHotState
from chalicelib.providers.base import Usage
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
    # The hold in the DynamoDB hot state (AIHUB_HOT_STATE=dynamodb), settled there by
    # hotstate.settle; None when SQLite holds it (settled in the call's own transaction).
    external: Hold | None = None
    charged: int = 0  # what the DynamoDB hot state took at settlement

    def cost(self, provider: str | None, model: str | None, usage: Usage | None) -> int | None:
        """What the call costs at the rate of the route that served it; None: nothing to charge."""
        rate = self.rates.get((provider or "", model or ""))
        return charge(rate, usage) if self.hold and usage is not None and rate is not None else None


def tokens(usage: Usage) -> int:
    """The tokens a call counts against its key's tpm."""
    return usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens + usage.output_tokens


async def settle_external(adm: Admission, provider: str | None, model: str | None, usage: Usage | None) -> int:
    """Settle a hold of the DynamoDB hot state: the charge it took, for the ledger to book."""
    assert adm.external is not None
    adm.charged = await hotstate.settle(adm.external, adm.cost(provider, model, usage),
                                        tokens(usage) if usage is not None else 0)
    return adm.charged


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
    queued = calllog.queued()  # its begin goes to the queue instead (pipeline._admit)
    if not limited and not billed:
        if not queued:
            queue.submit(lambda conn: inflight.begin(conn, record))
        return plan, None
    found: dict[tuple[str, str], cost.Rate] = {}
    hold = 0
    if billed:
        plan, found = priced(plan, required=kind not in FREE_UNLESS_PRICED)
        hold = max((cost.reservation(r, kind, body) for r in found.values()), default=0)
    ask = Ask(request_id, who.account_id, who.key_id, key if limited else None, hold, time.time())
    if hotstate.external() is not None:
        if not queued:
            queue.submit(lambda conn: inflight.begin(conn, record))
        held = await hotstate.admit(ask)
        return plan, Admission(request_id, who.key_id, held.minute, hold, found, held.headers, held)

    # Queued, the settle comes from the writer function, not this process: the row is in flight
    # until a deadline rather than while this process renews its lease (a frozen Lambda cannot).
    deadline = calllog.deadline(record) if queued else None

    def tx(conn: sqlite3.Connection) -> Hold:
        inflight.begin(conn, record, deadline=deadline)
        return SqliteHotState(conn).admit(ask)

    held = await queue.run(tx)
    return plan, Admission(request_id, who.key_id, held.minute, hold, found, held.headers)
