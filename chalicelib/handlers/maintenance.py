"""Periodic work: on Lambda a scheduled function, in `aihub serve` a background task."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import NamedTuple

from chalicelib import hotstate
from chalicelib.analytics import rollup
from chalicelib.billing import accounting
from chalicelib.config import previous_secret, settings
from chalicelib.credentials import crypto, recheck, sealed_headers
from chalicelib.store import access_sessions, ledger
from chalicelib.store import responses as stored_responses
from chalicelib.store import videos as video_jobs
from chalicelib.store import providers as rows
from chalicelib.store import inflight
from chalicelib.store.db import DatabaseUnavailable
from chalicelib.store.shared import store, writer

KEEP_MINUTES = 2  # per-minute rate-limit counters older than this are done with

log = logging.getLogger("aihub.maintenance")


async def run() -> None:
    await recheck.recheck_due()
    await asyncio.to_thread(rekey_credentials)
    now = int(time.time() * 1000)
    spendable = await asyncio.to_thread(_spendable, now)

    def tidy(conn) -> None:
        inflight.sweep(conn)  # calls of processes that died (on Lambda, nothing else sweeps)
        accounting.release_orphaned(conn)
        ledger.expire_grants(conn, now, spendable)
        conn.execute("DELETE FROM key_usage WHERE period LIKE 'rpm:%' AND CAST(substr(period, 5) AS INTEGER) < ?",
                     (now // 60000 - KEEP_MINUTES,))
        stored_responses.purge_expired(conn, now)
        video_jobs.purge_expired(conn, now)
        access_sessions.purge_expired(conn, now)

    await writer().run(tidy)
    await asyncio.to_thread(hotstate.mirror_ledger, "kind = 'expire' AND created_at >= ?", (now,))
    await asyncio.to_thread(purge_blobs, now / 1000)
    # In a thread: after a long pause (or an upgrade) there may be many calls to fold.
    await asyncio.to_thread(rollup.catch_up, store())


def _spendable(now: int) -> dict[str, int] | None:
    """With the holds in DynamoDB, what the accounts whose grants expire can spend there."""
    if hotstate.external() is None:
        return None
    expiring = store().query("SELECT DISTINCT account_id FROM credit_grants WHERE expires_at IS NOT NULL"
                             " AND expires_at <= ? AND remaining > 0", (now,))
    return hotstate.spendable([row[0] for row in expiring])


def purge_blobs(now_s: float) -> int:
    """Hosted files past AIHUB_BLOB_TTL_DAYS, in the local store (an S3 bucket's lifecycle rule
    does this there)."""
    from chalicelib.blobs import blob_store
    from chalicelib.blobs.local import LocalStore

    found = blob_store()
    if not isinstance(found, LocalStore):
        return 0
    return found.purge_older_than(now_s - settings().blob_ttl_days * 86_400)


def rekey_credentials() -> int:
    """After a rotation of the master secret, seal every credential (and every provider's sealed
    headers) with the new one; returns how many. Free when nothing is left to do: the old
    secret is asked for only if a row needs it."""
    secret, done = settings().secret, 0
    if not secret:
        return 0
    for value in _sealed_values():
        if crypto.decrypt_with(crypto.check_secret(secret), value.token, value.bound_to) is not None:
            continue
        fresh = crypto.rekey(secret, previous_secret(), value.token, value.bound_to)
        if fresh is not None:  # compare-and-set: an admin's new value written meanwhile wins
            done += store().write(_reseal(value, fresh))
    return done


class _Sealed(NamedTuple):
    """One encrypted value: where it is stored, and what it was sealed to."""

    table: str
    column: str
    key: str  # the primary key's column
    row_id: str
    token: str
    bound_to: str  # the associated data


def _sealed_values() -> list[_Sealed]:
    credentials = [_Sealed("credentials", "secret", "id", row["id"], row["secret"], row["id"])
                   for row in rows.list_credentials(store(), with_secret=True)]
    headers = [_Sealed("providers", "sealed_headers", "name", row["name"], row["sealed_headers"],
                       sealed_headers.bound_to(row["name"]))
               for row in rows.list_providers(store()) if row["sealed_headers"]]
    return credentials + headers


def _reseal(value: _Sealed, new: str) -> Callable[[sqlite3.Connection], int]:
    def tx(conn: sqlite3.Connection) -> int:
        return conn.execute(f"UPDATE {value.table} SET {value.column} = ? WHERE {value.key} = ? AND {value.column} = ?",
                            (new, value.row_id, value.token)).rowcount

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
        except DatabaseUnavailable as exc:  # expected while the disk is full or locked: no trace
            log.warning("maintenance skipped: %s", exc.message)
        except Exception:
            log.exception("maintenance failed")
