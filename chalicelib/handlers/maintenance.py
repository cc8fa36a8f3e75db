"""Periodic work: on Lambda a scheduled function, in `aihub serve` a background task."""
from __future__ import annotations

import asyncio
import logging
import time

from chalicelib.analytics import rollup
from chalicelib.billing import accounting
from chalicelib.config import settings
from chalicelib.credentials import recheck
from chalicelib.store import ledger
from chalicelib.store.shared import store

# Longer than any call may run (Lambda's 15-minute ceiling): a hold this old belongs to a call
# whose process died before it could settle.
STALE_HOLD_MS = 20 * 60 * 1000
KEEP_MINUTES = 2  # per-minute rate-limit counters older than this are done with

log = logging.getLogger("aihub.maintenance")


async def run() -> None:
    await recheck.recheck_due()
    now = int(time.time() * 1000)

    def tidy(conn) -> None:
        accounting.release_stale(conn, now - STALE_HOLD_MS)
        ledger.expire_grants(conn, now)
        conn.execute("DELETE FROM key_usage WHERE period LIKE 'rpm:%' AND CAST(substr(period, 5) AS INTEGER) < ?",
                     (now // 60000 - KEEP_MINUTES,))

    store().write(tidy)
    # In a thread: after a long pause (or an upgrade) there may be many calls to fold.
    await asyncio.to_thread(rollup.catch_up, store())


async def run_forever() -> None:
    """`aihub serve`'s background task: the scheduled work, every few seconds."""
    interval = float(settings().env.get("AIHUB_RECHECK_INTERVAL_S") or 5)
    while True:
        await asyncio.sleep(interval)
        try:
            await run()
        except Exception:
            log.exception("maintenance failed")
