"""Pure pricing: what a call may cost at most (the reservation) and what it did cost.

All amounts are integers of minor units (chalicelib/billing/units.py); rates are minor units
per token, per image or per second. Cache reads and writes are priced at their own rates and
never also as plain input; reasoning tokens are output tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.providers.base import Usage

DEFAULT_MAX_OUTPUT = 4096
CHARS_PER_TOKEN_FLOOR = 3  # a conservative guess: real text runs about 4 characters a token
TOKENS_PER_MESSAGE = 8


@dataclass(frozen=True, slots=True)
class Rate:
    provider: str
    model: str
    type: str
    input_rate: int
    output_rate: int
    cache_read_rate: int | None = None
    cache_write_rate: int | None = None
    image_rate: int | None = None
    second_rate: int | None = None
    max_output_tokens: int | None = None


def charge(rate: Rate, usage: Usage) -> int:
    """The exact cost of a call from the provider's own usage."""
    cache_read = rate.input_rate if rate.cache_read_rate is None else rate.cache_read_rate
    cache_write = rate.input_rate if rate.cache_write_rate is None else rate.cache_write_rate
    total = (
        usage.input_tokens * rate.input_rate
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
        + usage.output_tokens * rate.output_rate
        + usage.images * (rate.image_rate or 0)
    )
    if usage.seconds and rate.second_rate:
        total += -(-int(usage.seconds * 1000) * rate.second_rate // 1000)  # per started millisecond, rounded up
    return total


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_chars(v.get("text") if isinstance(v, dict) else v) for v in value)
    return 0


def input_estimate(kind: str, body: dict[str, Any]) -> int:
    """An upper-leaning estimate of the input tokens of a request."""
    if kind == "chat":
        messages = body.get("messages") or []
        chars = sum(_text_chars(m.get("content")) for m in messages if isinstance(m, dict))
        chars += len(str(body.get("tools") or ""))
        return -(-chars // CHARS_PER_TOKEN_FLOOR) + TOKENS_PER_MESSAGE * len(messages)
    if kind == "embedding":
        value = body.get("input")
        if isinstance(value, list) and value and isinstance(value[0], int):
            return len(value)
        if isinstance(value, list) and value and isinstance(value[0], list):
            return sum(len(v) for v in value)
        return -(-_text_chars(value if isinstance(value, list) else [value]) // CHARS_PER_TOKEN_FLOOR) + 1
    return -(-len(str(body.get("prompt") or "")) // CHARS_PER_TOKEN_FLOOR)


def max_output(rate: Rate, body: dict[str, Any]) -> int:
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(asked, int) and asked > 0:
        return asked
    return rate.max_output_tokens or DEFAULT_MAX_OUTPUT


def reservation(rate: Rate, kind: str, body: dict[str, Any]) -> int:
    """The most the call can cost: the input estimate at the dearest input rate, plus the
    output limit (chat) at the output rate, plus every image asked for."""
    prompt = input_estimate(kind, body)
    dearest_input = max(rate.input_rate, rate.cache_read_rate or 0, rate.cache_write_rate or 0)
    total = prompt * dearest_input
    if kind == "chat":
        total += max_output(rate, body) * rate.output_rate * int(body.get("n") or 1)
    elif kind == "image":
        total += int(body.get("n") or 1) * (rate.image_rate or 0) + DEFAULT_MAX_OUTPUT * rate.output_rate
    return total
