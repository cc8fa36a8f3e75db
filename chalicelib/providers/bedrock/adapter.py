"""The boto3 layer of the Bedrock adapter: clients, calls in worker threads, the event pump.

boto3 is synchronous, so every call runs in a worker thread and the event loop never blocks.
boto3 and botocore are imported inside the functions here, on the first Bedrock call, so cold
start never pays for them.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any, TypeVar

import orjson

from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.providers import errors, registry
from chalicelib.providers.anthropic import translate as anthropic
from chalicelib.providers.base import Result, Target, UpstreamError
from chalicelib.providers.bedrock import translate
from chalicelib.providers.no_audio import NoAudio
from chalicelib.providers.streaming import StreamTranslator, TranslatedStream, closed_on_failure, prompt_chars, wants_usage

T = TypeVar("T")
log = logging.getLogger("aihub.bedrock")

# Our own pool: the loop's default executor has cpu+4 threads (6 here) and a stream holds its
# thread for its whole life, so a few streams would starve every other call.
MAX_THREADS = 64
_EXECUTOR = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="bedrock")
EMBED_CONCURRENCY = 4  # Titan embeds one text a call: a list fans out this many at a time
MAX_CLIENTS = 32
JSON = "application/json"  # InvokeModel's content type and accept

_clients: dict[tuple[str | None, ...], Any] = {}
_clients_lock = threading.Lock()


def region(target: Target) -> str:
    cfg = settings()
    return (target.provider.region or cfg.provider_env("AWS_REGION") or cfg.provider_env("AWS_DEFAULT_REGION")
            or "us-east-1")


def _client_key(target: Target) -> tuple[str | None, ...]:
    """(region, endpoint, access key id, secret key, session token); no secret: the AWS chain."""
    secret = target.credential.secret
    if secret is not None and not (isinstance(secret, dict) and secret.get("access_key_id")
                                   and secret.get("secret_access_key")):
        raise UpstreamError(502, f"Provider {target.provider.name}'s credential {target.credential.id} is not an "
                                 "AWS key pair {access_key_id, secret_access_key[, session_token]}.",
                            code="upstream_auth_failed", type="api_error")
    keys: dict[str, str] = secret if isinstance(secret, dict) else {}
    endpoint = registry.base_url(target.provider, settings()) or None
    return (region(target), endpoint, keys.get("access_key_id"), keys.get("secret_access_key"),
            keys.get("session_token"))


async def client(target: Target) -> Any:
    """The process's bedrock-runtime client for this region, endpoint and credential, made once
    (in a worker thread: it takes ~100 ms) and kept for warm invocations."""
    key = _client_key(target)
    found = _clients.get(key)
    return found if found is not None else await call(target, lambda: _make_client(key))


def _make_client(key: tuple[str | None, ...]) -> Any:
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _new_client(*key)
            if len(_clients) >= MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
            _clients[key] = found
    return found


def _new_client(region_name: str | None, endpoint: str | None, access_key_id: str | None,
                secret_access_key: str | None, session_token: str | None) -> Any:
    import boto3
    from botocore.config import Config

    cfg = settings()
    # No SDK retries: the gateway retries on another credential or provider itself.
    # (botocore's `max_attempts` counts retries; `total_max_attempts` counts the first try.)
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=cfg.connect_timeout_s,
                    read_timeout=cfg.read_timeout_s, max_pool_connections=MAX_THREADS)
    # A session of its own: boto3 sessions are not thread-safe, and without keys it walks the
    # standard AWS chain (environment, profile, container or instance role).
    session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                    aws_session_token=session_token, region_name=region_name)
    return session.client("bedrock-runtime", endpoint_url=endpoint, config=config)


def upstream_error(exc: Exception, target: Target) -> ApiError | None:
    """A boto3/botocore failure -> the client's error; None for anything else (a bug)."""
    from botocore import exceptions as bx

    name = target.provider.name
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        return translate.error_from(name, str(error.get("Code") or ""), str(error.get("Message") or ""),
                                    meta.get("HTTPStatusCode"), target.credential, meta.get("HTTPHeaders"))
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return errors.timeout(name)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return UpstreamError(502, f"Provider {name} has no usable AWS credentials.", code="upstream_auth_failed",
                             type="api_error")
    if isinstance(exc, bx.ParamValidationError):  # a value botocore checks before sending (e.g. a bad model id)
        return ApiError(400, errors.scrub(str(exc), target.credential), code="invalid_request")
    if isinstance(exc, (bx.EndpointConnectionError, bx.HTTPClientError)):
        return errors.unreachable(name, exc)
    if isinstance(exc, bx.BotoCoreError):
        return errors.bad_response(name, type(exc).__name__)
    return None


async def call(target: Target, fn: Callable[[], T]) -> T:
    """Run a blocking boto3 call in a worker thread, with its failure mapped."""
    try:
        return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, fn)
    except Exception as exc:
        mapped = upstream_error(exc, target)
        if mapped is None:
            raise
        raise mapped from None


