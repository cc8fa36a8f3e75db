"""The OpenAI-compatible routes: models, chat, legacy completions, embeddings, images,
moderations, credits."""
from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from chalicelib.api.model_list import ModelsQuery
from chalicelib.api.openai import ChatCompletionRequest, EmbeddingRequest, ImageRequest, ModerationRequest
from chalicelib.api.validation import json_body, normalised, validate
from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import ApiError, bad_request
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.billing import catalogue, rates
from chalicelib.billing.cost import Rate
from chalicelib.credentials import pool
from chalicelib.gateway import catalog
from chalicelib.gateway.resolve import plan
from chalicelib.providers.base import ProviderSpec
from chalicelib.store import ledger
from chalicelib.store.shared import store

_CREATED = 1_735_689_600  # a fixed date: the catalogue has no real creation times
_CREATED_AT = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_CREATED))  # the same, as Anthropic writes dates
RATE_NAMES = ("input_rate", "output_rate", "cache_read_rate", "cache_write_rate", "image_rate", "second_rate")


def _priced(rate: Rate) -> dict[str, object]:
    return {"type": rate.type, **{name: from_minor(value) for name in RATE_NAMES
                                  if (value := getattr(rate, name)) is not None}}


async def list_models(req: ApiRequest, who: Principal) -> ApiResponse:
    """Without billing: every model of every usable provider. With billing: the priced ones,
    with their rates (credits per token, per image, per second). A request with an
    `anthropic-version` header (the anthropic SDK's) gets the list in Anthropic's shape."""
    usable = {name: spec for name, spec in catalog.providers().items() if pool.active_count(spec)}
    if settings().billing:
        data = [
            {"id": f"{provider}/{model}", "object": "model", "created": _CREATED, "owned_by": provider,
             "pricing": _priced(rate)}
            for (provider, model), rate in sorted(rates.all_rates().items()) if provider in usable
        ]
    else:
        data = [
            {"id": f"{spec.name}/{model}", "object": "model", "created": _CREATED, "owned_by": spec.name}
            for spec in usable.values()
            for model in spec.models
        ]
    if "anthropic-version" in req.headers:
        # imported here: OpenAI-dialect calls (most of them) need not load the Anthropic surface
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
    """OpenAI's Model object, with what aihub knows of the model: its limits from the shipped
    catalogue and, with billing on, its price."""
    model_id = req.params["id"]
    found = _served(model_id)
    if found is None:
        raise ApiError(404, f"The model '{model_id}' does not exist or you do not have access to it.",
                       param="model", code="model_not_found")
    spec, model = found
    out: dict[str, object] = {"id": f"{spec.name}/{model}", "object": "model", "created": _CREATED,
                              "owned_by": spec.name}
    known = catalogue.entry(spec.name, model) or {}
    for ours, theirs in (("type", "type"), ("context_window", "max_input_tokens"),
                         ("max_output_tokens", "max_output_tokens")):
        if known.get(theirs) is not None:
            out[ours] = known[theirs]
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
