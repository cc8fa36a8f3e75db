"""The rate of a (provider, model), cached per process until any rate changes anywhere
(store.versions)."""
from __future__ import annotations

from chalicelib.billing.cost import Rate
from chalicelib.store import rates as rows
from chalicelib.store.shared import store
from chalicelib.store.versions import Versioned


def _rate(row: dict) -> Rate:
    meta = row.get("metadata") or {}
    return Rate(row["provider"], row["model"], row["type"], row["input_rate"], row["output_rate"],
                row["cache_read_rate"], row["cache_write_rate"], row["image_rate"], row["second_rate"],
                meta.get("max_output_tokens"))


def _load() -> dict[tuple[str, str], Rate]:
    return {(r["provider"], r["model"]): _rate(r) for r in rows.list_rates(store(), include_deprecated=False)}


_cache = Versioned("model_rates", _load)


def all_rates() -> dict[tuple[str, str], Rate]:
    """Every active (not deprecated) rate."""
    return _cache.get()


def rate_for(provider: str, model: str) -> Rate | None:
    return all_rates().get((provider, model))