def request_id(response: dict[str, Any]) -> str | None:
    return (response.get("ResponseMetadata") or {}).get("RequestId")


_END = object()


class EventPump:
    """Opens a ConverseStream and iterates its botocore EventStream in a worker thread, handing
    its events to the event loop through a queue, as (event name, payload) pairs; (None, None)
    marks a clean end.

    The worker owns the stream from the moment boto3 returns it and always closes it: so a call
    abandoned while the stream was still being opened (a cancelled caller, a failure in between)
    leaks no connection either."""

    def __init__(self, open_stream: Callable[[], dict[str, Any]], target: Target, key: str = "stream") -> None:
        self._open = open_stream
        self._key = key  # where the response keeps its event stream: "stream" (Converse) or "body" (Invoke)
        self._stream: Any = None
        self._target = target
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._abandoned = False
        self.opened: asyncio.Future[dict[str, Any]] = self._loop.create_future()  # the response head
        self.finished = self._loop.run_in_executor(_EXECUTOR, self._run)

    def _resolve(self, result: dict[str, Any] | BaseException) -> None:
        def settle() -> None:
            if self.opened.done():  # the opener gave up waiting
                return
            if isinstance(result, BaseException):
                self.opened.set_exception(result)
            else:
                self.opened.set_result(result)

        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is gone: nobody is waiting
            self._abandoned = True

    def _open_stream(self) -> bool:
        """Open the stream; False when it could not be opened (the opener hears why)."""
        try:
            response = self._open()
            self._stream = response[self._key]
        except Exception as exc:
            mapped = upstream_error(exc, self._target)
            if mapped is None:
                log.exception("opening a Bedrock stream failed")
                mapped = errors.bad_response(self._target.provider.name, type(exc).__name__)
            self._resolve(mapped)
            return False
        self._resolve(response)
        return True

    def _put(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is reading any more
            self._abandoned = True

    def _run(self) -> None:
        from botocore.exceptions import EventStreamError

        if not self._open_stream():
            self._put(_END)
            return
        try:
            if self._abandoned:  # given up while it was being opened
                return
            for event in self._stream:
                if self._abandoned:
                    return
                for name, payload in event.items():
                    self._put((name.encode(), payload))
            self._put((None, None))
        except EventStreamError as exc:  # an exception message in the stream: the translator maps it
            error = exc.response.get("Error") or {}
            self._put((str(error.get("Code") or "").encode(), {"message": error.get("Message") or ""}))
        except Exception as exc:  # whatever it is, the reader must hear of it rather than wait forever
            if not self._abandoned:
                mapped = upstream_error(exc, self._target)
                if mapped is None:
                    log.exception("reading a Bedrock stream failed")
                    mapped = errors.bad_response(self._target.provider.name, type(exc).__name__)
                self._put(mapped)
        finally:
            self._stream.close()
            self._put(_END)

    async def events(self) -> AsyncIterator[tuple[bytes | None, Any]]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, ApiError):
                raise item
            yield item

    async def aclose(self) -> None:
        """Stop reading: wake the worker if it is blocked on the socket, and wait for it to end.
        (A worker still opening the stream finds it abandoned once it is open, and closes it.)"""
        if self.finished.done():
            return
        self._abandoned = True
        if self._stream is None:
            return  # still opening: the worker sees it is abandoned once it has the stream
        # botocore keeps urllib3's response as `_raw_stream`; its shutdown() is urllib3's way to
        # unblock a read in another thread (closing the socket would not wake it).
        shutdown = getattr(getattr(self._stream, "_raw_stream", None), "shutdown", None)
        try:
            if shutdown is not None:
                shutdown()
        except (ValueError, RuntimeError, OSError):
            pass  # already released or closed: the worker is ending anyway
        await asyncio.wait({self.finished}, timeout=5)


# Any model id does: an empty conversation is refused by validation, which runs after the
# signature and the key's permissions are checked, so the check costs no tokens.
CHECK_MODEL = "amazon.nova-micro-v1:0"


