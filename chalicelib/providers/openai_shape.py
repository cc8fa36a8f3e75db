"""Pieces of OpenAI's response shapes that every translating adapter builds the same way."""
from __future__ import annotations

from typing import Any

from chalicelib.providers.base import Usage


def usage(u: Usage) -> dict[str, Any]:
    """OpenAI's usage object: prompt_tokens counts every input token (cache reads and writes
    included), cached_tokens the cache reads, reasoning_tokens the part of the output spent thinking."""
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": u.output_tokens,
                           "total_tokens": prompt + u.output_tokens,
                           "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens}}
    if u.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": u.reasoning_tokens}
    return out
