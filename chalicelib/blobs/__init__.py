"""Files aihub hosts (a provider handed back bytes, e.g. a generated video): the blob store.

Two stores behind one interface: a folder beside the database (`<db dir>/blobs`, or
AIHUB_BLOB_DIR) served by aihub itself through `GET /files/{token}` (signed, expiring URLs,
streamed from disk), and an S3 bucket (AIHUB_BLOB_BUCKET) whose objects are handed out as S3
presigned GET URLs, so a multi-megabyte file never passes through a buffered Lambda response.
Files are written whole before anyone can see them (a temporary file, then renamed or
uploaded), under random ids.
"""
from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from chalicelib.config import settings

EXTENSIONS = {"video/mp4": "mp4", "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp",
              "application/octet-stream": "bin"}
TYPES = {ext: media for media, ext in EXTENSIONS.items()}


@dataclass(frozen=True, slots=True)
class Blob:
    id: str
    size: int
    content_type: str


def new_id(content_type: str) -> str:
    return f"{secrets.token_urlsafe(24)}.{EXTENSIONS.get(content_type, 'bin')}"


def content_type(blob_id: str) -> str:
    return TYPES.get(blob_id.rpartition(".")[2], "application/octet-stream")


class BlobStore(Protocol):
    staging: Path  # where files are written before they are committed

    def commit(self, path: Path, blob_id: str) -> None:
        """Take a finished temporary file as the blob `blob_id` (the file is gone afterwards)."""
        ...

    def url(self, blob_id: str, base_url: str, ttl_s: int) -> str:
        """A URL that downloads the blob for `ttl_s` seconds, with no other credential."""
        ...


@lru_cache(maxsize=1)
def blob_store() -> BlobStore:
    cfg = settings()
    if cfg.blob_bucket:
        from chalicelib.blobs.s3 import S3Store

        return S3Store(cfg.blob_bucket, cfg.env.get("AWS_REGION") or cfg.env.get("AWS_DEFAULT_REGION"))
    from chalicelib.blobs.local import LocalStore

    return LocalStore(Path(cfg.blob_dir) if cfg.blob_dir else Path(cfg.db_path).parent / "blobs")


async def save(chunks: AsyncIterator[bytes], media_type: str) -> Blob:
    """Write a file that arrives in pieces into the store; the event loop never waits on disk."""
    store = blob_store()
    blob_id = new_id(media_type)
    await asyncio.to_thread(store.staging.mkdir, parents=True, exist_ok=True)
    handle = await asyncio.to_thread(tempfile.NamedTemporaryFile, dir=store.staging, prefix=".partial-",
                                     delete=False)
    path, size = Path(handle.name), 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(store.commit, path, blob_id)
    except BaseException:
        handle.close()
        path.unlink(missing_ok=True)
        raise
    return Blob(blob_id, size, media_type)


async def save_bytes(data: bytes, media_type: str) -> Blob:
    async def one() -> AsyncIterator[bytes]:
        yield data

    return await save(one(), media_type)


def download_url(blob_id: str, base_url: str) -> str:
    return blob_store().url(blob_id, base_url, settings().file_url_ttl_s)



def base_url(headers: dict[str, str]) -> str:
    """Where clients reach this gateway: AIHUB_PUBLIC_URL, else the request's own host (behind a
    proxy, its X-Forwarded-Proto and X-Forwarded-Host)."""
    configured = settings().public_url
    if configured:
        return configured
    proto = headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    host = headers.get("x-forwarded-host", headers.get("host", "localhost")).split(",")[0].strip()
    return f"{proto}://{host}"
