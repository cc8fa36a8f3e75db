"""The OpenAI-compatible routes: models, chat, legacy completions, embeddings, images,
moderations, credits."""
from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from chalicelib.api.openai import ChatCompletionRequest, EmbeddingRequest, ImageRequest, ModerationRequest
from chalicelib.api.validation import json_body, normalised, validate
from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import ApiError, bad_request
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.billing import rates
from chalicelib.billing.cost import Rate
from chalicelib.credentials import pool
from chalicelib.gateway import catalog, model_list
from chalicelib.gateway.resolve import plan
from chalicelib.providers.base import ProviderSpec
from chalicelib.store import ledger
from chalicelib.store.shared import store

_CREATED_AT = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(model_list.CREATED))  # as Anthropic writes dates
RATE_NAMES = ("input_rate", "output_rate", "cache_read_rate", "cache_write_rate", "image_rate", "second_rate")


def _priced(rate: Rate) -> dict[str, object]:
    return {"type": rate.type, **{name: from_minor(value) for name in RATE_NAMES
                                  if (value := getattr(rate, name)) is not None}}


def _listed() -> list[dict[str, object]]:
    """Every model of every usable provider (see model_list). With billing on, only the priced
    ones (a model without a rate cannot be called), with their rates, and any model the
    operator priced that no list names."""
    usable = [spec for spec in catalog.providers().values() if pool.active_count(spec)]
    if not settings().billing:
        return [entry for spec in usable for entry in model_list.objects(spec)]
    priced = rates.all_rates()
    out = []
    for spec in usable:
        own = [m for (p, m) in priced if p == spec.name]
        for model in dict.fromkeys([*model_list.offered(spec), *sorted(own)]):
            if (rate := priced.get((spec.name, model))) is not None:
                out.append({**model_list.model_object(spec.name, model), "pricing": _priced(rate)})
    return out


async def list_models(req: ApiRequest, who: Principal) -> ApiResponse:
    """The models of every usable provider, with what the catalogue knows of each. A request
    with an `anthropic-version` header (the anthropic SDK's) gets the list in Anthropic's shape."""
    data = _listed()
    if "anthropic-version" in req.headers:
        # imported here: OpenAI-dialect calls (most of them) need not load the Anthropic surface
        from chalicelib.api.model_list import ModelsQuery
        from chalicelib.surfaces.anthropic_messages import translate as anthropic

        query = validate(ModelsQuery, dict(req.query))
        return json_response(anthropic.model_page([m["id"] for m in data], _CREATED_AT, limit=query.limit,
                                                  after_id=query.after_id, before_id=query.before_id))
    return json_response({"object": "list", "data": data})


def _served(model_id: str) -> tuple[ProviderSpec, str] | None:
    """The provider and its model id that a call naming `model_id` would go to (with billing
    on, a priced one), or None: a model exists for a client when aihub would route it."""
    try:
        routes = plan(model_id).routes
    except ApiError:
        return None
    if settings().billing:
        priced = rates.all_rates()
        routes = tuple(route for route in routes if (route[0].name, route[1]) in priced)
    for spec, model in routes:
        if not spec.closed_models or model in spec.models:
            return spec, model
    return None


async def retrieve_model(req: ApiRequest, who: Principal) -> ApiResponse:
    """OpenAI's Model object, with what aihub knows of the model: its type, limits and
    capabilities from the shipped catalogue and, with billing on, its price."""
    model_id = req.params["id"]
    found = _served(model_id)
    if found is None:
        raise ApiError(404, f"The model '{model_id}' does not exist or you do not have access to it.",
                       param="model", code="model_not_found")
    spec, model = found
    out: dict[str, object] = model_list.model_object(spec.name, model)
    rate = rates.rate_for(spec.name, model) if settings().billing else None
    if rate is not None:
        out["pricing"] = _priced(rate)
    return json_response(out)


def _checked(model: type[BaseModel], req: ApiRequest) -> dict[str, Any]:
    body = json_body(req.body)
    return normalised(validate(model, body), body)


async def chat_completions(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.chat(req, who, _checked(ChatCompletionRequest, req))


async def embeddings(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.embeddings(req, who, _checked(EmbeddingRequest, req))


async def image_generations(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.images(req, who, _checked(ImageRequest, req))


async def moderations(req: ApiRequest, who: Principal) -> ApiResponse:
    # OpenAI's default when no model is named
    return await pipeline.moderations(req, who, {"model": "omni-moderation-latest",
                                                 **_checked(ModerationRequest, req)})


async def credits(req: ApiRequest, who: Principal) -> ApiResponse:
    if who.account_id is None:
        raise bad_request("This key belongs to no account, so it has no credits.", code="no_account")
    found = ledger.balance(store(), who.account_id)
    if found is None:
        raise bad_request("This key's account no longer exists.", code="no_account")
    return json_response({
        "object": "credits",
        "account_id": who.account_id,
        "balance": from_minor(found.balance),
        "granted": from_minor(found.granted),
        "used": from_minor(found.used),
        "reserved": from_minor(found.reserved),
        "billing": settings().billing,
    })
