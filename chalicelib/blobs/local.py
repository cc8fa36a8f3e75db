"""The blob store as a folder beside the database, served by aihub (`GET /files/{token}`)."""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator
from pathlib import Path

from chalicelib.blobs import signing
from chalicelib.config import settings

CHUNK = 256 * 1024  # what one read from disk hands to the client at a time


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".partial"

    def path(self, blob_id: str) -> Path:
        if not signing.BLOB_ID.match(blob_id):
            raise ValueError("not a blob id")
        return self.root / blob_id

    def commit(self, path: Path, blob_id: str) -> None:
        os.replace(path, self.path(blob_id))  # atomic: a reader sees the whole file or none

    def url(self, blob_id: str, base_url: str, ttl_s: int) -> str:
        secret = settings().secret
        if not secret:
            raise RuntimeError("AIHUB_SECRET is needed to sign file URLs")
        return f"{base_url}/files/{signing.sign(secret, blob_id, int(time.time()) + ttl_s)}"

    def size(self, blob_id: str) -> int | None:
        try:
            return self.path(blob_id).stat().st_size
        except (FileNotFoundError, ValueError):
            return None

    async def chunks(self, blob_id: str) -> AsyncGenerator[bytes, None]:
        """The file a piece at a time, read on a worker thread: never whole in memory, and the
        server's loop never waits on the disk."""
        handle = await asyncio.to_thread(open, self.path(blob_id), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    def purge_older_than(self, cutoff_s: float) -> int:
        """Delete blobs (and abandoned partial files) last written before `cutoff_s`."""
        removed = 0
        for folder in (self.root, self.staging):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.is_file() and entry.stat().st_mtime < cutoff_s:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed
