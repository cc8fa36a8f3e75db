"""Model name -> a plan: the (provider, provider's model id) routes that may serve it, in order.

`provider/model` pins one provider. A bare name goes to the providers of the name-pattern table
(chalicelib/providers/registry.py), then to those whose shipped catalogue entries or operator
`config.models` hold that exact id; only providers that are enabled and have a usable
credential are kept. Credentials are picked per attempt (chalicelib/credentials/pool.py).

A plan depends only on the providers and credentials tables (and the process's environment),
so the plans of the names asked for are kept until either table's change counter moves
(store.versions): a warm request resolves its model with one dictionary lookup.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.credentials import pool
from chalicelib.errors import ApiError
from chalicelib.gateway import catalog, model_list
from chalicelib.providers import registry
from chalicelib.providers.base import ProviderSpec
from chalicelib.store import versions

PLANS = 1024  # model names remembered


@dataclass(frozen=True, slots=True)
class Plan:
    model: str  # as the client named it
    routes: tuple[tuple[ProviderSpec, str], ...]
    pinned: bool


def how_to_add_credential(spec: ProviderSpec) -> str:
    """The three ways to give a provider a credential, for a first run's error."""
    ways = [f"set {spec.key_env} in the server's environment"] if spec.key_env else []
    ways += [f"run `aihub credentials add {spec.name} --value -` (the key on stdin)",
             "or add one on the Providers page of the web UI"]
    return f"To add one for {spec.name}: " + ", ".join(ways) + "."


def _not_configured(model: str, specs: list[ProviderSpec]) -> ApiError:
    # Not worth a retry: x-should-retry stops the OpenAI and Anthropic SDKs from retrying this 503
    # before the user sees how to fix it.
    names = ", ".join(spec.name for spec in specs)
    return ApiError(503, f"No provider that serves '{model}' has an active credential ({names}). "
                         f"{how_to_add_credential(specs[0])} Changes take effect within a second.",
                    code="provider_not_configured", type="api_error", headers={"x-should-retry": "false"})


def _bare_candidates(model: str, known: dict[str, ProviderSpec]) -> list[tuple[str, str]]:
    """(provider, model id) pairs for a bare name: the pattern table's first (its order is a
    preference), then the providers that list the exact id, for names no pattern knows
    (`codellama` on Ollama) and more failover routes for names one does."""
    pairs = registry.candidates(model)
    listing = [*model_list.catalogue_providers(model),
               *(name for name, spec in known.items() if model in (spec.config.get("models") or ()))]
    seen = {provider for provider, _ in pairs}
    return pairs + [(provider, model) for provider in dict.fromkeys(listing) if provider not in seen]


_plans: versions.Memo[str, Plan] = versions.Memo("providers", "credentials", size=PLANS)


def plan(model: str) -> Plan:
    """The routes of `model`; an ApiError (404, 503) when none can serve it (not remembered:
    right until a credential or provider comes)."""
    return _plans.get(model, lambda: _plan(model))


def _plan(model: str) -> Plan:
    known = catalog.providers(include_disabled=True)
    prefix, _, rest = model.partition("/")
    if rest and prefix in known:
        spec = known[prefix]
        if not spec.enabled:
            raise ApiError(503, f"Provider {prefix} is disabled.", code="provider_disabled", type="api_error")
        if not pool.active_count(spec):
            raise _not_configured(model, [spec])
        return Plan(model, ((spec, spec.upstream_model(rest)),), pinned=True)
    candidates = [
        (known[p], m) for p, m in _bare_candidates(model, known)
        if p in known and known[p].enabled
        and (not known[p].bare_names_mapped_only or m in dict(known[p].model_map))
    ]
    routes = tuple((spec, spec.upstream_model(m)) for spec, m in candidates if pool.active_count(spec))
    if routes:
        return Plan(model, routes, pinned=False)
    if candidates:
        raise _not_configured(model, [spec for spec, _ in candidates])
    raise ApiError(404, f"The model '{model}' does not exist or no provider serves it. "
                        "Name it as 'provider/model' (GET /v1/models lists them).", code="model_not_found")
