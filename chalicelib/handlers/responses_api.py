"""OpenAI's Responses API: create (JSON or events), retrieve, delete, list input items.

A provider that serves this API itself (`ProviderSpec.responses_api`: OpenAI) gets the
client's body as it is but for the model id; every other provider gets the internal chat
body and its answer is rendered as a Response. Either way aihub keeps its own copy of the
response (unless `store: false`, or AIHUB_RESPONSES_TTL_DAYS is 0), owned by the caller's
account: `previous_response_id`, GET, DELETE and input_items are served from that copy, so a
conversation may move between providers and credentials, and never depends on what an
upstream still holds.
"""
from __future__ import annotations

import logging
import time
from typing import Any, cast

import orjson

from chalicelib.api.responses import InputItemsQuery, ResponseCreateRequest
from chalicelib.api.validation import json_body, validate
from chalicelib.config import settings
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.gateway.resolve import plan
from chalicelib.providers.base import Adapter, ProviderSpec, Result, Target
from chalicelib.providers.openai_compat.adapter import OpenAICompatAdapter
from chalicelib.providers.streaming import TranslatedStream, prompt_chars
from chalicelib.store import responses as stored
from chalicelib.store.shared import store
from chalicelib.surfaces import openai_responses
from chalicelib.surfaces.base import Native
from chalicelib.surfaces.openai_responses import translate
from chalicelib.surfaces.openai_responses.translate import Keep

log = logging.getLogger("aihub.responses")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _speaks_responses(spec: ProviderSpec) -> bool:
    return spec.responses_api


def _may_go_native(model: str) -> bool:
    """Whether a provider that speaks the Responses API may serve `model`: then what only that
    API can express (built-in tools, ...) is accepted, and left out of the internal body."""
    try:
        return any(_speaks_responses(spec) for spec, _ in plan(model).routes)
    except ApiError:
        return True  # the pipeline answers (and records) the model's own problem


def _previous(body: dict[str, Any], who: Principal) -> list[dict[str, Any]]:
    """The conversation `previous_response_id` continues, or [] when there is none."""
    previous_id = body.get("previous_response_id")
    if not previous_id:
        return []
    if settings().responses_ttl_days <= 0:
        raise bad_request("previous_response_id cannot be used: this gateway keeps no responses "
                          "(AIHUB_RESPONSES_TTL_DAYS is 0). Send the conversation in 'input' instead.",
                          param="previous_response_id", code="responses_not_stored")
    found = stored.get(store(), previous_id, who.account_id, _now_ms())
    if found is None:
        raise ApiError(404, f"Previous response with id '{previous_id}' not found.", param="previous_response_id",
                       code="previous_response_not_found")
    return translate.history(found.input_items, found.response.get("output") or [], native=found.native)


def _keeper(who: Principal, items: list[dict[str, Any]], *, native: bool) -> Keep:
    """Keeps a finished response; a failure is logged and the client still gets its answer."""
    ttl_days = settings().responses_ttl_days

    def keep(response: dict[str, Any]) -> None:
        try:
            now = _now_ms()
            row = stored.StoredResponse(response["id"], who.account_id, str(response.get("model") or ""), native,
                                        response, items, now, stored.expiry(now, ttl_days))
            store().write(lambda conn: stored.save(conn, row))
        except Exception:
            log.exception("could not keep response %s", response.get("id"))

    return keep


def _native(body: dict[str, Any], internal: dict[str, Any], keep: Keep | None) -> Native:
    """The call to a provider that speaks this API: the client's body, with the model id the
    adapter sets; the stream's events relayed as they come."""
    chars = prompt_chars(internal)

    async def call(adapter: Adapter, target: Target) -> Result:
        result = await cast(OpenAICompatAdapter, adapter).responses(target, body)
        if keep is not None:
            keep(orjson.loads(result.body))
        return result

    async def call_stream(adapter: Adapter, target: Target) -> TranslatedStream:
        return await cast(OpenAICompatAdapter, adapter).responses_stream(target, body, prompt_chars=chars)

    return Native(kinds=frozenset({"openai"}), call=call, call_stream=call_stream,
                  renderer=lambda: translate.Passthrough(keep), accepts=_speaks_responses)


async def create(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(ResponseCreateRequest, body)
    previous = _previous(body, who)
    items = [*previous, *translate.input_items(body["input"])]
    internal = translate.to_chat(body, previous, lenient=_may_go_native(body["model"]))
    kept = settings().responses_ttl_days > 0 and body.get("store") is not False
    upstream = body
    if previous:  # OpenAI is handed the conversation itself: aihub's copy is the one of record
        upstream = {**{k: v for k, v in body.items() if k != "previous_response_id"}, "input": items}
    keep_native = _keeper(who, items, native=True) if kept else None
    keep_translated = _keeper(who, items, native=False) if kept else None
    surface = openai_responses.surface(translate.Context.of(body, store=kept), keep_translated)
    return await pipeline.chat(req, who, internal, surface=surface, native=_native(upstream, internal, keep_native))


def _owned(req: ApiRequest, who: Principal) -> stored.StoredResponse:
    response_id = req.params["id"]
    found = stored.get(store(), response_id, who.account_id, _now_ms())
    if found is None:
        raise not_found(f"Response with id '{response_id}' not found.", code="response_not_found")
    return found


async def retrieve(req: ApiRequest, who: Principal) -> ApiResponse:
    return json_response(_owned(req, who).response)


async def delete(req: ApiRequest, who: Principal) -> ApiResponse:
    response_id = req.params["id"]
    if not stored.delete(store(), response_id, who.account_id, _now_ms()):
        raise not_found(f"Response with id '{response_id}' not found.", code="response_not_found")
    return json_response({"id": response_id, "object": "response", "deleted": True})


async def input_items(req: ApiRequest, who: Principal) -> ApiResponse:
    query = validate(InputItemsQuery, dict(req.query))
    found = _owned(req, who)
    items = translate.listed_items(found.input_items, found.id)
    if query.order == "desc":
        items.reverse()
    if query.after is not None:
        at = next((i for i, item in enumerate(items) if item["id"] == query.after), None)
        if at is None:
            raise bad_request(f"No input item with id '{query.after}' in this response.", param="after")
        items = items[at + 1:]
    page = items[:query.limit]
    return json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                          "last_id": page[-1]["id"] if page else None, "has_more": len(items) > len(page)})
