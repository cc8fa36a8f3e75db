"""What every video adapter shares: polling a long-running job, and downloading its file into
the blob store.

Polling sleeps on the event loop (never blocks it), starts at AIHUB_VIDEO_POLL_S and doubles up
to MAX_POLL_S, and gives up at AIHUB_VIDEO_TIMEOUT with a 504. A file is streamed from the
provider to the blob store a piece at a time, never held whole in memory.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from chalicelib import blobs
from chalicelib.blobs import Blob
from chalicelib.config import settings
from chalicelib.errors import bad_request
from chalicelib.providers import errors, http, registry
from chalicelib.providers.base import Target, UpstreamError
from chalicelib.providers.http_client import client

T = TypeVar("T")
MAX_POLL_S = 15.0
VIDEO = "video/mp4"


def seconds_asked(body: dict[str, object]) -> float | None:
    """The `seconds` of an OpenAI-shaped video request, as a number (the API takes a string)."""
    value = body.get("seconds")
    if value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise bad_request("'seconds' must be a number of seconds, e.g. \"4\".", param="seconds") from None
    if not 0 < seconds <= 60:
        raise bad_request("'seconds' must be more than 0 and at most 60.", param="seconds")
    return seconds


async def until_done(target: Target, check: Callable[[], Awaitable[T | None]]) -> T:
    """Call `check` until it returns something, with backoff, within the video deadline."""
    cfg = settings()
    delay, deadline = cfg.video_poll_s, time.monotonic() + cfg.video_timeout_s
    while (done := await check()) is None:
        if time.monotonic() + delay > deadline:
            raise UpstreamError(504, f"Provider {target.provider.name} did not finish the video within "
                                     f"{cfg.video_timeout_s:g} s.", code="video_timeout", type="api_error")
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_POLL_S)
    return done


def failed(target: Target, message: str, code: str | None = None) -> UpstreamError:
    """The provider finished the job without a video (refused by its safety system, failed)."""
    return UpstreamError(502, f"Provider {target.provider.name} could not make the video: "
                              f"{errors.scrub(message, target.credential)}", code=code or "video_failed",
                         type="api_error", upstream_status=200)


async def download(target: Target, path: str = "", *, url: str | None = None) -> Blob:
    """GET the provider's file (its `path`, or a `url` it handed back) into the blob store.

    The credential goes only to the provider's own origin: a link elsewhere, or a redirect
    (to a storage bucket), is fetched without it."""
    same_origin = url is None or _origin(url) == _origin(registry.base_url(target.provider, settings()))
    if same_origin:
        response, _ = await http.send(target, path, method="GET", url=url)
    else:
        response = await _plain_get(target, url or "")
    hops = 0
    while response.is_redirect and hops < 5:
        location = str(response.next_request.url) if response.next_request else ""
        await response.aclose()
        response, hops = await _plain_get(target, location), hops + 1
    try:
        if response.status_code >= 400:
            raise errors.from_status(target.provider.name, response.status_code, await response.aread(),
                                     target.credential)
        media = response.headers.get("content-type", VIDEO).split(";")[0].strip()
        return await blobs.save(response.aiter_bytes(), media if media.startswith("video/") else VIDEO)
    except httpx.HTTPError as exc:  # the connection failed mid-file
        raise errors.unreachable(target.provider.name, exc) from None
    finally:
        await response.aclose()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def _plain_get(target: Target, url: str) -> httpx.Response:
    if not url.startswith(("https://", "http://")):
        raise failed(target, "it handed back no usable download link")
    try:
        return await client().send(client().build_request("GET", url), stream=True)
    except httpx.HTTPError as exc:
        raise errors.unreachable(target.provider.name, exc) from None
