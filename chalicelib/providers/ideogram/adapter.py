"""The HTTP layer of the Ideogram adapter: generate (multipart or JSON), and image downloads for
`response_format: "b64_json"`.

Ideogram answers with URLs only, and they expire; a client asking for b64_json (the GPT image
models' only format, and what many SDK users request) gets the images downloaded here through
the pooled client, bounded in size and time, without Ideogram's key (the URLs are pre-signed).
"""
from __future__ import annotations

import asyncio
import base64
from typing import Any, NoReturn

import httpx
import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import errors, http
from chalicelib.providers.base import ChatStream, Result, Target, Uncheckable, Usage
from chalicelib.providers.http_client import client, timeout
from chalicelib.providers.ideogram import translate
from chalicelib.providers.ideogram.translate import UpstreamRequest
from chalicelib.providers.no_audio import NoAudio

MAX_IMAGE_BYTES = 16 * 1024 * 1024  # Ideogram's PNGs are a few MB at most
DOWNLOAD_READ_S, DOWNLOAD_CONNECT_S = 30.0, 10.0


async def generate(target: Target, request: UpstreamRequest) -> tuple[bytes, float]:
    """POST the generate request; returns the body and the ms to the response head."""
    if request.form is not None:
        files = {name: (None, value) for name, value in request.form.items()}
        return await http.fetch(target, request.path, files=files)
    return await http.fetch(target, request.path, request.json)


async def download(url: str, provider: str) -> bytes:
    """One generated image, at most MAX_IMAGE_BYTES; errors never repeat the (signed) URL."""
    if not url.startswith(("https://", "http://")):
        raise errors.bad_response(provider, "an image URL that is not http(s)")
    too_big = errors.bad_response(provider, f"an image larger than {MAX_IMAGE_BYTES // 2**20} MiB")
    try:
        async with client().stream("GET", url, timeout=timeout(DOWNLOAD_READ_S, DOWNLOAD_CONNECT_S)) as response:
            if response.status_code != 200:
                raise errors.bad_response(provider, f"an image that could not be fetched (HTTP {response.status_code})")
            if int(response.headers.get("content-length") or 0) > MAX_IMAGE_BYTES:
                raise too_big
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise too_big
                chunks.append(chunk)
    except httpx.PoolTimeout:
        raise errors.gateway_busy(provider) from None
    except httpx.TimeoutException:
        raise errors.timeout(provider) from None
    except httpx.HTTPError as exc:
        raise errors.unreachable(provider, exc) from None
    return b"".join(chunks)


async def download_all(urls: list[str], provider: str) -> list[str]:
    """The images base64-encoded, fetched concurrently; the first failure fails the call."""
    # return_exceptions: every download ends before the call fails, none is left running.
    results = await asyncio.gather(*(download(url, provider) for url in urls), return_exceptions=True)
    encoded: list[str] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        encoded.append(base64.b64encode(result).decode())
    return encoded


def _unsupported(what: str) -> NoReturn:
    raise ApiError(400, f"Ideogram only generates images (POST /v1/images/generations); it has no {what}.",
                   code="unsupported_operation", param="model")


class IdeogramAdapter(NoAudio):
    async def check(self, target: Target) -> None:
        raise Uncheckable("Ideogram has no endpoint that tests a key without generating an image")

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        _unsupported("chat completions")

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> ChatStream:
        _unsupported("chat completions")

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        _unsupported("embeddings")

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        request = translate.build_request(body, target.model)
        content, ttfb_ms = await generate(target, request)
        generated = translate.parse_response(content, target.provider.name)
        b64 = None
        if translate.wants_b64(body):
            b64 = await download_all([image["url"] for image in generated.images], target.provider.name)
        data = translate.openai_body(generated, b64)
        return Result(orjson.dumps(data), Usage(images=len(generated.images)), ttfb_ms)


ADAPTER = IdeogramAdapter()
