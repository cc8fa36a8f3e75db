"""Work that outlives its request (a video job), under `aihub serve` only.

Only a long-lived event loop (the ASGI front's) can finish a task after the response is sent:
the Chalice front runs one loop per request, and Lambda freezes an environment as soon as it has
answered, the streaming function's uvicorn included. The ASGI front switches this on at start-up
except on Lambda; where it is off, callers do the work inline.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from chalicelib.config import settings

log = logging.getLogger("aihub.background")
_tasks: set[asyncio.Task[Any]] = set()
_enabled = False


def enable() -> None:
    global _enabled
    _enabled = not settings().env.get("AWS_LAMBDA_FUNCTION_NAME")


def available() -> bool:
    return _enabled


def spawn(work: Coroutine[Any, Any, Any], name: str) -> None:
    """Run `work` on this loop; a reference is kept until it ends (asyncio keeps only weak ones)."""
    task = asyncio.get_running_loop().create_task(work, name=name)
    _tasks.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s failed", task.get_name(), exc_info=task.exception())


def cancel_all() -> None:
    for task in list(_tasks):
        task.cancel()
