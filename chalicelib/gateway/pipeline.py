"""The request pipeline: resolve -> admit -> call (with failover) -> settle.

Both fronts run this same code. Every call ends in exactly one `model_calls` row, written in
the same transaction as its charge (and the release of its reservation): before a
non-streamed response is returned, and before the final `[DONE]` (or error event) of a stream,
so a client that has its answer can already find the call. With `AIHUB_SETTLEMENTS=sqs` that
settlement is on the queue by then, and written by the call log's writer (chalicelib/calllog).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx
import orjson

from chalicelib import calllog
from chalicelib.billing import accounting, admission
from chalicelib.calllog.message import Message, begin_message
from chalicelib.config import observability
from chalicelib.errors import ApiError, bad_request
from chalicelib.gateway import failover
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, sse_response
from chalicelib.gateway.resolve import Plan, plan
from chalicelib.hotstate.base import Hold
from chalicelib.observability import hub, trace_context
from chalicelib.providers import errors as provider_errors
from chalicelib.providers.base import (
    Adapter,
    AudioStream,
    AudioUpload,
    ChatStream,
    Result,
    Target,
    UpstreamError,
    Usage,
    VideoResult,
)
from chalicelib.store.calls import CallRecord
from chalicelib.store.db import DatabaseUnavailable
from chalicelib.surfaces import openai_chat
from chalicelib.surfaces.base import Native, StreamRenderer, Surface

log = logging.getLogger("aihub.pipeline")
BEGIN_WAIT_S = 2.0
T = TypeVar("T")


class Call:
    """One call in flight: its record, its clock, its reservation, and how it settles."""

    def __init__(self, req: ApiRequest, who: Principal, kind: str, body: dict[str, Any],
                 surface: str = "openai", hold_kind: str | None = None) -> None:
        self.started = time.perf_counter()
        self.who = who
        self.body = body
        self.hold_kind = hold_kind or kind  # how the credit hold is bounded (billing/cost.py)
        self.model: str = body["model"]
        self.record = CallRecord(
            request_id=req.request_id,
            created_at=int(time.time() * 1000),
            type=kind,
            account_id=who.account_id,
            key_id=who.key_id,
            requested_model=self.model,
            stream=int(bool(body.get("stream"))),
            surface=surface,
            app_id=req.headers.get("x-aigne-hub-client-did") or None,
        )
        self.settled = False
        self.attempts: list[dict[str, Any]] = []
        self.admission: admission.Admission | None = None
        self.begun: asyncio.Future[None] | None = None  # its queued begin, being sent
        # Span ids are chosen as the call runs only when spans are exported; otherwise the
        # client's traceparent, if any, simply goes upstream.
        self.trace: trace_context.Trace | None = None
        client_trace = req.headers.get("traceparent")
        if observability().otlp:
            self.trace = trace_context.begin(client_trace)
        elif client_trace is not None:
            trace_context.forward(client_trace)

    def begin_attempt(self) -> None:
        if self.trace is not None:
            self.trace.begin_attempt()

    def attempt(self, target: Target, error: UpstreamError | None, began: float) -> None:
        """Note one try; the record names the last provider and credential tried."""
        self.record.provider = target.provider.name
        self.record.model = target.model
        self.record.credential_id = target.credential.id
        self.attempts.append({
            "provider": target.provider.name,
            "model": target.model,
            "credential_id": target.credential.id,
            "status": error.upstream_status or error.status if error else 200,
            "error_code": error.code if error else None,
            "ms": round((time.perf_counter() - began) * 1000, 3),
        })

    def headers(self) -> dict[str, str]:
        out = {"x-aihub-provider": self.record.provider or "", "x-aihub-model": self.record.model or ""}
        if self.admission is not None:
            out.update(self.admission.headers)
        return out

    async def settle(self, usage: Usage | None, error: ApiError | None = None, ttfb_ms: float | None = None) -> None:
        rec = self.record
        rec.duration_ms = round((time.perf_counter() - self.started) * 1000, 3)
        rec.ttfb_ms = None if ttfb_ms is None else round(ttfb_ms, 3)
        if usage is not None:
            rec.prompt_tokens = usage.input_tokens
            rec.completion_tokens = usage.output_tokens
            rec.cache_read_tokens = usage.cache_read_tokens
            rec.cache_write_tokens = usage.cache_write_tokens
            rec.reasoning_tokens = usage.reasoning_tokens
            rec.images = usage.images
            rec.seconds = usage.seconds
            rec.usage_estimated = int(usage.estimated)
        if error is not None:
            rec.status = "failed"
            rec.http_status = error.status
            rec.error_code = error.code
            rec.error = error.message[:1000]
        else:
            rec.http_status = rec.http_status or 200
        if len(self.attempts) > 1 or (self.attempts and error is not None):
            rec.attempts = orjson.dumps(self.attempts).decode()
        self.settled = True
        usage = usage if error is None else None
        adm = self.admission
        if adm is not None and adm.external is not None:
            # The DynamoDB hot state takes the charge now (a conditional write, milliseconds);
            # the call log only books it in the ledger.
            try:
                await admission.settle_external(adm, rec.provider, rec.model, usage)
            except Exception:
                # Whether DynamoDB took the charge (its answer lost) or not, the ledger books it:
                # reconcile's sweep settles a hold still there at the booked amount, so the two
                # agree either way and the call is never free.
                adm.charged = min(adm.cost(rec.provider, rec.model, usage) or 0, accounting.MAX_CHARGE)
                log.exception("call %s: hot-state settle failed; the ledger books %d and reconcile settles the"
                              " hold at it", rec.request_id, adm.charged)
        msg = self._settlement(usage)
        if self.begun is not None:
            # The settle should not overtake its begin out of this process, but a begin that
            # arrives after its settle is ignored anyway: no waiting past a brownout of SQS.
            await asyncio.wait({self.begun}, timeout=BEGIN_WAIT_S)
        # Locally through the writer thread: the loop never waits on SQLite, and calls settling
        # at the same time share one commit. Durable: if the database cannot take it now (locked
        # past the budget, disk full), the writer keeps it and commits it once it can; the
        # client's answer is not held back for that.
        try:
            rec.credits = await calllog.send(msg)
        except DatabaseUnavailable as exc:
            log.warning("call %s recorded later: %s", rec.request_id, exc.message)
        except Exception:
            log.exception("could not record call %s", rec.request_id)
        hub.call_settled(rec, self.attempts, self.trace)

    def _settlement(self, usage: Usage | None) -> Message:
        """Everything the call changes, as data (chalicelib/calllog): its record, the hold to
        settle, the tokens for the tpm counter and the cost of its usage."""
        rec, adm = self.record, self.admission
        if adm is None:
            return Message("settle", rec)
        if adm.external is not None:
            # Charged by the hot state, counters included: the log books the charge, no more.
            return Message("settle", rec, Hold(rec.request_id, rec.account_id, adm.key_id, adm.hold, None), cost=adm.charged,
                           charged_externally=True)
        cost = adm.cost(rec.provider, rec.model, usage)
        tokens = 0 if usage is None else admission.tokens(usage)
        return Message("settle", rec, Hold(rec.request_id, rec.account_id, adm.key_id, adm.hold, adm.minute),
                       tokens, cost)

    def begin_queued(self) -> None:
        """A call whose settlement is queued and that admission wrote nothing for: its begin
        goes to the queue while the provider works (settle waits for it)."""
        msg = begin_message(replace(self.record), calllog.deadline(self.record))
        self.begun = asyncio.ensure_future(_begin(msg))


async def _begin(msg: Message) -> None:
    try:
        await calllog.send(msg)
    except Exception:  # the local fallback could not commit it either: the settle still will
        log.exception("could not record the start of call %s", msg.request_id)


async def _recorded(call: Call, work: Awaitable[T]) -> T:
    """`work`, with a failure recorded (as the call's one record) before it propagates."""
    try:
        return await work
    except DatabaseUnavailable:
        raise  # nothing ran and nothing can be written: the client gets the 503
    except ApiError as error:
        await call.settle(None, error)
        raise
    except Exception:
        await call.settle(None, ApiError(500, "internal error", code="internal_error"))
        raise


async def _admit(call: Call) -> Plan:
    async def admit() -> tuple[Plan, admission.Admission | None]:
        # plan() inside: an unknown model is recorded like any other refusal
        return await admission.admit(call.record, call.who, plan(call.model), call.body, call.hold_kind)

    routes, call.admission = await _recorded(call, admit())
    if calllog.queued() and (call.admission is None or call.admission.external is not None):
        call.begin_queued()
    return routes


async def _attempt(call: Call, invoke: Callable[[Adapter, Target], Awaitable[T]]) -> T:
    """Resolve, admit and call with failover; a failure is recorded before it propagates."""
    routes = await _admit(call)
    return await _recorded(call, failover.run(routes, _traced(call, invoke), call.attempt))


def _traced(call: Call, invoke: Callable[[Adapter, Target], Awaitable[T]]) -> Callable[[Adapter, Target], Awaitable[T]]:
    """`invoke`, marking each attempt's start for its trace span (nothing when not tracing)."""
    if call.trace is None:
        return invoke

    async def attempt(adapter: Adapter, target: Target) -> T:
        call.begin_attempt()
        return await invoke(adapter, target)

    return attempt


Render = Callable[[bytes, CallRecord], bytes]  # the provider's OpenAI-shaped answer -> the surface's


async def _run(call: Call, invoke: Callable[[Adapter, Target], Awaitable[Result]], *,
               native: Native | None = None, render: Render | None = None) -> ApiResponse:
    """One answer that does not stream: from `native` for a provider it serves (as it came),
    else from `invoke`, rendered by `render` when the surface is not OpenAI's."""
    is_native = False

    def pick(adapter: Adapter, target: Target) -> Awaitable[Result]:
        nonlocal is_native
        is_native = native is not None and native.serves(target.provider)
        return native.call(adapter, target) if is_native and native else invoke(adapter, target)

    result = await _attempt(call, pick)
    await call.settle(result.usage, ttfb_ms=result.ttfb_ms)
    # Rendered after settlement, so the record carries the charge (AIGNE reports it).
    out = result.body if is_native or render is None else render(result.body, call.record)
    return ApiResponse(200, out, {"content-type": result.content_type, **call.headers()})


async def chat(req: ApiRequest, who: Principal, body: dict[str, Any], *,
               surface: Surface = openai_chat.SURFACE, native: Native | None = None) -> ApiResponse:
    """A chat call from any surface: `body` is the internal (OpenAI) form of the request; a
    provider of one of `native.kinds` gets the client's own body through `native` instead."""
    call = Call(req, who, "chat", body, surface.name)
    if not body.get("stream"):
        return await _run(call, lambda a, t: a.chat(t, body), native=native, render=surface.render_json)
    def translated() -> StreamRenderer:
        return surface.renderer(call.record)  # its close() reads the settled record

    renderer: Callable[[], StreamRenderer] = translated

    def pick(adapter: Adapter, target: Target) -> Awaitable[ChatStream]:
        nonlocal renderer
        if native is not None and native.call_stream and native.renderer and native.serves(target.provider):
            renderer = native.renderer
            return native.call_stream(adapter, target)
        renderer = translated
        return adapter.chat_stream(target, body)

    stream = await _attempt(call, pick)
    return sse_response(_Relay(_relay(call, stream, renderer())), call.headers())


class _Relay(AsyncGenerator[bytes, None]):
    """The body of a streamed call (`_relay`, `_audio_relay`), which also holds when the front
    fails before it reads a single frame (e.g. while writing the headers): closing a generator
    that never started runs none of its code, so the call would stay unsettled and the upstream
    open."""

    def __init__(self, frames: AsyncGenerator[bytes, None]) -> None:
        self._frames = frames
        self._started = False

    async def asend(self, value: None) -> bytes:
        self._started = True
        return await self._frames.asend(value)

    async def athrow(self, *args: Any) -> bytes:
        return await self._frames.athrow(*args)

    async def aclose(self) -> None:
        if not self._started:
            # Treated as a client gone before the first frame: started, so that closing it
            # drains, settles and releases as for any other disconnect.
            self._started = True
            try:
                await self._frames.asend(None)
            except StopAsyncIteration:
                pass
        await self._frames.aclose()


async def _relay(call: Call, stream: ChatStream, renderer: StreamRenderer) -> AsyncGenerator[bytes, None]:
    """The client's SSE body: what each provider read brought, in one write. A renderer that
    passes frames through (the client speaks the provider's dialect) is not called per frame."""
    batches = stream.batches()
    feed = None if getattr(renderer, "passes_through", False) else renderer.feed
    try:
        async for frames in batches:
            if feed is not None:
                out = b"".join([feed(frame) for frame in frames])
            else:
                out = frames[0] if len(frames) == 1 else b"".join(frames)
            if out:
                yield out
        await call.settle(stream.usage, stream.error, stream.ttfb_ms)
        yield renderer.close(stream.usage, stream.error)
    finally:
        if not call.settled:
            # The client left mid-stream: read the rest so the call is recorded and charged
            # with the usage the provider reports, not a guess.
            call.record.error_code = "client_disconnected"
            try:
                async for _ in batches:
                    pass
            except Exception:
                log.warning("draining stream %s failed", call.record.request_id, exc_info=True)
            await call.settle(stream.usage, stream.error, stream.ttfb_ms)
        await batches.aclose()
        await stream.aclose()


async def embeddings(req: ApiRequest, who: Principal, body: dict[str, Any], *, surface: str = "openai",
                     native: Native | None = None, render: Render | None = None) -> ApiResponse:
    """`body` is the internal (OpenAI) form; a surface of another dialect names itself, renders
    the OpenAI answer (`render`), and may pass its own body to providers of `native.kinds`."""
    return await _run(Call(req, who, "embedding", body, surface), lambda a, t: a.embeddings(t, body),
                      native=native, render=render)


async def images(req: ApiRequest, who: Principal, body: dict[str, Any], *, surface: str = "openai",
                 render: Render | None = None) -> ApiResponse:
    return await _run(Call(req, who, "image", body, surface), lambda a, t: a.images(t, body), render=render)


async def moderations(req: ApiRequest, who: Principal, body: dict[str, Any]) -> ApiResponse:
    async def invoke(adapter: Adapter, target: Target) -> Result:
        moderate = getattr(adapter, "moderations", None)
        if moderate is None:
            raise ApiError(400, f"{target.provider.name}/{target.model} is not a moderation model.", param="model",
                           code="model_not_supported")
        return await moderate(target, body)

    return await _run(Call(req, who, "moderation", body), invoke)


async def transcription(req: ApiRequest, who: Principal, upload: AudioUpload, body: dict[str, Any]) -> ApiResponse:
    """A transcription or translation; `body` is the form's fields and the file's bytes as
    `file`, from which the credit hold is bounded."""
    call = Call(req, who, "audio", body, hold_kind="transcription")
    if not body.get("stream"):
        return await _run(call, lambda a, t: a.transcription(t, upload))
    stream = await _attempt(call, lambda a, t: a.transcription_stream(t, upload))
    # Imported here: audio only, not on the path of a chat call (cold start).
    from chalicelib.providers import transcript

    return sse_response(_Relay(_relay(call, stream, transcript.Frames())), call.headers())


async def speech(req: ApiRequest, who: Principal, body: dict[str, Any]) -> ApiResponse:
    """Speech, relayed as the provider sends it; recorded once the last byte has been read."""
    call = Call(req, who, "audio", body, hold_kind="speech")
    stream = await _attempt(call, lambda a, t: a.speech(t, body))
    headers = {"content-type": stream.content_type, "cache-control": "no-cache", **call.headers()}
    return ApiResponse(200, _Relay(_audio_relay(call, stream)), headers)


async def _audio_relay(call: Call, stream: AudioStream) -> AsyncGenerator[bytes, None]:
    error: ApiError | None = None
    ended = False
    try:
        async for chunk in stream.chunks:
            yield chunk
        ended = True
    except httpx.TimeoutException:
        error = provider_errors.timeout(call.record.provider or "")
    except httpx.HTTPError:
        error = provider_errors.bad_response(call.record.provider or "", "the connection was lost mid-stream")
    finally:
        try:
            if not call.settled:
                if not ended and error is None:
                    # The client left mid-way; it is still charged: the provider bills the whole input.
                    call.record.error_code = "client_disconnected"
                await call.settle(stream.usage if error is None else None, error, stream.ttfb_ms)
        finally:
            await stream.aclose()


@dataclass(slots=True)
class VideoOutcome:
    """A finished video call: its files (in the blob store), usage, and what it was charged."""

    request_id: str
    model: str  # as the client named it
    provider: str
    result: VideoResult
    credits: int  # minor units (chalicelib/billing/units.py); 0 with billing off


def _make_video(adapter: Adapter, target: Target, body: dict[str, Any]) -> Awaitable[VideoResult]:
    make = getattr(adapter, "video", None)
    if make is None:
        raise bad_request(f"Provider {target.provider.name} does not make videos.", param="model",
                          code="model_not_supported")
    return make(target, body)


class VideoCall:
    """A video call admitted (model resolved, credits held) but not yet run: a client that waits
    for a job can be refused (400, 402, 404, 429) before the job is accepted."""

    def __init__(self, call: Call, routes: Plan) -> None:
        self._call, self._routes = call, routes

    async def run(self, deadline_s: float | None = None) -> VideoOutcome:
        """Make the video (minutes, maybe: every wait is an async sleep), then settle: one call
        record, billed per second of video at the model's second_rate. Past `deadline_s` the
        call is given up as a 504, recorded, its hold released (a client that waits no longer
        must not have it made, and paid for, again behind its back when it retries)."""
        call = self._call
        make = _traced(call, lambda a, t: _make_video(a, t, call.body))
        result = await _recorded(call, _within(failover.run(self._routes, make, call.attempt), deadline_s))
        await call.settle(result.usage, ttfb_ms=result.ttfb_ms)
        return VideoOutcome(call.record.request_id, call.model, call.record.provider or "", result,
                            call.record.credits)

    async def abandon(self, error: ApiError) -> None:
        """Give the call up before it runs (its job could not be kept): recorded as failed, its
        hold released."""
        await self._call.settle(None, error)


async def admit_video(req: ApiRequest, who: Principal, body: dict[str, Any], *, surface: str = "openai") -> VideoCall:
    """Resolve and admit a video call (`body`: OpenAI's video request: model, prompt, seconds,
    size); raises the ApiError of a refusal, already recorded."""
    call = Call(req, who, "video", body, surface)
    return VideoCall(call, await _admit(call))


async def video(req: ApiRequest, who: Principal, body: dict[str, Any], *, surface: str = "openai",
                deadline_s: float | None = None) -> VideoOutcome:
    """A video call, waited for: what a synchronous surface (AIGNE's /api/v2/video) calls, with
    the time its client waits as `deadline_s`. Host the files with
    `chalicelib.blobs.download_url(blob.id, base_url)`."""
    return await (await admit_video(req, who, body, surface=surface)).run(deadline_s)


async def _within(work: Awaitable[T], deadline_s: float | None) -> T:
    if deadline_s is None:
        return await work
    try:
        return await asyncio.wait_for(work, deadline_s)
    except TimeoutError:
        raise ApiError(504, f"The video was not ready within {deadline_s:.0f} s, the longest this client waits; "
                            "nothing was charged.", code="video_timeout", type="api_error") from None
