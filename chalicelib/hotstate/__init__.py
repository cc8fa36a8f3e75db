"""The synchronous state of a call (rate counters, spend caps, credit holds): base.py is the
interface, sqlite.py the default, dynamodb.py the one for many writers (AIHUB_HOT_STATE).

The functions here are for callers on the event loop: DynamoDB is called off it, in a thread.
With SQLite they do nothing, since its state changes inside the caller's SQLite transaction.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.hotstate.base import Ask, Hold

if TYPE_CHECKING:
    from chalicelib.hotstate.dynamodb import DynamoHotState

log = logging.getLogger("aihub.hotstate")


def external() -> DynamoHotState | None:
    """The DynamoDB hot state when it is configured, else None."""
    if settings().hot_state != "dynamodb":
        return None
    from chalicelib.hotstate.dynamodb import hot_state

    return hot_state()


async def admit(ask: Ask) -> Hold:
    state = external()
    assert state is not None, "SQLite admits inside the admission transaction"
    return await asyncio.to_thread(state.admit, ask)


async def settle(hold: Hold, cost: int | None, tokens: int) -> int:
    """Settle a DynamoDB hold: the charge taken there (the ledger then books it as charged
    externally); 0 with nothing changed when the hold was settled or swept already."""
    state = external()
    return 0 if state is None else await asyncio.to_thread(state.settle, hold, cost, tokens)


def spendable(account_ids: list[str]) -> dict[str, int] | None:
    """What each account can spend now, where its holds live in DynamoDB (None: in SQLite, whose
    balance says it); accounts DynamoDB has not seen are left out."""
    state = external()
    if state is None:
        return None
    return {account_id: balance for account_id, (balance, _) in state.balances(account_ids).items()}


def mirror_ledger(where: str, params: tuple[object, ...]) -> int:
    """Mirror the ledger rows matching `where` (credits, grants, expiries: anything but charges,
    which the hot state took itself) into the DynamoDB hot state, each once by its row id; call
    it after the ledger write committed, off the event loop. Returns how many were applied."""
    state = external()
    if state is None:
        return 0
    from chalicelib.store.shared import store

    try:
        return state.mirror(store(), where, params)
    except ApiError as exc:
        # The ledger has it: the reconcile job mirrors it on its next run.
        log.warning("hot state: credits not mirrored yet (%s)", exc.message)
        return 0
