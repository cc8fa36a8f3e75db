"""The shipped catalogue of provider unit costs and model metadata (from LiteLLM's MIT-licensed
price map; scripts/refresh_catalogue.py rebuilds it). Loaded on first use only."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("catalogue.json")


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return json.loads(PATH.read_text())


def source() -> str:
    return _data()["source"]


def entry(provider: str, model: str) -> dict[str, Any] | None:
    return _data()["models"].get(provider, {}).get(model)


def entries(provider: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    models = _data()["models"]
    names = [provider] if provider else sorted(models)
    return [(p, m, e) for p in names for m, e in sorted(models.get(p, {}).items())]
