"""The rate of a (provider, model), cached briefly per process like the provider catalogue."""
from __future__ import annotations

import time

from chalicelib.billing.cost import Rate
from chalicelib.store import rates as rows
from chalicelib.store.shared import store

TTL_SECONDS = 5.0
_cache: tuple[float, dict[tuple[str, str], Rate]] | None = None


def _rate(row: dict) -> Rate:
    meta = row.get("metadata") or {}
    return Rate(row["provider"], row["model"], row["type"], row["input_rate"], row["output_rate"],
                row["cache_read_rate"], row["cache_write_rate"], row["image_rate"], row["second_rate"],
                meta.get("max_output_tokens"))


def all_rates() -> dict[tuple[str, str], Rate]:
    """Every active (not deprecated) rate."""
    global _cache
    now = time.monotonic()
    if _cache is None or _cache[0] < now:
        found = {(r["provider"], r["model"]): _rate(r) for r in rows.list_rates(store(), include_deprecated=False)}
        _cache = (now + TTL_SECONDS, found)
    return _cache[1]


def rate_for(provider: str, model: str) -> Rate | None:
    return all_rates().get((provider, model))


def invalidate() -> None:
    global _cache
    _cache = None
