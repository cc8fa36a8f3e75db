"""The OpenAI-compatible routes: models, chat, embeddings, images, credits."""
from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from chalicelib.api.anthropic import ModelsQuery
from chalicelib.api.openai import ChatCompletionRequest, EmbeddingRequest, ImageRequest
from chalicelib.api.validation import json_body, normalised, validate
from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import bad_request
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.billing import rates
from chalicelib.billing.cost import Rate
from chalicelib.credentials import pool
from chalicelib.gateway import catalog
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


def _checked(model: type[BaseModel], req: ApiRequest) -> dict[str, Any]:
    body = json_body(req.body)
    return normalised(validate(model, body), body)


async def chat_completions(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.chat(req, who, _checked(ChatCompletionRequest, req))


async def embeddings(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.embeddings(req, who, _checked(EmbeddingRequest, req))


async def image_generations(req: ApiRequest, who: Principal) -> ApiResponse:
    return await pipeline.images(req, who, _checked(ImageRequest, req))


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