class BedrockAdapter(NoAudio):
    async def check(self, target: Target) -> None:
        bedrock = await client(target)
        try:
            await call(target, lambda: bedrock.converse(modelId=target.model or CHECK_MODEL, messages=[]))
        except UpstreamError as error:
            if error.upstream_status != 400:
                raise

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        request = translate.converse_request(body, target.model)
        bedrock = await client(target)
        started = time.perf_counter()
        response = await call(target, lambda: bedrock.converse(**request))
        ttfb_ms = (time.perf_counter() - started) * 1000
        out, usage = translate.chat_completion(response, target.model, translate.completion_id(request_id(response)),
                                               int(time.time()), target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        request = translate.converse_request(body, target.model)
        include_usage, chars = wants_usage(body), prompt_chars(body)
        bedrock = await client(target)
        started = time.perf_counter()

        def translator(response: dict[str, Any]) -> StreamTranslator:
            return translate.StreamState(target.provider.name, translate.completion_id(request_id(response)),
                                         int(time.time()), target.model, include_usage, target.credential)

        return await _relay(target, lambda: bedrock.converse_stream(**request), "stream", translator, started, chars)

    async def messages(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> Result:
        """A Claude model, natively: the client's Messages body, answered with Claude's own JSON."""
        request = translate.claude_body(body, headers.get("anthropic-beta"))
        bedrock = await client(target)
        started = time.perf_counter()
        content = await call(target, lambda: _invoke(bedrock, target.model, request))
        ttfb_ms = (time.perf_counter() - started) * 1000
        return Result(content, anthropic.native_usage(content, target.provider.name), ttfb_ms)

    async def messages_stream(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> TranslatedStream:
        """A Claude model, natively and streamed: Anthropic's own events, as Bedrock wraps them."""
        request = translate.claude_body(body, headers.get("anthropic-beta"))
        bedrock = await client(target)
        started = time.perf_counter()
        return await _relay(target, lambda: bedrock.invoke_model_with_response_stream(
            modelId=target.model, body=orjson.dumps(request), contentType=JSON, accept=JSON), "body",
            lambda _: translate.ClaudeChunks(target.provider.name, target.credential), started, prompt_chars(body))

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        family = translate.embedding_family(body, target.model)
        texts = translate.embedding_inputs(body)
        bedrock = await client(target)
        started = time.perf_counter()
        if family == "titan":
            limit = asyncio.Semaphore(EMBED_CONCURRENCY)

            async def one(text: str) -> tuple[list[float], int]:
                async with limit:
                    raw = await invoke(target, bedrock, translate.titan_embedding_request(text, body, target.model))
                return translate.titan_embedding_result(raw, target.provider.name)

            results = await asyncio.gather(*(one(t) for t in texts))
            vectors = [v for v, _ in results]
            usage = translate.embedding_usage(texts, sum(n for _, n in results))
        else:
            batches = [texts[i:i + translate.COHERE_BATCH] for i in range(0, len(texts), translate.COHERE_BATCH)]
            raws = await asyncio.gather(*(invoke(target, bedrock, translate.cohere_embedding_request(b, body))
                                          for b in batches))
            vectors = [v for b, raw in zip(batches, raws, strict=True)
                       for v in translate.cohere_embedding_result(raw, len(b), target.provider.name)]
            usage = translate.embedding_usage(texts, None)
        ttfb_ms = (time.perf_counter() - started) * 1000
        out = translate.embedding_response(vectors, target.model, usage.input_tokens, body.get("encoding_format"))
        return Result(orjson.dumps(out), usage, ttfb_ms)

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        request = translate.image_request(body, target.model)
        bedrock = await client(target)
        started = time.perf_counter()
        raw = await invoke(target, bedrock, request)
        ttfb_ms = (time.perf_counter() - started) * 1000
        out, usage = translate.image_response(raw, int(time.time()), target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)


async def _relay(target: Target, open_stream: Callable[[], dict[str, Any]], key: str,
                 translator_for: Callable[[dict[str, Any]], StreamTranslator], started: float,
                 prompt: int) -> TranslatedStream:
    """Open and relay a botocore event stream. Bedrock may refuse (throttling, validation) in the
    stream's first message: that is waited for, so such a refusal is an HTTP error the gateway
    can retry rather than a stream that fails at once."""
    pump = EventPump(open_stream, target, key)
    async with closed_on_failure(pump.aclose):
        translator = translator_for(await pump.opened)
        events = pump.events()
        first = await anext(events, (None, None))
        ttfb_ms = (time.perf_counter() - started) * 1000
        if first[0] in translate.STREAM_EXCEPTIONS:
            translator.feed(*first)
            assert translator.error is not None  # feed maps every stream exception
            raise translator.error
        return TranslatedStream(_prepend(first, events), translator, ttfb_ms=ttfb_ms, prompt_chars=prompt,
                                on_close=pump.aclose)


async def _prepend(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    yield first
    async for item in rest:
        yield item


def _invoke(bedrock: Any, model: str, body: dict[str, Any]) -> bytes:
    """InvokeModel with a JSON body (blocking: run it through `call`); the answer's bytes."""
    response = bedrock.invoke_model(modelId=model, body=orjson.dumps(body), contentType=JSON, accept=JSON)
    with closing(response["body"]) as answer:  # a failed read must not keep the connection
        return answer.read()


async def invoke(target: Target, bedrock: Any, body: dict[str, Any]) -> Any:
    """InvokeModel with a JSON body; returns the model's parsed JSON answer."""
    content = await call(target, lambda: _invoke(bedrock, target.model, body))
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise errors.bad_response(target.provider.name, "the model's answer is not JSON") from None


ADAPTER = BedrockAdapter()
