"""The AIGNE Hub routes the published `@aigne/aigne-hub` SDK and the `aigne` CLI call
(shared/aigne-hub-v2.md): discovery, `/api/v2/{chat,image,video,embeddings,status}`, the model
list and the user's info. Every model call goes through the pipeline with surface "aigne"; the
translation lives in chalicelib/surfaces/aigne_hub. `aigne hub connect` is in connect.py.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson

from chalicelib import blobs
from chalicelib.api import aigne as wire
from chalicelib.api.validation import json_body, validate
from chalicelib.api.videos import VideoCreateRequest
from chalicelib.billing import rates
from chalicelib.billing.units import MINOR_PER_CREDIT, from_minor
from chalicelib.config import settings
from chalicelib.credentials import pool
from chalicelib.errors import ApiError, bad_request
from chalicelib.gateway import catalog, model_list, pipeline
from chalicelib.gateway.auth import Principal, authenticate
from chalicelib.gateway.http import SSE, ApiRequest, ApiResponse, json_response
from chalicelib.gateway.loops import offload
from chalicelib.store import ledger
from chalicelib.store.calls import CallRecord
from chalicelib.store.shared import store
from chalicelib.surfaces import aigne_hub
from chalicelib.surfaces.aigne_hub import legacy, media, translate
from chalicelib.surfaces.base import Surface

HUB_DID = "z8ia3xzq2tMq8CRHfaXj1BTYJyYnEcHbqP8cJ"  # the AIGNE Hub blocklet the clients look for
DISCOVERY_PATH = "/__blocklet__.js"
DEFAULT_IMAGE_MODEL = "openai/dall-e-2"
DEFAULT_VIDEO_MODEL = "openai/sora-2"


# -- discovery --------------------------------------------------------------------------------


def mount_point(req: ApiRequest) -> str:
    """Where the hub's routes live: AIHUB_MOUNT_POINT, else the prefix this very request came
    under (an API Gateway stage: the Chalice front's path is the full one, `/prod/__blocklet__.js`)."""
    prefix = settings().env.get("AIHUB_MOUNT_POINT")
    if prefix is None:
        prefix = req.path.removesuffix(DISCOVERY_PATH) if req.path.endswith(DISCOVERY_PATH) else ""
    return "/" + prefix.strip("/")


async def blocklet(req: ApiRequest, who: Principal | None) -> ApiResponse:
    """The Blocklet descriptor the clients read first (`?type=json`); without it, the script a
    Blocklet serves, which sets `window.blocklet`."""
    mount = mount_point(req)
    info = {"appId": HUB_DID, "appName": "aihub", "prefix": mount, "componentId": HUB_DID,
            "componentMountPoints": [{"did": HUB_DID, "name": "ai-kit", "title": "aihub", "mountPoint": mount}]}
    if req.query.get("type") == "json":
        return json_response(info)
    script = b"window.blocklet = " + orjson.dumps(info) + b";\n"
    return ApiResponse(200, script, {"content-type": "application/javascript; charset=utf-8"})


# -- model calls ------------------------------------------------------------------------------


def _model(options: dict[str, Any] | None, fallback: str) -> str:
    return (options or {}).get("model") or fallback


async def chat(req: ApiRequest, who: Principal) -> ApiResponse:
    envelope = json_body(req.body)
    validate(wire.ChatEnvelope, envelope)
    chat_input = envelope["input"]
    streaming = bool((envelope.get("options") or {}).get("streaming"))
    body = translate.to_openai(chat_input, streaming)
    return await pipeline.chat(req, who, body, surface=aigne_hub.surface(json_out=translate.wants_json(chat_input)))


def _render_images(output_format: str | None) -> pipeline.Render:
    def render(body: bytes, record: CallRecord) -> bytes:
        usage = translate.usage_of(aigne_hub.tokens(record), aigne_hub.billed(record))
        which = aigne_hub.model_with_provider(record)
        return orjson.dumps({"images": media.images(orjson.loads(body), output_format), "usage": usage,
                             "model": which, "modelWithProvider": which})
    return render


async def image(req: ApiRequest, who: Principal) -> ApiResponse:
    envelope = json_body(req.body)
    validate(wire.ImageEnvelope, envelope)
    image_input = envelope["input"]
    if image_input.get("image"):
        raise bad_request("Image edits (input.image) are not served here; send a prompt only.", param="input.image")
    body = media.image_request(image_input, _model(image_input.get("modelOptions"), image_input.get("model")
                                                   or DEFAULT_IMAGE_MODEL))
    return await pipeline.images(req, who, body, surface=aigne_hub.NAME,
                                 render=_render_images(body.get("output_format")))


async def video(req: ApiRequest, who: Principal) -> ApiResponse:
    """`POST /api/v2/video`: waits for the video (the SDK allows 180 s) and answers its hosted
    URL; billed per second. The SDK always asks for `url` and converts to what its caller wants."""
    envelope = json_body(req.body)
    validate(wire.VideoEnvelope, envelope)
    video_input = envelope["input"]
    if video_input.get("outputFileType") not in (None, "url"):
        raise bad_request("Only outputFileType \"url\" is served for videos.", param="input.outputFileType")
    body = media.video_request(video_input, _model(video_input.get("modelOptions"), video_input.get("model")
                                                   or DEFAULT_VIDEO_MODEL))
    validate(VideoCreateRequest, body)
    done = await pipeline.video(req, who, body, surface=aigne_hub.NAME, deadline_s=VIDEO_DEADLINE_S)
    base = blobs.base_url(req.headers)
    charged = (translate.Billed(from_minor(done.credits), done.request_id, aigne_hub.credit_prefix())
               if settings().billing else None)
    which = done.model if done.model.startswith(f"{done.provider}/") else f"{done.provider}/{done.model}"
    return json_response({
        "videos": [{"type": "url", "url": blobs.download_url(blob.id, base), "mimeType": blob.content_type}
                   for blob in done.result.blobs],
        "usage": translate.usage_of(done.result.usage, charged), "model": which, "modelWithProvider": which,
        "seconds": media.seconds_number(done.result.seconds)})


def _render_embeddings(body: bytes, record: CallRecord) -> bytes:
    answer = orjson.loads(body)
    which = aigne_hub.model_with_provider(record)
    # `embeddings` is the envelope's answer, `data` the older one's: both, a safe superset
    return orjson.dumps({"embeddings": [item["embedding"] for item in answer.get("data") or ()],
                         "data": answer.get("data") or [], "model": which, "modelWithProvider": which,
                         "usage": translate.usage_of(aigne_hub.tokens(record), aigne_hub.billed(record))})


async def embeddings(req: ApiRequest, who: Principal) -> ApiResponse:
    """Both shapes the hub has accepted: the envelope (`input` an object) and `{model, input}`."""
    body = json_body(req.body)
    if isinstance(body.get("input"), dict):
        validate(wire.EmbeddingEnvelope, body)
        model = _model(body["input"].get("modelOptions"), body["input"].get("model") or "")
        if not model:
            raise bad_request("Model is required for embedding: set input.modelOptions.model.",
                              param="input.modelOptions.model")
        internal = {"model": model, "input": body["input"]["input"]}
        return await pipeline.embeddings(req, who, internal, surface=aigne_hub.NAME, render=_render_embeddings)
    validate(wire.OpenAIEmbeddings, body)
    return await pipeline.embeddings(req, who, {"model": body["model"], "input": body["input"]},
                                     surface=aigne_hub.NAME)


# -- the older OpenAI-like routes of the blocklet-side SDK ----------------------------------------


def _legacy_surface(sse_wanted: bool) -> Surface:
    return Surface(name=aigne_hub.NAME,
                   render_json=lambda body, record: orjson.dumps(legacy.message_from(orjson.loads(body),
                                                                                     aigne_hub.tokens(record))),
                   renderer=lambda record: legacy.DeltaStream() if sse_wanted else legacy.TextStream(),
                   error_body=aigne_hub.error_body)


async def chat_completions(req: ApiRequest, who: Principal) -> ApiResponse:
    """`/api/v2/chat/completions`: with `Accept: text/event-stream` a stream of deltas; with
    `stream: true` and no such Accept, the bare text as it comes; else one JSON message."""
    body = json_body(req.body)
    validate(wire.LegacyChat, body)
    sse_wanted = SSE in req.headers.get("accept", "")
    internal = legacy.to_openai({**body, "stream": bool(body.get("stream")) or sse_wanted})
    response = await pipeline.chat(req, who, internal, surface=_legacy_surface(sse_wanted))
    if response.streaming and not sse_wanted:
        response.headers["content-type"] = "text/plain; charset=utf-8"
    return response


def _render_legacy_images(body: bytes, record: CallRecord) -> bytes:
    found = legacy.images(orjson.loads(body))
    usage: dict[str, Any] = {}
    if (charged := aigne_hub.billed(record)) is not None:
        usage = {"aigneHubCredits": charged.credits, **({"creditPrefix": charged.prefix} if charged.prefix else {})}
    return orjson.dumps({"images": found, "data": found, "model": aigne_hub.model_with_provider(record),
                         "usage": usage})


async def image_generations(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(wire.LegacyImages, body)
    internal = {key: body[key] for key in ("model", "prompt", "n", "size", "quality", "style") if body.get(key)}
    if fmt := body.get("responseFormat") or body.get("response_format"):
        internal["response_format"] = fmt
    return await pipeline.images(req, who, internal, surface=aigne_hub.NAME, render=_render_legacy_images)


# The AIGNE SDK gives up on a video after 180 s and then retries: answer (a 504, nothing charged)
# before it gives up, so no video is made twice behind its back.
VIDEO_DEADLINE_S = 170.0


# -- catalogue, status, user ------------------------------------------------------------------

# The hub's `type` filter names -> ours; and ours -> what its model list says
TYPE_FILTERS = {"chat": "chat", "chatCompletion": "chat", "image": "image", "image_generation": "image",
                "imageGeneration": "image", "embedding": "embedding", "video": "video"}
WIRE_TYPES = {"chat": "chat", "image": "image_generation", "embedding": "embedding", "video": "video"}
# Without rates a model's kind is guessed from its name, as the hub does for unprefixed names;
# kinds the AIGNE clients have no model class for (audio, moderation) are left out of the list.
KIND_PATTERNS = (("embedding", re.compile(r"embed", re.IGNORECASE)),
                 ("image", re.compile(r"^(dall-e|gpt-image|imagen|image|ideogram|flux)|[-/]image", re.IGNORECASE)),
                 ("video", re.compile(r"^(sora|veo|video)", re.IGNORECASE)),
                 ("other", re.compile(r"moderation|whisper|transcribe|^tts|-tts", re.IGNORECASE)))


def kind_of(model: str) -> str:
    return next((kind for kind, pattern in KIND_PATTERNS if pattern.search(model)), "chat")


def _listed_kind(provider: str, model: str) -> str:
    """The catalogue's type where it knows the model (`grok-imagine-video` is a video model),
    except for the audio and moderation names it calls chat, which the clients cannot use."""
    guessed = kind_of(model)
    return guessed if guessed == "other" else model_list.metadata(provider, model).get("type") or guessed


def credits_text(units: int | None) -> str:
    """Credits per unit as the client's schema wants them: a decimal string, never a number."""
    value = (Decimal(units or 0) / MINOR_PER_CREDIT).normalize()
    return format(value, "f")


async def models(req: ApiRequest, who: Principal | None) -> ApiResponse:
    """`GET /api/ai/models[?type=]`: what this hub serves, in the shape the SDK's strict schema
    reads (credit rates as strings, `status` an object). With billing, the priced models only."""
    wanted = req.query.get("type")
    if wanted and wanted not in TYPE_FILTERS:
        raise bad_request(f"Unknown model type {wanted!r}; use one of {', '.join(TYPE_FILTERS)}.", param="type")
    usable = {name: spec for name, spec in catalog.providers().items() if pool.active_count(spec)}
    rows: list[tuple[str, str, str, int | None, int | None]] = []
    if settings().billing:
        for (provider, model), rate in sorted(rates.all_rates().items()):
            if provider in usable:
                per_unit = rate.image_rate if rate.type == "image" else rate.second_rate if rate.type == "video" else None
                rows.append((provider, model, rate.type, rate.input_rate, per_unit or rate.output_rate))
    else:
        rows = [(spec.name, model, _listed_kind(spec.name, model), None, None) for spec in usable.values()
                for model in model_list.offered(spec)]
    data = [{"model": model, "type": WIRE_TYPES.get(kind, kind), "provider": provider, "key": f"{provider}/{model}",
             "input_credits_per_token": credits_text(input_rate), "output_credits_per_token": credits_text(output_rate),
             "modelMetadata": None, "providerDisplayName": usable[provider].display_name or provider,
             "status": {"available": True}}
            for provider, model, kind, input_rate, output_rate in rows
            if kind in WIRE_TYPES and (not wanted or TYPE_FILTERS[wanted] == kind)]
    return json_response(data)


async def _availability(model: str) -> dict[str, Any]:
    # the admin module, loaded for this route only
    from chalicelib.handlers.providers import availability

    return availability(model)


def _unavailable(error: ApiError, **extra: Any) -> ApiResponse:
    return json_response({"available": False, "error": error.message, "code": error.status, **extra})


async def status(req: ApiRequest, who: Principal | None) -> ApiResponse:
    """`GET /api/v2/status[?model=]`, always 200: whether a call would be served now. With a
    key and billing on, an empty account answers the 402 it would get."""
    model = req.query.get("model")
    try:
        if model:
            found = await offload(lambda: _availability(model))
            if not found["routes"]:
                raise ApiError(400, f"Model {model} is not supported", code="model_not_found")
            if not found["available"]:
                raise ApiError(503, found["reason"], code="model_unavailable")
        elif not any(pool.active_count(spec) for spec in catalog.providers().values()):
            raise ApiError(503, "No providers available", code="no_provider")
        if settings().billing and req.headers.get("authorization"):
            account = authenticate(req).account_id
            found = ledger.balance(store(), account) if account else None
            if found is not None and found.balance <= 0:
                raise ApiError(402, "Insufficient credits: the account has none left.", code="insufficient_credits")
    except ApiError as error:
        if error.status == 402:
            body = aigne_hub.error_body(error)["error"]
            return _unavailable(error, type=body["type"], link=body.get("link"))
        return _unavailable(error)
    return json_response({"available": True})


async def user_info(req: ApiRequest, who: Principal) -> ApiResponse:
    """`GET /api/user/info` (`aigne hub status`): the key's account and, with billing, its credits."""
    billing = settings().billing
    found = ledger.balance(store(), who.account_id) if who.account_id else None
    balance = None
    if billing and found is not None:
        balance = {"balance": str(from_minor(found.balance)), "total": str(from_minor(found.granted)),
                   "pendingCredit": str(from_minor(found.reserved))}
    topup = settings().env.get("AIHUB_TOPUP_URL") or None
    info: dict[str, Any] = {"user": {"did": who.account_id or who.key_id or "admin", "fullName": who.account_id or "admin"},
                            "enableCredit": billing, "creditBalance": balance,
                            "paymentLink": topup if billing else None, "profileLink": None}
    prefix = aigne_hub.credit_prefix()
    if prefix:
        info["creditPrefix"] = prefix
    return json_response(info)
