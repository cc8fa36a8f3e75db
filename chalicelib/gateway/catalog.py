"""The providers the gateway knows now: the built-in table merged with the database's rows.

A row named like a built-in provider overrides its settings (base URL, enabled, timeouts...);
any other row adds a provider of the operator's own, served by the adapter its `kind` names.
Cached per process until any provider row changes anywhere (store.versions).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.providers import registry
from chalicelib.providers.base import ProviderSpec
from chalicelib.store import providers as rows
from chalicelib.store.shared import store
from chalicelib.store.versions import Versioned


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (value or {}).items())


def spec_from_row(row: dict[str, Any]) -> ProviderSpec:
    config = row.get("config") or {}
    overrides: dict[str, Any] = {
        "config": config,
        "enabled": bool(row["enabled"]),
        "display_name": row.get("display_name"),
        "connect_timeout": config.get("connect_timeout"),
        "read_timeout": config.get("read_timeout"),
    }
    if row.get("region"):
        overrides["region"] = row["region"]
    if row.get("base_url"):
        # The operator's URL wins over the environment's and the default.
        overrides.update(base_url=row["base_url"].rstrip("/"), base_url_env=None)
    if config.get("models"):
        overrides["models"] = tuple(config["models"])
    if config.get("model_map"):
        overrides["model_map"] = _pairs(config["model_map"])
    if row.get("sealed_headers"):
        # Kept sealed here; opened only to build an upstream request (providers.http). The
        # config beside it holds them masked.
        overrides["sealed_headers"] = row["sealed_headers"]
    if "responses_api" in config:  # an operator's OpenAI-compatible endpoint that serves /responses
        overrides["responses_api"] = bool(config["responses_api"])
    builtin = registry.BUILTIN.get(row["name"])
    if builtin is not None:
        return dataclasses.replace(builtin, **overrides)
    return ProviderSpec(name=row["name"], kind=row["kind"], base_url=overrides.pop("base_url", ""),
                        key_env=None, base_url_env=None, builtin=False,
                        **{k: v for k, v in overrides.items() if k != "base_url_env"})


def _load() -> dict[str, ProviderSpec]:
    kinds = registry.kinds()
    merged = {name: spec for name, spec in registry.BUILTIN.items() if spec.kind in kinds}
    for row in rows.list_providers(store()):
        if row["kind"] in kinds:
            merged[row["name"]] = spec_from_row(row)
    return merged


_cache = Versioned("providers", _load)


def providers(*, include_disabled: bool = False) -> dict[str, ProviderSpec]:
    specs = _cache.get()
    return specs if include_disabled else {n: s for n, s in specs.items() if s.enabled}
