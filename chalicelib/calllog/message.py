"""A call's settlement as data: what the call log carries from the gateway to its writer.

`begin` says a call is in flight (its record so far and a deadline); `settle` is everything the
call changes once done: its record, the hold to settle, the tokens for the key's tpm counter,
and its cost. The writer (apply.py) needs nothing else, so the message can cross a queue, and
be applied late, twice, or before its `begin`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

from chalicelib.hotstate.base import Hold
from chalicelib.store.calls import CallRecord

VERSION = 1
KINDS = ("begin", "settle")
_RECORD_FIELDS = frozenset(f.name for f in fields(CallRecord))


class BadMessage(ValueError):
    """A message the writer cannot read: it fails alone (and, repeated, goes to the DLQ)."""


@dataclass(slots=True)
class Message:
    kind: str  # begin | settle
    record: CallRecord
    hold: Hold | None = None  # what admission held, as the hot state gave it
    tokens: int = 0  # for the tpm counter: input, cache and output tokens
    cost: int | None = None  # minor units the usage costs; None: nothing to charge
    # The hot state (DynamoDB) took the charge already: the writer only books it in the ledger.
    charged_externally: bool = False
    deadline: int | None = None  # begin: epoch ms past which the call is taken for dead
    v: int = VERSION

    @property
    def request_id(self) -> str:
        return self.record.request_id

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def begin_message(record: CallRecord, deadline: int) -> Message:
    return Message("begin", record, deadline=deadline)


def from_json(raw: str | bytes) -> Message:
    """Parse a message; BadMessage for anything that is not one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadMessage("not an object")
    return from_dict(data)


def from_dict(data: dict[str, Any]) -> Message:
    if data.get("v") != VERSION:
        raise BadMessage(f"unknown version {data.get('v')!r}")
    if data.get("kind") not in KINDS:
        raise BadMessage(f"unknown kind {data.get('kind')!r}")
    record, hold = data.get("record"), data.get("hold")
    if not isinstance(record, dict) or not set(record) <= _RECORD_FIELDS:
        raise BadMessage("record is not a call record")
    if hold is not None and not isinstance(hold, dict):
        raise BadMessage("hold is not an object")
    try:
        parsed = Message(data["kind"], CallRecord(**record), _hold(hold) if hold else None,
                         **{k: data[k] for k in ("tokens", "cost", "charged_externally", "deadline") if k in data})
    except TypeError as exc:
        raise BadMessage(str(exc)) from None
    if not isinstance(parsed.record.request_id, str) or not parsed.record.request_id:
        raise BadMessage("record has no request_id")
    if parsed.kind == "begin" and not isinstance(parsed.deadline, int):
        raise BadMessage("begin has no deadline")
    if parsed.cost is not None and (not isinstance(parsed.cost, int) or parsed.cost < 0):
        raise BadMessage("cost is not a non-negative integer")
    if not isinstance(parsed.tokens, int):
        raise BadMessage("tokens is not an integer")
    return parsed


def _hold(data: dict[str, Any]) -> Hold:
    return Hold(**{**data, "periods": tuple(data.get("periods") or ())})
