"""Periodic work: on Lambda a scheduled function, in `aihub serve` a background task."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable

from chalicelib.analytics import rollup
from chalicelib.billing import accounting
from chalicelib.config import previous_secret, settings
from chalicelib.credentials import crypto, pool, recheck
from chalicelib.store import ledger
from chalicelib.store import responses as stored_responses
from chalicelib.store import providers as rows
from chalicelib.store import inflight
from chalicelib.store.shared import store, writer

KEEP_MINUTES = 2  # per-minute rate-limit counters older than this are done with

log = logging.getLogger("aihub.maintenance")


async def run() -> None:
    await recheck.recheck_due()
    await asyncio.to_thread(rekey_credentials)
    now = int(time.time() * 1000)

    def tidy(conn) -> None:
        inflight.sweep(conn)  # calls of processes that died (on Lambda, nothing else sweeps)
        accounting.release_orphaned(conn)
        ledger.expire_grants(conn, now)
        conn.execute("DELETE FROM key_usage WHERE period LIKE 'rpm:%' AND CAST(substr(period, 5) AS INTEGER) < ?",
                     (now // 60000 - KEEP_MINUTES,))
        stored_responses.purge_expired(conn, now)

    await writer().run(tidy)
    # In a thread: after a long pause (or an upgrade) there may be many calls to fold.
    await asyncio.to_thread(rollup.catch_up, store())


def rekey_credentials() -> int:
    """After a rotation of the master secret, seal every credential with the new one; returns
    how many. Free when nothing is left to do: the old secret is asked for only if a row needs it."""
    secret, done = settings().secret, 0
    if not secret:
        return 0
    for row in rows.list_credentials(store(), with_secret=True):
        if crypto.decrypt_with(crypto.check_secret(secret), row["secret"], row["id"]) is not None:
            continue
        sealed = crypto.rekey(secret, previous_secret(), row["secret"], row["id"])
        if sealed is not None:  # compare-and-set: an admin's new value written meanwhile wins
            done += store().write(_reseal(row["id"], row["secret"], sealed))
    if done:
        pool.invalidate()
    return done


def _reseal(credential_id: str, old: str, new: str) -> Callable[[sqlite3.Connection], int]:
    def tx(conn: sqlite3.Connection) -> int:
        return conn.execute("UPDATE credentials SET secret = ? WHERE id = ? AND secret = ?",
                            (new, credential_id, old)).rowcount

    return tx


async def startup() -> None:
    """`aihub serve` starts: settle at once the calls that a dead predecessor on this host left
    in flight (recorded as interrupted, holds released), rather than after their lease."""
    queue = await asyncio.to_thread(writer)
    try:
        swept = await queue.run(lambda conn: inflight.sweep(conn, check_pids=True))
    except Exception:
        log.exception("start-up sweep failed; the periodic one will retry")
        return
    if swept:
        log.warning("settled %d calls left in flight by a process that ended", swept)


async def run_forever() -> None:
    """`aihub serve`'s background task: the scheduled work, every few seconds."""
    interval = float(settings().env.get("AIHUB_RECHECK_INTERVAL_S") or 5)
    await startup()
    while True:
        await asyncio.sleep(interval)
        try:
            await run()
        except Exception:
            log.exception("maintenance failed")
