"""The models a provider offers, and what aihub knows of each, for /v1/models.

A built-in provider offers the shipped catalogue's models under its name plus its own listed
ones (the registry's, or the operator's `config.models`); a provider of the operator's own,
and the closed demo provider, only their listed ones. Built per provider and cached on what it
depends on (the catalogue file and the provider's listed models), so a listing costs a few
dictionary lookups once warm.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.billing import catalogue
from chalicelib.providers.base import ProviderSpec

CREATED = 1_735_689_600  # a fixed date: the catalogue has no real creation times

# Catalogue feature names -> the capability names aihub reports.
CAPABILITIES = (
    ("vision", "vision"), ("tools", "function_calling"), ("tool_choice", "tool_choice"),
    ("parallel_tool_calls", "parallel_function_calling"), ("structured_output", "response_schema"),
    ("reasoning", "reasoning"), ("prompt_caching", "prompt_caching"), ("pdf_input", "pdf_input"),
    ("audio_input", "audio_input"), ("audio_output", "audio_output"), ("video_input", "video_input"),
    ("web_search", "web_search"),
)


def offered(spec: ProviderSpec) -> tuple[str, ...]:
    return _offered(spec.name, spec.models, spec.builtin and not spec.closed_models)


@lru_cache(maxsize=256)
def _offered(name: str, listed: tuple[str, ...], with_catalogue: bool) -> tuple[str, ...]:
    # Catalogue ids holding "/" are price variants (a Bedrock region, a commitment term, an
    # image size), not ids a call can name.
    known = [m for _, m, _ in catalogue.entries(name) if "/" not in m] if with_catalogue else []
    return tuple(dict.fromkeys([*listed, *known]))


@lru_cache(maxsize=4096)
def metadata(provider: str, model: str) -> dict[str, Any]:
    """The catalogue's facts about a model: type, limits and capabilities; {} when it has none.
    The caller must not change the dict (it is shared)."""
    known = catalogue.entry(provider, model)
    if known is None:
        return {}
    out: dict[str, Any] = {}
    for ours, theirs in (("type", "type"), ("context_window", "max_input_tokens"),
                         ("max_output_tokens", "max_output_tokens")):
        if known.get(theirs) is not None:
            out[ours] = known[theirs]
    features = set(known.get("features") or ())
    out["capabilities"] = {ours: theirs in features for ours, theirs in CAPABILITIES}
    return out


def model_object(provider: str, model: str) -> dict[str, Any]:
    """OpenAI's Model object for `provider/model`, with the catalogue's metadata."""
    return {"id": f"{provider}/{model}", "object": "model", "created": CREATED, "owned_by": provider,
            **metadata(provider, model)}


def objects(spec: ProviderSpec) -> tuple[dict[str, Any], ...]:
    """The Model objects of everything the provider offers, built once per provider version.
    Shared: callers copy before they add to one."""
    return _objects(spec.name, offered(spec))


@lru_cache(maxsize=256)
def _objects(name: str, models: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(model_object(name, model) for model in models)


@lru_cache(maxsize=1)
def _bare_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for provider, model, _ in catalogue.entries():
        index.setdefault(model, []).append(provider)
    return {model: tuple(providers) for model, providers in index.items()}


def catalogue_providers(model: str) -> tuple[str, ...]:
    """The providers whose catalogue entries hold this exact model id."""
    return _bare_index().get(model, ())
