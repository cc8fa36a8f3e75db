"""`GET /files/{token}`: a hosted file through its signed, expiring URL (no key needed: the URL
is the credential). A forged, altered or expired token is a 404, like an unknown file.

From the local store the file is streamed from disk; from S3 the answer is a 302 to a fresh
presigned URL, so no file ever passes through a buffered Lambda response.
"""
from __future__ import annotations

import asyncio
import time

from chalicelib.blobs import blob_store, content_type, download_url
from chalicelib.blobs import signing
from chalicelib.config import settings
from chalicelib.errors import ApiError, not_found
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse


def _gone() -> ApiError:
    return not_found("No such file, or its link has expired.", code="file_not_found")


async def serve_blob(blob_id: str) -> ApiResponse:
    """The blob's bytes (local store, streamed) or a redirect to its presigned URL (S3, which
    answers for a missing object itself)."""
    from chalicelib.blobs.local import LocalStore

    store = blob_store()
    if not isinstance(store, LocalStore):
        return ApiResponse(302, b"", {"location": download_url(blob_id, ""), "cache-control": "no-store"})
    size = await asyncio.to_thread(store.size, blob_id)
    if size is None:
        raise _gone()
    return ApiResponse(200, store.chunks(blob_id), {
        "content-type": content_type(blob_id), "content-length": str(size), "cache-control": "private, no-store"})


async def download(req: ApiRequest, who: Principal | None) -> ApiResponse:
    secret = settings().secret
    found = signing.verify(secret, req.params["token"], int(time.time())) if secret else None
    if found is None:
        raise _gone()
    return await serve_blob(found[0])
