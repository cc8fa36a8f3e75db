"""Bounds on what clients send, as pydantic types the wire models share.

Every string that gets stored has a length, every integer fits the INTEGER column (and the
arithmetic) it ends in, every amount of credit is representable in minor units: a value out
of bounds is a 400 naming its field, never a 500 from SQLite or a row of megabytes.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, field_validator

from chalicelib.billing.units import MAX_CREDITS, to_minor

MAX_NAME = 256  # model, provider, key and credential names; ids; anything named in a URL or a filter
MAX_NOTE = 1000
MAX_URL = 2048
MAX_SECRET = 64 * 1024  # an API key, or a cloud service-account JSON
MAX_LIST = 1000  # entries of a list or map in an admin body
MAX_TOKENS = 2**31 - 1  # max_tokens & co: far above any model's context, far below int64
MAX_DIMENSIONS = 65_536  # of an embedding: the largest models give a few thousand
MAX_RATE_LIMIT = 10**9  # requests or tokens a minute
MAX_RATE = 10**6  # credits per token, image or second
MAX_EPOCH_MS = 253_370_764_800_000  # 9999-01-01T00:00:00Z: later moments break calendar arithmetic
INT64 = 2**63 - 1


def _integral(value: Any) -> Any:
    """JSON Schema's integer, as OpenAI validates it: 2.0 is the integer 2, 2.5 is not an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict: "5" and true are not integers; lax pydantic would take both.
Integer = Annotated[StrictInt, BeforeValidator(_integral)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Timestamp = Annotated[Integer, Field(ge=0, le=MAX_EPOCH_MS)]  # epoch milliseconds


def _representable(credits: float) -> float:
    to_minor(credits)  # ValueError names what is wrong (below the minor unit)
    return credits


# An amount of credit (a grant, a cap): 0, or at least the minor unit, at most MAX_CREDITS.
Credits = Annotated[float, Field(ge=0, le=MAX_CREDITS, allow_inf_nan=False), AfterValidator(_representable)]
# A price in credits per unit.
RateValue = Annotated[float, Field(ge=0, le=MAX_RATE, allow_inf_nan=False), AfterValidator(_representable)]


def _present(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


def not_null(*names: str) -> Any:
    """A validator for fields of a PATCH body that may be left out but not set to null: their
    columns are NOT NULL (a null would reach SQLite as a constraint failure)."""
    return field_validator(*names)(_present)
