"""Event loops of threads other than the server's: the Chalice views' and the offload pool's.

Each thread keeps one loop for its life, so a warm Lambda or a pool thread reuses the pooled
HTTP client bound to it. Handlers that read and write SQLite at length (admin, billing,
analytics) run on the offload pool, so the server's loop, which relays every stream, never
waits on the database.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
OFFLOAD_THREADS = 4

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def event_loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(OFFLOAD_THREADS, thread_name_prefix="aihub-offload")
    return _pool


async def offload(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function on a pool thread's own loop and await its result here."""
    return await asyncio.get_running_loop().run_in_executor(
        _executor(), lambda: event_loop().run_until_complete(work()))
