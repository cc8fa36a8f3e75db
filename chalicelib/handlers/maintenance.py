"""Periodic work: on Lambda a scheduled function, in `aihub serve` a background task."""
from __future__ import annotations

from chalicelib.credentials import recheck


async def run() -> None:
    await recheck.recheck_due()
