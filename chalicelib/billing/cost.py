"""Pure pricing: what a call may cost at most (the reservation) and what it did cost.

All amounts are integers of minor units (chalicelib/billing/units.py); rates are minor units
per token, per image or per second. Cache reads and writes are priced at their own rates and
never also as plain input; reasoning tokens are output tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.billing import estimate
from chalicelib.providers.base import Usage


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


def reservation(rate: Rate, kind: str, body: dict[str, Any]) -> int:
    """The most the call can cost (chalicelib/billing/estimate.py says why each figure is a
    ceiling): every input token at the dearest input rate, plus the output ceiling (chat) at
    the output rate, plus every image asked for at its price and its output tokens, plus every
    second of video asked for (or the longest a provider makes) at the second rate; audio as
    `audio_reservation` says."""
    dearest_input = max(rate.input_rate, rate.cache_read_rate or 0, rate.cache_write_rate or 0)
    if kind in ("transcription", "speech"):
        return min(audio_reservation(rate, kind, body, dearest_input), estimate.CLAMP)
    total = estimate.input_tokens(kind, body) * dearest_input
    if kind == "chat":
        total += estimate.chat_output_tokens(rate.max_output_tokens, body) * rate.output_rate
    elif kind == "image":
        images = estimate.count(body.get("n")) or 1
        total += images * ((rate.image_rate or 0) + estimate.image_output_tokens(body) * rate.output_rate)
    elif kind == "video":
        videos = estimate.count(body.get("n")) or 1
        total += videos * estimate.video_seconds(body.get("seconds")) * (rate.second_rate or 0)
    return min(total, estimate.CLAMP)


def audio_reservation(rate: Rate, kind: str, body: dict[str, Any], dearest_input: int) -> int:
    """Speech is charged per character of `input` at the input rate, so its hold is exact.
    A transcription's `body` carries the upload itself as `file` (bytes): its longest possible
    duration at the per-second rate, plus, for models billed in tokens, that many seconds of
    audio tokens and the prompt as input and the output ceiling as output."""
    if kind == "speech":
        text = body.get("input")
        return (len(text) if isinstance(text, str) else 0) * rate.input_rate
    file = body.get("file")
    seconds = estimate.audio_seconds(file) if isinstance(file, bytes) else 0
    prompt = body.get("prompt")
    prompt_tokens = len(prompt.encode("utf-8", "surrogatepass")) if isinstance(prompt, str) else 0
    input_tokens = seconds * estimate.AUDIO_TOKENS_PER_SECOND + prompt_tokens + estimate.TOKENS_PER_REQUEST
    return (seconds * (rate.second_rate or 0) + input_tokens * dearest_input
            + estimate.chat_output_tokens(rate.max_output_tokens, {}) * rate.output_rate)
