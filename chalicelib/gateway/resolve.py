"""Model name -> the provider, its own model id, and the credential to call it with."""
from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.errors import ApiError
from chalicelib.providers import registry
from chalicelib.providers.base import ProviderSpec, Target


def providers() -> dict[str, ProviderSpec]:
    """Providers whose adapter this build has."""
    kinds = registry.kinds()
    return {name: spec for name, spec in registry.BUILTIN.items() if spec.kind in kinds}


def resolve(model: str, settings: Settings) -> Target:
    known = providers()
    prefix, _, rest = model.partition("/")
    if rest and prefix in known:
        spec = known[prefix]
        credential = registry.env_credential(spec, settings)
        if credential is None:
            raise ApiError(503, f"Provider {prefix} has no credential configured.", code="provider_not_configured",
                           type="api_error")
        return Target(spec, spec.upstream_model(rest), credential)
    routes = [
        (known[p], m) for p, m in registry.candidates(model)
        if p in known and (not known[p].bare_names_mapped_only or m in dict(known[p].model_map))
    ]
    for spec, upstream in routes:
        credential = registry.env_credential(spec, settings)
        if credential is not None:
            return Target(spec, spec.upstream_model(upstream), credential)
    if routes:
        names = ", ".join(spec.name for spec, _ in routes)
        raise ApiError(503, f"No provider that serves '{model}' has a credential configured ({names}).",
                       code="provider_not_configured", type="api_error")
    raise ApiError(404, f"The model '{model}' does not exist or no provider serves it. "
                        "Name it as 'provider/model' (GET /v1/models lists them).", code="model_not_found")
